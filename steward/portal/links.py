"""Signed confirm / not-solved links for the "solution proposed" mail.

A token names the case and the proposal it answers (the case's `solution_proposed_at`), signed with a
salt and a timestamp. It is single-use because the case state moves on: once the customer confirmed or
said "not solved", the same proposal is no longer awaiting an answer; after a new proposal the old
token names an older one and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation

from steward.cases.models import Case, Closure, Status

from .services import customer_language

SALT = "steward.portal.solution-link"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def link_max_age() -> timedelta:
    return timedelta(days=getattr(settings, "STEWARD_SOLUTION_LINK_DAYS", 14))


def _proposal_stamp(at: datetime) -> int:
    """Microseconds since the epoch: exact integer arithmetic, so equal instants compare equal."""
    return (at - EPOCH) // timedelta(microseconds=1)


def solution_token(case: Case) -> str:
    if case.solution_proposed_at is None:
        raise ValueError("case has no proposed solution")
    return signing.dumps({"c": case.pk, "p": _proposal_stamp(case.solution_proposed_at)}, salt=SALT)


def solution_links(case: Case) -> tuple[str, str]:
    """Absolute (confirm, not solved) URLs for the mail, in the customer's language."""
    token = solution_token(case)
    with translation.override(customer_language(case.customer)):
        confirm = reverse("portal:solution_confirm", kwargs={"token": token})
        not_solved = reverse("portal:solution_not_solved", kwargs={"token": token})
    return settings.STEWARD_BASE_URL + confirm, settings.STEWARD_BASE_URL + not_solved


class LinkState:
    VALID = "valid"  # the proposal awaits the customer's answer
    INVALID = "invalid"  # forged, mangled or for a case that no longer exists
    EXPIRED = "expired"
    CONFIRMED = "confirmed"  # this proposal was already confirmed
    ANSWERED = "answered"  # already answered "not solved" (or the customer wrote since): case reopened
    SUPERSEDED = "superseded"  # a newer proposal exists; this link is for an older one


@dataclass(frozen=True)
class SolutionLink:
    state: str
    case: Case | None = None


def read_solution_token(token: str) -> SolutionLink:
    """Check a token against the case as it is now. Never raises for bad input."""
    try:
        data = signing.loads(token, salt=SALT, max_age=link_max_age())
    except signing.SignatureExpired:
        return SolutionLink(LinkState.EXPIRED)
    except signing.BadSignature:
        return SolutionLink(LinkState.INVALID)
    try:
        case_id, stamp = int(data["c"]), int(data["p"])
    except (TypeError, KeyError, ValueError):
        return SolutionLink(LinkState.INVALID)
    case = Case.objects.select_related("customer", "owner").filter(pk=case_id).first()
    if case is None or case.solution_proposed_at is None:
        return SolutionLink(LinkState.INVALID)
    current = _proposal_stamp(case.solution_proposed_at)
    if stamp < current:
        return SolutionLink(LinkState.SUPERSEDED, case)
    if stamp != current:
        return SolutionLink(LinkState.INVALID)
    if case.status == Status.SOLUTION_PROPOSED:
        return SolutionLink(LinkState.VALID, case)
    if case.status == Status.CLOSED and case.closure == Closure.CONFIRMED:
        return SolutionLink(LinkState.CONFIRMED, case)
    return SolutionLink(LinkState.ANSWERED, case)
