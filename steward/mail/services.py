"""Receiving mail: one write path, whatever the transport (IMAP poll, mail server pipe, a test).

`mail_receive` stores every message it is given as an `InboundMail` row, in one transaction:
processed (joined to a case or opening one), ignored (automatic mail, duplicates, a loop) or
quarantined with its raw bytes and the reason. It raises only on unexpected failures (a database
outage, a bug); then nothing is committed and the transport must keep the message to retry it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from steward.accounts.models import Role, User
from steward.cases.attachments import validate_upload
from steward.cases.models import Case, Channel, Message, Status
from steward.cases.routing import pick_owner
from steward.cases.services import case_open, case_receive_message
from steward.core import timeutil
from steward.core.errors import DomainError, NotPermitted
from steward.customers.models import Customer
from steward.customers.selectors import customer_by_email
from steward.customers.services import customer_create

from . import identity
from .models import InboundMail, InboundState
from .parsing import ParsedAttachment, ParsedMail, ParseError, guess_language, ingest

SENDER_WINDOW = timedelta(hours=1)


# ---------------------------------------------------------------- finding customer and case


def _case_by_token(mail: ParsedMail, customer: Customer | None) -> Case | None:
    """(1) A valid token in the subject, and only when the sender is that case's customer."""
    number = identity.case_number_from_subject(mail.subject)
    if number is None or customer is None:
        return None
    return Case.objects.filter(pk=number, customer=customer).first()


def _case_by_reference(mail: ParsedMail, customer: Customer | None) -> Case | None:
    """(2) In-Reply-To / References naming a mail of this customer's case, the most recent first."""
    if customer is None or not mail.thread_ids:
        return None
    for message_id in mail.thread_ids:
        number = identity.case_number_from_message_id(message_id)
        if number is not None:
            case = Case.objects.filter(pk=number, customer=customer).first()
            if case is not None:
                return case
    earlier = {
        m.external_id: m.case_id
        for m in Message.objects.filter(external_id__in=mail.thread_ids, case__customer=customer).only(
            "external_id", "case_id"
        )
    }
    for message_id in mail.thread_ids:
        if message_id in earlier:
            return Case.objects.get(pk=earlier[message_id])
    return None


def _case_by_sender(customer: Customer | None, at: datetime) -> Case | None:
    """(3) The customer's most recently active open case, else one closed within the follow-up window."""
    if customer is None:
        return None
    open_case = Case.objects.filter(customer=customer).open().order_by("-updated_at", "-pk").first()
    if open_case is not None:
        return open_case
    window = timedelta(days=settings.STEWARD_FOLLOW_UP_WINDOW_DAYS)
    return (
        Case.objects.filter(customer=customer, status=Status.CLOSED, closed_at__gte=at - window)
        .order_by("-closed_at", "-pk")
        .first()
    )


# ---------------------------------------------------------------- what goes into the case


@dataclass
class _Delivery:
    uploads: list[UploadedFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _uploads(attachments: Sequence[ParsedAttachment]) -> _Delivery:
    """Files that pass the attachment rules; the others are skipped with the reason, never fatal."""
    delivery = _Delivery()
    for index, att in enumerate(attachments):
        if index >= settings.DATA_UPLOAD_MAX_NUMBER_FILES:
            delivery.skipped.append(
                _("%(name)s was not stored: too many files in one message.") % {"name": att.filename}
            )
            continue
        upload = SimpleUploadedFile(att.filename, att.content, content_type=att.content_type)
        try:
            validate_upload(upload)
        except DomainError as exc:
            delivery.skipped.append(str(exc.message))
            continue
        delivery.uploads.append(upload)
    return delivery


def _body(mail: ParsedMail, skipped: Sequence[str]) -> str:
    body = mail.text.strip() or mail.subject.strip() or _("(The e-mail had no text.)")
    if skipped:
        # The adviser must know a file was sent that they cannot see; administrators keep the original.
        note = _("Files in this e-mail that were not stored (the original e-mail is kept):")
        body += "\n\n— " + note + "\n" + "\n".join(f"• {reason}" for reason in skipped)
    return body


# Namespace of the advisory locks below, so they never collide with another use of advisory locks.
_SENDER_LOCK_NAMESPACE = 0x5E4D  # "SM": Steward mail


def _serialise_sender(address: str) -> None:
    """Hold a transaction-scoped lock on this sender's address (PostgreSQL; SQLite writes one at a time).

    Two first mails from an unknown address arriving at once would otherwise both find no customer and
    create two. With the lock the second waits, then finds the first one's customer and open case.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(address.strip().lower().encode(), digest_size=4).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [_SENDER_LOCK_NAMESPACE, int.from_bytes(digest, "big", signed=True)],
        )


def _deliver(mail: ParsedMail, *, at: datetime, delivery: _Delivery) -> Message:
    """Thread the mail onto a case (or open one) through the case services."""
    _serialise_sender(mail.from_address)
    customer = customer_by_email(mail.from_address)
    target = (
        _case_by_token(mail, customer) or _case_by_reference(mail, customer) or _case_by_sender(customer, at)
    )
    body = _body(mail, delivery.skipped)
    follow_up_of = None
    if target is not None:
        try:
            return case_receive_message(
                case=target,
                body=body,
                channel=Channel.EMAIL,
                at=at,
                body_html=mail.html,
                external_id=mail.message_id,
                attachments=delivery.uploads,
            )
        except DomainError as exc:
            if exc.code != "closed_too_long":
                raise
            follow_up_of = target  # closed too long ago: a new case, linked as its follow-up
    if customer is None:
        customer = customer_create(
            actor=None,
            name=mail.from_name or mail.from_address.split("@")[0],
            email=mail.from_address,
            language=guess_language(mail),
        )
    case = case_open(
        actor=None,
        customer=customer,
        subject=mail.subject or _("(no subject)"),
        description=body,
        owner=pick_owner(at=at),
        channel=Channel.EMAIL,
        follow_up_of=follow_up_of,
        attachments=delivery.uploads,
        at=at,
        external_id=mail.message_id,
        body_html=mail.html,
    )
    return case.messages.get()


# ---------------------------------------------------------------- the service


def _keep_raw(inbound: InboundMail, raw: bytes) -> None:
    if not inbound.raw:
        inbound.raw.save("message.eml", ContentFile(raw), save=False)


def _find_original(message_id: str, digest: str) -> InboundMail | None:
    if message_id:
        return InboundMail.objects.filter(message_id=message_id).first()
    return (
        InboundMail.objects.filter(raw_sha256=digest, message_id="", duplicate_of__isnull=True)
        .order_by("pk")
        .first()
    )


def _record_duplicate(inbound: InboundMail, original: InboundMail) -> InboundMail:
    inbound.message_id = ""
    inbound.state = InboundState.IGNORED_DUPLICATE
    inbound.duplicate_of = original
    inbound.case_id = original.case_id
    inbound.reason = _("Already received (Message-ID %(id)s).") % {"id": original.message_id or "-"}
    inbound.save()
    return inbound


def _too_many_from(inbound: InboundMail) -> bool:
    """A loop guard for auto-responders that do not say they are one: too much mail from one sender."""
    recent = InboundMail.objects.filter(
        from_address=inbound.from_address, received_at__gt=inbound.received_at - SENDER_WINDOW
    ).exclude(pk=inbound.pk)
    return recent.count() >= settings.STEWARD_MAIL_SENDER_HOURLY_LIMIT


def _is_our_own(mail: ParsedMail) -> bool:
    """Steward's own mail coming back (a copy to itself, a forwarding rule): never a customer's."""
    own = {parseaddr(a or "")[1].lower() for a in (settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL)}
    return mail.from_address in own or identity.case_number_from_message_id(mail.message_id) is not None


def _is_staff(mail: ParsedMail) -> bool:
    """An active staff member's address: someone replying to a notification, never a customer.

    Their answer belongs on the case page (where it is an internal note or a reply with an author),
    not in the customer's conversation, and it must never open a case with a colleague as "customer".
    """
    return (
        bool(mail.from_address)
        and User.objects.filter(email__iexact=mail.from_address, is_active=True).exists()
    )


@transaction.atomic
def mail_receive(*, raw: bytes, at: datetime | None = None) -> InboundMail:
    """Store one received message and act on it: thread it, open a case, or record why not."""
    at = at or timeutil.now()
    digest = hashlib.sha256(raw).hexdigest()
    inbound = InboundMail(received_at=at, raw_sha256=digest, size=len(raw))
    try:
        if len(raw) > settings.STEWARD_MAIL_MAX_BYTES:
            raise ParseError(f"message too large ({len(raw)} bytes)")
        mail = ingest(raw)
    except ParseError as exc:
        original = _find_original(exc.message_id, digest)
        if original is not None:
            return _record_duplicate(inbound, original)
        inbound.state = InboundState.QUARANTINED
        inbound.reason = exc.reason
        inbound.subject = exc.subject[:300]
        inbound.message_id = exc.message_id
        _keep_raw(inbound, raw)
        inbound.save()
        return inbound

    inbound.message_id = mail.message_id
    inbound.from_address = mail.from_address[:320]
    inbound.from_name = mail.from_name[:200]
    inbound.subject = mail.subject[:300]
    original = _find_original(mail.message_id, digest)
    if original is not None:
        return _record_duplicate(inbound, original)
    inbound.state = InboundState.PROCESSED
    try:
        with transaction.atomic():
            inbound.save()
    except IntegrityError:  # the same Message-ID committed concurrently by another worker
        inbound.pk = None
        found = _find_original(mail.message_id, digest)
        if found is None:
            raise
        return _record_duplicate(inbound, found)
    return _act(inbound, mail, raw=raw, at=at)


def _act(inbound: InboundMail, mail: ParsedMail, *, raw: bytes, at: datetime) -> InboundMail:
    """Decide what a parsed, first-seen mail becomes, and record it on its saved row."""
    inbound.state, inbound.reason = InboundState.PROCESSED, ""
    fields = ["state", "reason"]
    if mail.is_noise:
        inbound.state = InboundState.IGNORED_AUTO
        inbound.reason = mail.noise_reason
    elif _is_our_own(mail):
        inbound.state = InboundState.IGNORED_AUTO
        inbound.reason = _("Sent by Steward itself.")
    elif _is_staff(mail):
        inbound.state = InboundState.IGNORED_STAFF
        inbound.reason = _("Staff address: answer on the case page.")
        _keep_raw(inbound, raw)
        fields.append("raw")
    elif _too_many_from(inbound):
        inbound.state = InboundState.IGNORED_AUTO
        inbound.reason = _(
            "More than %(limit)d mails from this sender within an hour: a possible mail loop."
        ) % {"limit": settings.STEWARD_MAIL_SENDER_HOURLY_LIMIT}
        _keep_raw(inbound, raw)
        fields.append("raw")
    else:
        delivery = _uploads(mail.attachments)
        try:
            with transaction.atomic():
                message = _deliver(mail, at=at, delivery=delivery)
        except DomainError as exc:
            inbound.state = InboundState.QUARANTINED
            inbound.reason = str(exc.message)
            _keep_raw(inbound, raw)
            fields.append("raw")
        else:
            inbound.case_message = message
            inbound.case_id = message.case_id
            fields += ["case_message", "case"]
            if delivery.skipped:
                inbound.reason = "\n".join(delivery.skipped)
                _keep_raw(inbound, raw)
                fields.append("raw")
    inbound.save(update_fields=fields)
    return inbound


@transaction.atomic
def mail_retry(*, actor: User, inbound: InboundMail, at: datetime | None = None) -> InboundMail:
    """An administrator receives a quarantined mail again, e.g. once an owner can be found or a
    parser fix is deployed. The same row records the new outcome; the raw bytes stay kept."""
    if not (actor.is_active and (actor.is_superuser or actor.role == Role.ADMIN)):
        raise NotPermitted(_("Only an administrator may receive quarantined mail again."))
    at = at or timeutil.now()
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state != InboundState.QUARANTINED or not inbound.raw:
        raise DomainError(_("Only quarantined mail can be received again."), field="state")
    with inbound.raw.open("rb") as stored:
        raw = stored.read()
    try:
        mail = ingest(raw)
    except ParseError as exc:
        inbound.reason = exc.reason
        inbound.save(update_fields=["reason"])
        return inbound
    inbound.from_address = mail.from_address[:320]
    inbound.from_name = mail.from_name[:200]
    inbound.subject = mail.subject[:300]
    inbound.save(update_fields=["from_address", "from_name", "subject"])
    original = (
        InboundMail.objects.filter(message_id=mail.message_id).exclude(pk=inbound.pk).first()
        if mail.message_id
        else None
    )
    if original is not None:
        inbound.state = InboundState.IGNORED_DUPLICATE
        inbound.duplicate_of = original
        inbound.reason = _("Already received (Message-ID %(id)s).") % {"id": original.message_id}
        inbound.save(update_fields=["state", "duplicate_of", "reason"])
        return inbound
    if mail.message_id and not inbound.message_id:
        inbound.message_id = mail.message_id
        inbound.save(update_fields=["message_id"])
    return _act(inbound, mail, raw=raw, at=at)
