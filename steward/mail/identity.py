"""How Steward's mail names a case: the token in the subject and the Message-ID it generates.

Both carry the case number with a short HMAC, so a reply threads to its case by subject or by
In-Reply-To / References, and a forged token (someone guessing another case's number) threads nowhere.
Outbound notifications write these; inbound threading reads them.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "steward.mail.case-token"
_SUBJECT_TOKEN = re.compile(r"\[ST#(\d{1,12})-([0-9a-f]{8})\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<?st\.(\d{1,12})\.([0-9a-f]{8})\.[0-9a-f]{32}@[^>\s]+>?", re.IGNORECASE)


def _signature(number: int) -> str:
    return salted_hmac(_SALT, str(number)).hexdigest()[:8]


def _verified(number_text: str, signature: str) -> int | None:
    number = int(number_text)
    return number if constant_time_compare(_signature(number), signature.lower()) else None


def mail_domain() -> str:
    """The domain of generated Message-IDs: STEWARD_MAIL_DOMAIN, else the sender address's domain."""
    configured = getattr(settings, "STEWARD_MAIL_DOMAIN", "")
    return configured or settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "steward.localhost"


def case_token(number: int) -> str:
    """`[ST#1234-1a2b3c4d]`: language-neutral, so it survives any translation of the subject."""
    return f"[ST#{number}-{_signature(number)}]"


def subject_with_token(subject: str, number: int) -> str:
    token = case_token(number)
    return subject if token in subject else f"{subject} {token}"


def case_number_from_subject(subject: str) -> int | None:
    """The case a subject names with a valid token; None when there is none or it is forged."""
    for match in _SUBJECT_TOKEN.finditer(subject or ""):
        number = _verified(match.group(1), match.group(2))
        if number is not None:
            return number
    return None


def new_message_id(number: int) -> str:
    """A unique Message-ID for a mail about case `number`, e.g. `<st.1234.1a2b3c4d.<uuid>@domain>`."""
    return f"<st.{number}.{_signature(number)}.{uuid.uuid4().hex}@{mail_domain()}>"


def case_number_from_message_id(message_id: str) -> int | None:
    """The case a Message-ID Steward generated belongs to; None for foreign or forged ids."""
    match = _MESSAGE_ID.fullmatch((message_id or "").strip())
    return _verified(match.group(1), match.group(2)) if match else None
