"""Reads for the customer: only their own cases, only the public part of each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import User
from steward.accounts.selectors import away_user_ids
from steward.cases.models import (
    OPEN_TASK_STATES,
    Attachment,
    Case,
    CaseEvent,
    EventKind,
    Handoff,
    Message,
    SectorTask,
    Status,
)
from steward.cases.selectors import WaitingOn
from steward.core.compiled import compiled, standin, text_standin
from steward.customers.models import Customer

from .models import PortalCaseKey

# The status in the customer's words: what it means for them, not our workflow.
CUSTOMER_STATUS: dict[str, Any] = {
    Status.NEW: _("Received: we will answer soon"),
    Status.OPEN: _("We are working on it"),
    Status.WAITING_CUSTOMER: _("Waiting for your answer"),
    Status.WAITING_SECTOR: _("We are working on it"),
    Status.SOLUTION_PROPOSED: _("Solution proposed: please tell us if it works"),
    Status.CLOSED: _("Solved and closed"),
    Status.REOPENED: _("Reopened: we are working on it again"),
}


def customer_status(status: str) -> str:
    return str(CUSTOMER_STATUS.get(status, _("We are working on it")))


def customer_get(customer_id: Any) -> Customer | None:
    try:
        pk = int(customer_id)
    except (TypeError, ValueError):
        return None
    if not -(2**63) <= pk < 2**63:
        return None
    # Compiled once (steward.core.compiled): every portal request reads it (issue 9).
    query = compiled(("portal_customer",), lambda: Customer.objects.filter(pk=standin(0)).order_by("pk")[:1])
    return query.first({standin(0): pk})  # type: ignore[no-any-return]


def customer_cases(customer: Customer) -> QuerySet[Case]:
    """The customer's cases for the portal's list, with only what its cards show (list_cards.py): 32
    columns of the case and 16 of its owner per row cost 1.5 ms of CPU for the busiest customer's 43."""
    return (
        Case.objects.filter(customer=customer)
        .select_related("owner")
        .only("subject", "status", "created_at", "owner__first_name", "owner__last_name", "owner__username")
        .with_next_step()
        .order_by("-created_at", "-id")
    )


def waiting_on_by_case(case_ids: Iterable[int]) -> dict[int, list[WaitingOn]]:
    """ "Waiting on <sector>" for many cases at once (the case list): one query whatever the count.

    The same answer as `steward.cases.selectors.case_waiting_on` gives for one case.
    """
    found: dict[int, list[WaitingOn]] = {}
    tasks = (
        SectorTask.objects.filter(case_id__in=list(case_ids), state__in=OPEN_TASK_STATES)
        .select_related("sector")
        .order_by("due_at", "id")
    )
    for t in tasks:
        found.setdefault(t.case_id, []).append(
            WaitingOn(
                sector_name=t.sector.name, expected=timezone.localtime(t.due_at).date(), due_at=t.due_at
            )
        )
    return found


def case_for_customer(customer: Customer, key: str) -> Case:
    """The access helper: a case of another customer, or an unknown key, is a 404."""
    # Compiled once (steward.core.compiled): 1-2 ms of CPU through the ORM, in every portal write.
    query = compiled(
        ("portal_case_for_customer",),
        lambda: (
            PortalCaseKey.objects.select_related(
                "case", "case__owner", "case__owner__backup", "case__customer"
            )
            .filter(key=text_standin(0), case__customer=standin(0))
            .order_by("pk")[:1]
        ),
    )
    row = query.first({text_standin(0): str(key), standin(0): customer.pk})
    if row is None:
        raise Http404
    return row.case  # type: ignore[no-any-return]


@dataclass(frozen=True)
class PublicOwnership:
    """Who the customer deals with: the owner, or the backup standing in while the owner is away."""

    owner: User
    acting: User | None  # None: owner and backup are both away
    standing_in: bool


def case_public_ownership(case: Case, *, now: datetime) -> PublicOwnership:
    owner, backup = case.owner, case.owner.backup
    away = away_user_ids(at=now, user_ids=[owner.pk] + ([backup.pk] if backup else []))
    if owner.pk not in away:
        return PublicOwnership(owner=owner, acting=owner, standing_in=False)
    if backup is not None and backup.pk not in away:
        return PublicOwnership(owner=owner, acting=backup, standing_in=True)
    return PublicOwnership(owner=owner, acting=None, standing_in=False)


@dataclass
class PublicEntry:
    """One line of the public conversation: a message (with files) or a short notice."""

    at: datetime
    kind: str  # "in" | "out" | "handoff" | "confirmed" | "reopened"
    message: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    name: str = ""  # the new owner, for a handoff
    reason: str = ""  # the customer's reason, for a reopening


def public_conversation(case: Case) -> list[PublicEntry]:
    """Messages in and out with their files, plus "now handled by X"; never notes or handoff summaries.

    Four queries whatever the length of the case.
    """
    messages = list(
        Message.objects.filter(case=case, is_automatic=False)
        .select_related("author")
        .order_by("created_at", "id")
    )
    by_message: dict[int, list[Attachment]] = {}
    # Files of messages only: attachments of internal notes never reach the customer.
    for a in Attachment.objects.filter(case=case, message__isnull=False, note__isnull=True).order_by("id"):
        by_message.setdefault(a.message_id or 0, []).append(a)
    entries = [
        PublicEntry(at=m.created_at, kind=m.direction, message=m, attachments=by_message.get(m.pk, []))
        for m in messages
    ]
    for h in Handoff.objects.filter(case=case).select_related("to_user"):
        entries.append(PublicEntry(at=h.created_at, kind="handoff", name=h.to_user.display_name))
    events = CaseEvent.objects.filter(
        case=case, kind__in=[EventKind.SOLUTION_CONFIRMED, EventKind.REOPENED]
    ).only("at", "kind", "data", "actor")
    for e in events:
        if e.kind == EventKind.SOLUTION_CONFIRMED:
            entries.append(PublicEntry(at=e.at, kind="confirmed"))
        elif e.data.get("reason") != "customer_wrote":
            # A reopening by staff has an internal reason; the customer sees that it reopened, not why.
            reason = str(e.data.get("reason", "")) if e.actor_id is None else ""
            entries.append(PublicEntry(at=e.at, kind="reopened", reason=reason))
    entries.sort(key=lambda entry: entry.at)
    return entries


def public_attachment(case: Case, attachment_id: Any) -> Attachment:
    try:
        pk = int(attachment_id)
    except (TypeError, ValueError):
        raise Http404 from None
    att = Attachment.objects.filter(
        case=case, pk=pk, message__isnull=False, message__is_automatic=False, note__isnull=True
    ).first()
    if att is None:
        raise Http404
    return att
