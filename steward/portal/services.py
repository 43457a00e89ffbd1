"""Portal writes: sign-in links, case keys, and the customer's own actions on their cases.

Case changes go through steward.cases.services with actor=None (the customer acts for themselves).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from steward.cases import services as case_services
from steward.cases.models import Case, Channel, Message
from steward.cases.routing import pick_owner
from steward.core import timeutil
from steward.core.compiled import compiled, insert, standin
from steward.core.errors import DomainError
from steward.core.paths import localized_path
from steward.core.prepared import bound_cursor
from steward.customers.models import Customer
from steward.customers.selectors import customer_by_email
from steward.notifications.models import NotificationKind, RecipientKind
from steward.notifications.services import outbox_enqueue

from .models import PortalCaseKey, PortalLoginToken, new_case_key
from .redirects import safe_next

logger = logging.getLogger(__name__)


def link_lifetime() -> timedelta:
    return timedelta(minutes=getattr(settings, "STEWARD_PORTAL_LINK_MINUTES", 30))


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def customer_language(customer: Customer) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return customer.language if customer.language in codes else settings.LANGUAGE_CODE


# ---------------------------------------------------------------- sign-in


def send_login_link(customer: Customer, url: str) -> None:
    """Mail the sign-in link, in the customer's language, as plain text and HTML, through the outbox.

    The outbox gives it the same retries, "failed" visibility in the admin and auto-generated headers
    as every other mail; it is sent after the surrounding transaction commits.
    """
    lang = customer_language(customer)
    context = {"customer": customer, "url": url, "minutes": int(link_lifetime().total_seconds() // 60)}
    with translation.override(lang):
        subject = render_to_string("portal/mail/login_link_subject.txt", context).strip()
        text = render_to_string("portal/mail/login_link.txt", context)
        html = render_to_string("portal/mail/login_link.html", context)
    outbox_enqueue(
        to=customer.email,
        language=lang,
        kind=NotificationKind.PORTAL_SIGN_IN,
        subject=subject,
        text=text,
        html=html,
        recipient_kind=RecipientKind.CUSTOMER,
    )


@transaction.atomic
def login_token_create(
    *, customer: Customer, next_path: str | None = None, at: datetime | None = None
) -> str:
    """Store a new sign-in token (its hash only) and return the raw token for the link.

    `next_path` is the portal page to open after signing in; anything but a safe portal path is dropped.
    """
    at = at or timeutil.now()
    raw = secrets.token_urlsafe(32)
    PortalLoginToken.objects.create(
        customer=customer,
        token_hash=hash_token(raw),
        created_at=at,
        expires_at=at + link_lifetime(),
        next_path=safe_next(next_path),
    )
    return raw


def login_url(customer: Customer, raw_token: str) -> str:
    with translation.override(customer_language(customer)):
        path = reverse("portal:sign_in_link", kwargs={"token": raw_token})
    return settings.STEWARD_BASE_URL + path


@transaction.atomic
def login_link_send(*, customer: Customer, next_path: str | None = None, at: datetime | None = None) -> None:
    """Create a sign-in token for this customer and queue the link's mail (both or neither)."""
    raw = login_token_create(customer=customer, next_path=next_path, at=at)
    send_login_link(customer, login_url(customer, raw))


def login_link_request(*, email: str, next_path: str | None = None) -> bool:
    """Queue a sign-in link for the customer with this address; say whether one was queued.

    Callers must not tell the visitor: the answer is the same for unknown addresses. The token is
    created and the mail sent by a task, so a known address does not answer measurably slower than an
    unknown one, and a mail server that is down never turns the page into an error.
    """
    from .tasks import send_login_link_task  # tasks import this module

    customer = customer_by_email(email)
    if customer is None:
        return False
    try:
        send_login_link_task.delay(customer.pk, safe_next(next_path))
    except Exception:  # the broker, or the mail server when tasks run in-process
        logger.exception("could not send a portal sign-in link to customer %s", customer.pk)
    return True


class LoginLinkRefused(DomainError):
    """The token is unknown, used or expired; `code` says which, for the page shown.

    `next_path` is the page the used or expired token was for, so asking for a new link from the
    refusal page still leads there (it is a portal path of the token's own customer, checked again).
    """

    next_path: str | None = None


def login_token_peek(raw: str, *, at: datetime | None = None) -> PortalLoginToken:
    """Check a token without using it (the GET page): raises LoginLinkRefused when it cannot sign in."""
    at = at or timeutil.now()
    token = PortalLoginToken.objects.select_related("customer").filter(token_hash=hash_token(raw)).first()
    _check_token(token, at)
    assert token is not None
    return token


def _check_token(token: PortalLoginToken | None, at: datetime) -> None:
    if token is None:
        raise LoginLinkRefused(_("This sign-in link is not valid."), code="invalid")
    refused: LoginLinkRefused | None = None
    if token.used_at is not None:
        refused = LoginLinkRefused(_("This sign-in link has already been used."), code="used")
    elif token.expires_at <= at:
        refused = LoginLinkRefused(_("This sign-in link has expired."), code="expired")
    if refused is not None:
        refused.next_path = safe_next(token.next_path)
        raise refused


def login_token_redeem(raw: str, *, at: datetime | None = None) -> Customer:
    """Use a sign-in token once and return whom it signs in."""
    return login_token_use(raw, at=at).customer


@transaction.atomic
def login_token_use(raw: str, *, at: datetime | None = None) -> PortalLoginToken:
    """Use a sign-in token once: the row is locked so two clicks cannot both sign in.

    Returns the token, with its customer and the page they asked for (`next_path`, not yet re-checked).
    """
    at = at or timeutil.now()
    token = (
        PortalLoginToken.objects.select_for_update()
        .filter(token_hash=hash_token(raw))
        .select_related("customer")
        .first()
    )
    _check_token(token, at)
    assert token is not None
    token.used_at = at
    token.save(update_fields=["used_at"])
    return token


def login_tokens_purge(*, before: datetime) -> int:
    """Delete sign-in tokens that expired before `before`; return how many. Used ones go too."""
    deleted, _by_model = PortalLoginToken.objects.filter(expires_at__lt=before).delete()
    return deleted


# ---------------------------------------------------------------- case keys


def case_keys(case_ids: Iterable[int]) -> dict[int, str]:
    """The portal keys of these cases, creating the missing ones: three queries whatever the count."""
    ids = set(case_ids)
    keys = dict(PortalCaseKey.objects.filter(case_id__in=ids).values_list("case_id", "key"))
    missing = ids - keys.keys()
    if missing:
        # ignore_conflicts: a concurrent request may create the same key row first.
        PortalCaseKey.objects.bulk_create([PortalCaseKey(case_id=i) for i in missing], ignore_conflicts=True)
        keys.update(PortalCaseKey.objects.filter(case_id__in=missing).values_list("case_id", "key"))
    return keys


# The case's key, kept on the case instance once known (a mail in several languages asks again).
_KEY_MEMO = "_steward_portal_key"
_NO_KEY = object()  # kept there when a read found that the case has no key yet


def case_key(case: Case, *, new_case: bool = False) -> str:
    """`new_case`: the case was created in this transaction, so it has no key and no other transaction
    can make one for it (it cannot see the case yet): one INSERT instead of a look-up and an insert."""
    key = case.__dict__.get(_KEY_MEMO)
    if key is _NO_KEY:
        key = case.__dict__[_KEY_MEMO] = _new_key(case.pk)
    elif key is None:
        # Both through SQL compiled once (steward.core.compiled; issue 9: every reply's mail asks).
        if new_case:
            row = PortalCaseKey(case_id=case.pk)
            insert(row)
            key = row.key
        else:
            found = compiled(
                ("portal_case_key",),
                lambda: PortalCaseKey.objects.filter(case_id=standin(0)).values_list("key"),
            ).rows({standin(0): case.pk})
            key = found[0][0] if found else _new_key(case.pk)
        case.__dict__[_KEY_MEMO] = key
    return str(key)


def remember_case_key(case: Case, key: str | None) -> None:
    """The case's key as another statement read it (the notifications' thread read), or None when it
    found none: `case_key` answers without looking again (for None: it makes one, yielding to one a
    concurrent request made meanwhile)."""
    case.__dict__[_KEY_MEMO] = key if key is not None else _NO_KEY


def _new_key(case_id: int) -> str:
    """A key for a case that had none: one INSERT that yields to a concurrent one (issue 9: the first
    mail of most cases of the benchmark's replies made three queries of it), else `case_keys`."""
    table = connection.ops.quote_name(PortalCaseKey._meta.db_table)
    with bound_cursor(connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} (case_id, key) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING key",
            [case_id, PortalCaseKey(case_id=case_id).key],
        )
        made = cursor.fetchone()
    return str(made[0]) if made else case_keys([case_id])[case_id]


def opening_key_row(sender: Any, *, case: Case, **kwargs: Any) -> tuple[list[str], list[Any]]:
    """Receiver of `case_opening_rows` (PostgreSQL): the new case's portal key, written by case_open's
    one statement (cases/opening.py) and kept on the case, so that the first mail's link needs no
    INSERT of its own (issue 9: a round trip fewer). Every opened case gets its key at once, where it
    got it on first use before: a key is only an address, and most cases' first mail asks for it."""
    key = case.__dict__[_KEY_MEMO] = new_case_key()
    q = connection.ops.quote_name
    table, column = q(PortalCaseKey._meta.db_table), q(str(PortalCaseKey._meta.get_field("key").column))
    return [f"portal_key AS (INSERT INTO {table} (case_id, {column}) VALUES ((SELECT id FROM c), %s))"], [key]


def case_portal_url(case: Case, *, language: str | None = None, new_case: bool = False) -> str:
    """The absolute address of this case in the portal, in its customer's language (key made if needed).

    For the customer's mails (pass the mail's `language` so link and text agree): a customer who is not
    signed in is sent to sign in and then back here.
    """
    key = case_key(case, new_case=new_case)
    path = localized_path("portal:case", language or customer_language(case.customer), key=key)
    return settings.STEWARD_BASE_URL + path


# ---------------------------------------------------------------- the customer's actions


def portal_case_open(
    *,
    customer: Customer,
    subject: str,
    description: str,
    attachments: Sequence[UploadedFile] = (),
    at: datetime | None = None,
) -> Case:
    """A customer writes a new case in the portal; the routing rule picks its owner."""
    at = at or timeutil.now()
    owner = pick_owner(at=at)
    if owner is None:
        raise DomainError(_("We cannot take new cases right now. Please write to us by e-mail."))
    return case_services.case_open(
        actor=None,
        customer=customer,
        subject=subject,
        description=description,
        owner=owner,
        channel=Channel.PORTAL,
        attachments=attachments,
        at=at,
    )


def portal_message(
    *, case: Case, body: str, attachments: Sequence[UploadedFile] = (), at: datetime | None = None
) -> Message:
    return case_services.case_receive_message(
        case=case, body=body, channel=Channel.PORTAL, attachments=attachments, at=at
    )


def portal_confirm(*, case: Case, channel: str = Channel.PORTAL, at: datetime | None = None) -> Case:
    return case_services.case_confirm_solution(case=case, actor=None, channel=channel, at=at)


def portal_not_solved(*, case: Case, reason: str, at: datetime | None = None) -> Case:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Tell us what is still not solved."), field="reason")
    return case_services.case_reopen(actor=None, case=case, reason=reason, at=at)
