"""Writes of the outbox: enqueue a mail, write the notifications of a case event, send one row.

The outbox pattern: a notification is a row written in the transaction of the change that caused it.
Sending happens after the commit (a Celery task), and a periodic flush sends whatever the task did
not, so a broker outage delays mail but never loses it. Sending claims the row first (a lease written
with a conditional UPDATE), so a duplicate task or a concurrent flush never sends a mail twice.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import make_msgid
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.cases.models import Case, CaseEvent, Commitment, CommitmentState, Direction, Message, Status
from steward.core import timeutil
from steward.core.compiled import insert
from steward.core.errors import DomainError
from steward.core.prepared import bound_cursor
from steward.mail.identity import mail_domain, new_message_id, subject_with_token

from .compose import one_line, render_notice
from .models import CommitmentReminder, MailState, NotificationKind, OutboundMail, RecipientKind
from .notices import NO_HINTS, Hints, Notice, due_step_notices, mail_language, notices_for_event, notifies

logger = logging.getLogger(__name__)


def send_lease() -> timedelta:
    """How long a sender holds a row it claimed (STEWARD_MAIL_SEND_LEASE_SECONDS, 10 minutes). Longer
    than any SMTP conversation (EMAIL_TIMEOUT bounds each step), so only a sender that died leaves a
    lease to run out; the flush, or the task redelivered after its worker died, then sends the row."""
    return timedelta(seconds=settings.STEWARD_MAIL_SEND_LEASE_SECONDS)


SEND_LEASE = timedelta(minutes=10)  # the default of send_lease(), for code written against the constant

# "Next step due" reminders go out this long before the due time (and for anything overdue).
REMIND_AHEAD = timedelta(hours=1)
# Mail clients need the thread's root and the latest ids; a few dozen keep the header short.
REFERENCES_KEPT = 20
# Headers on every mail Steward sends: auto-responders (out-of-office, "we got your mail") must not
# answer it (RFC 3834; X-Auto-Response-Suppress for Exchange / Outlook).
AUTOMATIC_HEADERS = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}


# ---------------------------------------------------------------- enqueue


def _bracketed(message_id: str) -> str:
    """`<id@host>` for a Message-ID from anywhere; empty when it cannot be one."""
    value = (message_id or "").strip()
    if not value or any(ch.isspace() for ch in value) or len(value) > 290:
        return ""
    return value if value.startswith("<") and value.endswith(">") else f"<{value.strip('<>')}>"


# Mails written for a case in this transaction, kept on the case instance: (created_at, Message-ID, to).
_WRITTEN = "_steward_outbox_written"


def threading_headers(
    case: Case, *, to: str, recipient_kind: str, hints: Hints = NO_HINTS
) -> tuple[str, str]:
    """(In-Reply-To, References) for the next mail to `to` about `case`, so clients thread it.

    The thread is every earlier mail Steward sent this address about the case and, for the
    customer, their latest message that arrived by mail, in the order they happened. For a case
    opened in this transaction (`hints.opening`) both are known without reading: its mails are the ones
    written for it since, and its only message is the opening one (`hints.message`).
    """
    thread: list[tuple[datetime, str]]
    customer = recipient_kind == RecipientKind.CUSTOMER
    inbound: tuple[datetime, str] | None = None
    if hints.opening:
        thread = [(at, mid) for at, mid, addr in case.__dict__.get(_WRITTEN, ()) if addr == to]
        first = hints.message
        if customer and first is not None and first.direction == Direction.INBOUND and first.external_id:
            inbound = (first.created_at, first.external_id)
    else:
        thread, inbound = _thread_rows(case, to=to, customer=customer)
    if inbound and _bracketed(inbound[1]):  # only ever found for the customer
        thread.append((inbound[0], _bracketed(inbound[1])))
    thread.sort(key=lambda item: item[0])  # stable: equal times keep the order they were written in
    ids = list(dict.fromkeys(mid for _at, mid in thread))
    if len(ids) > REFERENCES_KEPT:
        ids = [ids[0], *ids[-(REFERENCES_KEPT - 1) :]]
    return (ids[-1] if ids else ""), " ".join(ids)


def _thread_rows(
    case: Case, *, to: str, customer: bool
) -> tuple[list[tuple[datetime, str]], tuple[datetime, str] | None]:
    """The mails sent to `to` about the case (in the order written) and, for the customer, their latest
    message that arrived by mail.

    PostgreSQL: one statement that reads only the mails the headers can keep (issue 9: a long thread
    was read whole on every write; the benchmark's portal case grew by a mail per message): the first
    mail, the last REFERENCES_KEPT + 1 (the inbound message takes at most one place among the kept
    ones), and a mail whose id the inbound message repeats (so `dict.fromkeys` drops the same one).
    Message ids are unique, so these give `threading_headers` the same first and last ids as the whole
    thread. Elsewhere two queries reading the whole thread (SQLite: no ordered part in a UNION).
    """
    ahead = case.__dict__.get(_AHEAD, {}).pop(to, None)
    # Read ahead for this address, and no mail written for the case since: still the whole thread.
    if ahead is not None and customer and ahead[2] == len(case.__dict__.get(_WRITTEN, ())):
        return ahead[0], ahead[1]
    if connection.vendor == "postgresql":
        return _thread_rows_pg(case, to=to, customer=customer)[:2]
    return _thread_rows_all(case, to=to, customer=customer)


def _thread_rows_all(
    case: Case, *, to: str, customer: bool
) -> tuple[list[tuple[datetime, str]], tuple[datetime, str] | None]:
    """The whole thread (the reference of `_thread_rows_pg`)."""
    sent = OutboundMail.objects.filter(case=case, to=to)
    latest = (
        Message.objects.filter(case=case, direction=Direction.INBOUND)
        .exclude(external_id="")
        .order_by("-created_at", "-id")
    )
    thread = list(sent.order_by("created_at", "id").values_list("created_at", "message_id"))
    inbound = latest.values_list("created_at", "external_id").first() if customer else None
    return thread, inbound


_PG_THREAD = """
(SELECT 0, created_at, id, message_id FROM {mail} WHERE case_id = %(case)s AND "to" = %(to)s
 ORDER BY created_at, id LIMIT 1)
UNION ALL
(SELECT 0, created_at, id, message_id FROM {mail} WHERE case_id = %(case)s AND "to" = %(to)s
 ORDER BY created_at DESC, id DESC LIMIT %(last)s)
UNION ALL
(SELECT 0, m.created_at, m.id, m.message_id FROM {mail} m JOIN {inbound} i
 ON m.message_id IN (btrim(i.external_id), '<' || btrim(btrim(i.external_id), '<>') || '>')
 WHERE m.case_id = %(case)s AND m."to" = %(to)s)
UNION ALL
(SELECT 1, created_at, id, external_id FROM {inbound} i)
UNION ALL
(SELECT 2, NULL, NULL, key FROM {key} WHERE case_id = %(case)s AND %(with_key)s)
"""
_PG_INBOUND = """(SELECT created_at, id, external_id FROM {message} WHERE case_id = %(case)s
 AND direction = %(direction)s AND external_id <> '' AND %(customer)s
 ORDER BY created_at DESC, id DESC LIMIT 1)"""


def _thread_rows_pg(
    case: Case, *, to: str, customer: bool, with_key: bool = False
) -> tuple[list[tuple[datetime, str]], tuple[datetime, str] | None, str | None]:
    """The thread (as `_thread_rows`) and, `with_key`, the case's portal key if it has one."""
    from steward.portal.models import PortalCaseKey  # the portal imports this app's services

    q = connection.ops.quote_name
    inbound = _PG_INBOUND.format(message=q(Message._meta.db_table))
    sql = _PG_THREAD.format(
        mail=q(OutboundMail._meta.db_table), inbound=inbound, key=q(PortalCaseKey._meta.db_table)
    )
    params: dict[str, Any] = {
        "case": case.pk,
        "to": to,
        "last": REFERENCES_KEPT + 1,
        "direction": Direction.INBOUND,
        "customer": customer,
        "with_key": with_key,
    }
    with bound_cursor(connection) as cur:  # one text for every mail: prepared (core/prepared.py)
        cur.execute(sql, params)
        rows = cur.fetchall()
    mails = sorted({r[2]: r for r in rows if r[0] == 0}.values(), key=lambda r: (r[1], r[2]))
    found = [(r[1], r[3]) for r in rows if r[0] == 1]
    key = next((str(r[3]) for r in rows if r[0] == 2), None)
    return [(r[1], r[3]) for r in mails], (found[0] if found else None), key


# The thread of a customer's next mail, read ahead with the portal key (`_read_ahead`), kept on the case
# instance: {address: (thread, inbound, how many mails this transaction had written for the case)}.
_AHEAD = "_steward_thread_ahead"


def _read_ahead(case: Case, notices: list[Notice], hints: Hints) -> None:
    """PostgreSQL, an event on a case that existed before this transaction: the thread of the first
    mail to the customer and the case's portal key (its mail links to the case's portal page), in one
    statement before the mail is rendered (issue 9: one round trip per reply fewer than reading the key
    to render and the thread to write). Nothing to read for a case opened in this transaction."""
    if hints.opening or connection.vendor != "postgresql":
        return
    to = next((n.recipient.address for n in notices if n.recipient.kind == RecipientKind.CUSTOMER), None)
    if to is None:
        return
    from steward.portal.services import remember_case_key  # the portal imports this app's services

    thread, inbound, key = _thread_rows_pg(case, to=to, customer=True, with_key=True)
    written = len(case.__dict__.get(_WRITTEN, ()))
    case.__dict__.setdefault(_AHEAD, {})[to] = (thread, inbound, written)
    remember_case_key(case, key)  # None: it has none yet (the mail makes one without looking again)


def _schedule_send(outbound_id: int) -> None:
    """After the commit: hand the row to a worker. If the broker is down the row stays pending.

    Without a broker, to this process's sender thread (pump.py) rather than inside the request."""
    from . import pump
    from .tasks import send_outbound

    if pump.enabled():
        pump.submit(outbound_id)
        return
    try:
        send_outbound.delay(outbound_id)
    except Exception:
        # Never break the request that committed the change: flush_outbox sends the row later.
        logger.warning(
            "Outbound mail %s stays pending: could not queue it (flush_outbox will send it)",
            outbound_id,
            exc_info=True,
        )


def outbox_enqueue(
    *,
    to: str,
    language: str,
    kind: str,
    subject: str,
    text: str,
    html: str,
    case: Case | None = None,
    recipient_kind: str = RecipientKind.CUSTOMER,
    user: User | None = None,
) -> OutboundMail:
    """Write one mail to the outbox; it is sent after the surrounding transaction commits.

    With a case, the subject gets the case token and the mail threads with the case's earlier mail.
    Other apps (the portal's sign-in link) call this with already rendered text and HTML.
    """
    to = _checked(to, kind)
    # Checked above, before any write: the writes below need no savepoint of their own (issue 9: two
    # queries fewer per mail); a database error still undoes the caller's transaction or savepoint.
    with transaction.atomic(savepoint=False):
        return _outbox_write(
            to=to,
            language=language,
            kind=kind,
            subject=subject,
            text=text,
            html=html,
            case=case,
            recipient_kind=recipient_kind,
            user=user,
        )


def _checked(to: str, kind: str) -> str:
    """The address as written to the outbox; refused (DomainError) before anything is written."""
    to = (to or "").strip()
    try:
        validate_email(to)
    except ValidationError:
        raise DomainError(_("Enter a valid email address."), field="to") from None
    if kind not in NotificationKind.values:
        raise DomainError(_("Unknown kind of notification."), field="kind")
    return to


def _outbox_write(
    *,
    to: str,
    language: str,
    kind: str,
    subject: str,
    text: str,
    html: str,
    case: Case | None,
    recipient_kind: str,
    user: User | None,
    hints: Hints = NO_HINTS,
) -> OutboundMail:
    now = timeutil.now()
    subject = one_line(subject)[:370]
    in_reply_to = references = ""
    if case is not None:
        subject = subject_with_token(subject, case.number)
        message_id = new_message_id(case.number)
        in_reply_to, references = threading_headers(case, to=to, recipient_kind=recipient_kind, hints=hints)
    else:
        message_id = make_msgid(domain=mail_domain())
    outbound = OutboundMail(
        case=case,
        to=to,
        recipient_kind=recipient_kind,
        user=user,
        language=mail_language(language),
        kind=kind,
        subject=subject,
        text_body=text,
        html_body=html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        created_at=now,
        next_attempt_at=now,
    )
    insert(outbound)  # SQL compiled once (steward.core.compiled; issue 9), as create() writes it
    if case is not None:
        case.__dict__.setdefault(_WRITTEN, []).append((now, message_id, to))
    outbound_id = outbound.pk
    transaction.on_commit(lambda: _schedule_send(outbound_id))
    return outbound


def _enqueue_notice(notice: Notice, case: Case) -> OutboundMail:
    rendered = render_notice(notice, case)
    recipient = notice.recipient
    return outbox_enqueue(
        to=recipient.address,
        language=recipient.language,
        kind=notice.kind,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        case=case,
        recipient_kind=recipient.kind,
        user=recipient.user,
    )


def _prepared(notice: Notice, case: Case, hints: Hints) -> dict[str, Any]:
    """A notice rendered and checked, ready for `_outbox_write` (nothing written but a portal key)."""
    rendered = render_notice(notice, case, new_case=hints.opening)
    recipient = notice.recipient
    return {
        "to": _checked(recipient.address, notice.kind),
        "language": recipient.language,
        "kind": notice.kind,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "recipient_kind": recipient.kind,
        "user": recipient.user,
    }


_muted: ContextVar[bool] = ContextVar("steward_notifications_muted", default=False)


@contextmanager
def notifications_muted() -> Iterator[None]:
    """Case events inside this block notify nobody: for loading history (the demo seed, imports),
    where a mail about a months-old reply would only confuse. Safe across threads and async tasks."""
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


def outbox_write_for_event(*, event: CaseEvent, hints: Hints = NO_HINTS) -> list[OutboundMail]:
    """The notifications a case event causes, written to the outbox in the event's transaction.

    Issue 9 (queries per write): the case is the one the service just saved (`event.case`, locked and
    current; its customer and owner are read only if not already in memory), and no savepoint: every
    mail of the event is decided, rendered and checked (address, kind) before the first is written,
    so a fault (a template error, an address the outbox refuses; logged by
    receivers.write_notifications) leaves no mail of the event written and the case change in place.
    What is left after the checks is a failing database, which the case write itself meets as well.
    (A portal key the rendering created stays: the case would get it on first use anyway.)
    """
    if _muted.get() or not notifies(event):
        return []
    case = event.case
    notices = notices_for_event(event, case, hints)
    if not notices:
        return []
    _read_ahead(case, notices, hints)
    mails = [_prepared(notice, case, hints) for notice in notices]
    with transaction.atomic(savepoint=False):
        return [_outbox_write(**mail, case=case, hints=hints) for mail in mails]


def commitments_remind_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Remind the people responsible of next steps due within the hour or overdue, once each."""
    now = now or timeutil.now()
    due = (
        Commitment.objects.filter(
            state=CommitmentState.OPEN, due_at__lte=now + REMIND_AHEAD, reminder__isnull=True
        )
        .exclude(case__status=Status.CLOSED)
        .select_related("case", "case__customer", "case__owner", "case__owner__backup")
        .order_by("due_at", "id")[:limit]
    )
    reminded = 0
    for commitment in due:
        with transaction.atomic():
            # The reminder row is the "sent once" record; a concurrent run finds it and skips.
            _reminder, created = CommitmentReminder.objects.get_or_create(
                commitment=commitment, defaults={"reminded_at": now}
            )
            if not created:
                continue
            for notice in due_step_notices(commitment, at=now):
                _enqueue_notice(notice, commitment.case)
            reminded += 1
    return reminded


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class Delivery:
    """What one send attempt did: sent, skipped (already sent or claimed), retry (later) or failed."""

    outcome: str
    error: Exception | None = None


SENT, SKIPPED, RETRY, FAILED = "sent", "skipped", "retry", "failed"


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failed attempts: factor, 2×factor, 4×factor… capped.

    The same figure Celery's retry_backoff computes for the task's retry (jitter off).
    """
    seconds = settings.STEWARD_MAIL_RETRY_BACKOFF * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.STEWARD_MAIL_RETRY_BACKOFF_MAX))


def max_attempts() -> int:
    return settings.STEWARD_MAIL_MAX_RETRIES + 1


def build_email(outbound: OutboundMail, connection: Any = None) -> EmailMultiAlternatives:
    headers = {
        "Message-ID": outbound.message_id,
        "Content-Language": outbound.language,
        **AUTOMATIC_HEADERS,
    }
    if outbound.in_reply_to:
        headers["In-Reply-To"] = outbound.in_reply_to
    if outbound.references:
        headers["References"] = outbound.references
    email = EmailMultiAlternatives(
        subject=outbound.subject,
        body=outbound.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbound.to],
        headers=headers,
        connection=connection,
    )
    if outbound.html_body:
        email.attach_alternative(outbound.html_body, "text/html")
    return email


def _claim(outbound_id: int, now: datetime) -> OutboundMail | None:
    """Take one row for an attempt (see `_claim_many`): the row as claimed, or None."""
    claimed = _claim_many([outbound_id], now)
    return claimed[0] if claimed else None


def _id_list(ids: list[int]) -> tuple[str, list[Any]]:
    """`"id" <condition>` for these ids and its parameters: one array parameter on PostgreSQL (one
    statement text whatever their number, so it is prepared once), a list of placeholders elsewhere."""
    q = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return f"{q('id')} = ANY(%s::bigint[])", [list(ids)]
    return f"{q('id')} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _claim_many(outbound_ids: list[int], now: datetime) -> list[OutboundMail]:
    """Take these rows for one attempt each and read them: the rows claimed, in the order of the ids;
    a row that is sent or held by another sender is left out.

    A conditional UPDATE, atomic on SQLite and PostgreSQL alike; RETURNING gives the rows back in the
    same statement (issue 9: one query per mail fewer than a claim and a read, and one for all the
    mails of a batch). The condition is `OutboundMail.objects.unclaimed(now)` (no lease, or a lease
    that ran out) on a pending row.
    """
    if not outbound_ids:
        return []
    meta = OutboundMail._meta
    q = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    columns = ", ".join(q(str(f.column)) for f in meta.concrete_fields)
    which, id_params = _id_list(outbound_ids)
    sql = (
        f"UPDATE {q(meta.db_table)} SET {q('locked_until')} = %s, {q('attempts')} = {q('attempts')} + 1 "
        f"WHERE {which} AND {q('state')} = %s "
        f"AND ({q('locked_until')} IS NULL OR {q('locked_until')} <= %s) RETURNING {columns}"
    )
    params = [adapt(now + send_lease()), *id_params, MailState.PENDING, adapt(now)]
    # The rows built as a RawQuerySet builds them, without its per-query set-up (issue 9: the sender
    # runs in the web worker's process when there is no broker; half of its 1.6 ms of CPU per mail).
    with bound_cursor(connection) as cursor:  # the same text for every batch: prepared (core/prepared.py)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _CLAIM_CONVERTERS.get(connection.vendor)
    if converters is None:
        converters = _CLAIM_CONVERTERS[connection.vendor] = [
            (
                f.cached_col,
                [*connection.ops.get_db_converters(f.cached_col), *f.get_db_converters(connection)],
            )
            for f in meta.concrete_fields
        ]
    names = [f.attname for f in meta.concrete_fields]
    claimed = {}
    for row in rows:
        values = []
        for (col, convert_all), value in zip(converters, row, strict=True):
            for convert in convert_all:
                value = convert(value, col, connection)
            values.append(value)
        outbound = OutboundMail.from_db("default", names, values)
        claimed[outbound.pk] = outbound
    return [claimed[pk] for pk in dict.fromkeys(outbound_ids) if pk in claimed]


_CLAIM_CONVERTERS: dict[str, list[tuple[Any, list[Any]]]] = {}


def _failed_attempt(outbound: OutboundMail, error: Exception, *, now: datetime, permanent: bool) -> Delivery:
    outbound.last_error = f"{type(error).__name__}: {error}"[:2000]
    outbound.locked_until = None
    fields = ["last_error", "locked_until"]
    if permanent or outbound.attempts >= max_attempts():
        outbound.state = MailState.FAILED
        fields.append("state")
        logger.error(
            "Outbound mail %s to %s failed after %s attempt(s): %s",
            outbound.pk,
            outbound.to,
            outbound.attempts,
            outbound.last_error,
        )
        outcome = FAILED
    else:
        outbound.next_attempt_at = now + retry_delay(outbound.attempts)
        fields.append("next_attempt_at")
        outcome = RETRY
    outbound.save(update_fields=fields)
    return Delivery(outcome, error)


def outbound_deliver(*, outbound_id: int, now: datetime | None = None) -> Delivery:
    """One attempt to send a pending row. Safe to call twice: a sent or claimed row is skipped."""
    return outbound_deliver_many(outbound_ids=[outbound_id], now=now)[outbound_id]


def outbound_deliver_many(*, outbound_ids: list[int], now: datetime | None = None) -> dict[int, Delivery]:
    """One attempt at each of these pending rows (the background sender's batch): what each attempt
    did, by id. Safe to call twice: a sent or claimed row is skipped.

    The rows are claimed in one statement, sent over one connection to the mail server (a failure
    closes it; the next mail opens another), and those sent are marked sent in one statement (issue 9:
    two statements per batch instead of two per mail, and one SMTP session instead of one per mail).
    A process that dies mid-batch leaves the batch's rows claimed: the flush sends them once their
    lease runs out, so a mail it had already handed to the server is sent twice (at least once, never
    lost); a batch is a fraction of a second of sending.
    """
    now = now or timeutil.now()
    outcomes = dict.fromkeys(outbound_ids, Delivery(SKIPPED))
    claimed = _claim_many(outbound_ids, now)
    if not claimed:
        return outcomes
    server = get_connection(fail_silently=False)
    sent: list[OutboundMail] = []
    try:
        for outbound in claimed:
            outcome = _attempt(outbound, server, now=now)
            if outcome is None:
                sent.append(outbound)
            else:
                outcomes[outbound.pk] = outcome
    finally:
        _close_quietly(server)
    if sent:
        _mark_sent(sent)
        outcomes.update((outbound.pk, Delivery(SENT)) for outbound in sent)
    return outcomes


def _attempt(outbound: OutboundMail, server: Any, *, now: datetime) -> Delivery | None:
    """Send one claimed row over `server`: None when sent, else the failed attempt (recorded)."""
    try:
        # Opened here, not by send(): a backend closes after the send a connection the send opened.
        server.open()
        build_email(outbound, connection=server).send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        # The server refused the address itself: waiting will not make it valid.
        return _failed_attempt(outbound, exc, now=now, permanent=True)
    except OSError as exc:  # smtplib.SMTPException, refused or dropped connections, timeouts
        _close_quietly(server)  # the session may be broken: the next mail opens a new one
        return _failed_attempt(outbound, exc, now=now, permanent=False)
    except Exception as exc:
        # A mail that cannot even be built (a bad header) will not get better by retrying.
        logger.exception("Outbound mail %s could not be built", outbound.pk)
        return _failed_attempt(outbound, exc, now=now, permanent=True)
    return None


def _close_quietly(server: Any) -> None:
    try:
        server.close()
    except Exception:  # a session already broken; closing it is all that was left to do
        logger.debug("Closing the mail server connection failed", exc_info=True)


def _mark_sent(sent: list[OutboundMail]) -> None:
    """The rows sent, in one statement (the instances are not read again)."""
    at = timeutil.now()
    meta = OutboundMail._meta
    q = connection.ops.quote_name
    which, id_params = _id_list([outbound.pk for outbound in sent])
    sql = (
        f"UPDATE {q(meta.db_table)} SET {q('state')} = %s, {q('sent_at')} = %s, "
        f"{q('locked_until')} = NULL, {q('last_error')} = '' WHERE {which}"
    )
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, [MailState.SENT, connection.ops.adapt_datetimefield_value(at), *id_params])


def outbox_flush(*, now: datetime | None = None, limit: int = 200) -> int:
    """Send pending rows whose next attempt is due: those the broker never got, and retries whose
    Celery retry was lost. Returns how many were sent.

    The batch stops at the first transient failure: when the mail server is down every other row
    would wait out the same timeout, and the next flush tries again (the failed row's backoff moves
    it behind the others).
    """
    now = now or timeutil.now()
    due_ids = list(
        OutboundMail.objects.due(now).order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in due_ids:
        outcome = outbound_deliver(outbound_id=pk, now=now).outcome
        if outcome == RETRY:
            break
        sent += outcome == SENT
    return sent


@transaction.atomic
def outbound_retry(*, outbound: OutboundMail) -> OutboundMail:
    """Send a failed mail again (an administrator fixed the address or the mail server)."""
    outbound = OutboundMail.objects.select_for_update().get(pk=outbound.pk)
    if outbound.state != MailState.FAILED:
        raise DomainError(_("Only a failed mail can be sent again."), field="state")
    outbound.state = MailState.PENDING
    outbound.attempts = 0
    outbound.next_attempt_at = timeutil.now()
    outbound.locked_until = None
    outbound.save(update_fields=["state", "attempts", "next_attempt_at", "locked_until"])
    outbound_id = outbound.pk
    transaction.on_commit(lambda: _schedule_send(outbound_id))
    return outbound
