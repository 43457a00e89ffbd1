"""Reads of cases shaped for the screens and the API. Query counts stay constant as rows grow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from steward.accounts.models import User
from steward.accounts.selectors import away_user_ids
from steward.core.compiled import Compiled, compiled, standin
from steward.customers.models import Customer

from .list_rows import ROW_FIELDS
from .models import (
    Attachment,
    Case,
    CaseEvent,
    Commitment,
    CommitmentState,
    EventKind,
    Handoff,
    Message,
    Note,
)
from .permissions import can_act
from .task_selectors import WaitingOn, case_waiting_on  # noqa: F401  (for the portal: "waiting on <sector>")


def case_get_for_user(user: User, pk: Any) -> Case:
    """The access helper: a case the user may not see does not exist for them (404)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    if not -(2**63) <= pk < 2**63 or not user.is_authenticated or not user.is_active:
        raise Http404  # no such id; nobody's case (Case.objects.visible_to)
    # Compiled once per kind of visibility (issue 9: 2.8 → 0.4 ms of CPU in every API write on a case).
    shape = (user.is_superuser, user.role, bool(user.team_id), bool(user.sector_id))
    query = compiled(("case_get_for_user", *shape), lambda: _visible_case_query(user))
    values = {standin(0): pk, standin(1): user.pk, standin(2): user.team_id, standin(3): user.sector_id}
    case = query.first(values)
    if case is not None:
        return case
    raise Http404


def _visible_case_query(user: User) -> QuerySet[Case]:
    """case_get_for_user's read, for a user like this one, with stand-ins for the ids."""
    stand_in = User(
        pk=standin(1),
        role=user.role,
        is_superuser=user.is_superuser,
        is_active=True,
        team_id=standin(2) if user.team_id else None,
        sector_id=standin(3) if user.sector_id else None,
    )
    return (
        Case.objects.visible_to(stand_in)
        # Not follow_up_of: the case page links it by id (follow_up_of_id); a join to a second case row
        # read every column of it for nothing.
        .select_related("customer", "owner", "owner__backup", "category", "team")
        .filter(pk=standin(0))
        .order_by("pk")[:1]
    )


@dataclass
class CaseFilters:
    scope: str = "all"  # mine | team | all
    status: str = ""
    kind: str = ""
    owner: int | None = None
    customer: int | None = None
    sector: int | None = None
    overdue: bool = False
    q: str = ""


def case_list(*, user: User, filters: CaseFilters, now: datetime) -> QuerySet[Case]:
    qs = Case.objects.visible_to(user)
    if filters.scope == "mine":
        qs = qs.filter(Q(owner=user) | Q(owner__backup=user, owner_id__in=list(away_user_ids(at=now))))
    elif filters.scope == "team":
        qs = qs.filter(team_id=user.team_id) if user.team_id else qs.none()
    if filters.status == "open":
        qs = qs.open()
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.customer:
        qs = qs.filter(customer_id=filters.customer)
    if filters.sector:
        qs = qs.filter(owner__sector_id=filters.sector)
    if filters.overdue:
        qs = qs.next_step_overdue(now)
    if filters.q:
        term = filters.q.strip()
        text = Q(subject__icontains=term) | _customer_match(term)
        if term.lstrip("#").isdigit():
            text |= Q(pk=int(term.lstrip("#")))
        qs = qs.filter(text)
    # The case list and the API list show the customer, the owner and the category, never the owner's
    # backup (for_list's extra join: 25-200 more User rows built per page for nothing).
    return qs.select_related("customer", "owner", "category").with_next_step().order_by("-created_at", "-id")


def case_list_rows(*, user: User, filters: CaseFilters, now: datetime) -> QuerySet[Case]:
    """`case_list` with only the columns the agent list's rows show (list_rows.ROW_FIELDS): same cases,
    same order, 0.7 ms less CPU per page (the API list keeps whole rows for its serializer)."""
    qs = case_list(user=user, filters=filters, now=now)
    return qs.select_related(None).select_related("customer", "owner").only(*ROW_FIELDS)


# A search term matching more customers than this is matched through a join instead of a list of ids.
SEARCH_CUSTOMER_IDS = 500


def _customer_match(term: str) -> Q:
    """Cases of the customers whose name or e-mail contains `term`.

    The customers are looked up first (one query), so the case side becomes `subject LIKE … OR
    customer_id IN (…)`: on PostgreSQL a bitmap OR of the subject's trigram index
    (cases migration 0004) and the customer index, instead of a join over every case (issue 9: 2 s at
    100,000 cases, 20 ms after).
    """
    ids = list(
        Customer.objects.filter(Q(name__icontains=term) | Q(email__icontains=term)).values_list(
            "pk", flat=True
        )[: SEARCH_CUSTOMER_IDS + 1]
    )
    if len(ids) > SEARCH_CUSTOMER_IDS:
        return Q(customer__name__icontains=term) | Q(customer__email__icontains=term)
    return Q(customer_id__in=ids)


@dataclass
class TimelineEntry:
    event: CaseEvent
    obj: Any = None
    attachments: list[Attachment] = field(default_factory=list)


_OBJ_KEYS: dict[str, str] = {
    EventKind.MESSAGE_IN: "message",
    EventKind.MESSAGE_OUT: "message",
    EventKind.SOLUTION_PROPOSED: "message",
    EventKind.NOTE: "note",
    EventKind.HANDOFF: "handoff",
    EventKind.COMMITMENT_SET: "commitment",
    EventKind.COMMITMENT_KEPT: "commitment",
    EventKind.COMMITMENT_BROKEN: "commitment",
    EventKind.COMMITMENT_CANCELLED: "commitment",
}


# The timeline's reads, compiled once per process (steward/core/compiled.py): only the case id changes.
_events = Compiled(
    CaseEvent,
    lambda case_id: (
        CaseEvent.objects.filter(case_id=case_id).select_related("actor", "sector").order_by("at", "id")
    ),
)
_attachments = Compiled(Attachment, lambda case_id: Attachment.objects.filter(case_id=case_id))
_messages = Compiled(Message, lambda case_id: Message.objects.filter(case_id=case_id).order_by())
_notes = Compiled(Note, lambda case_id: Note.objects.filter(case_id=case_id).order_by())
_handoffs = Compiled(
    Handoff,
    lambda case_id: Handoff.objects.filter(case_id=case_id).select_related("from_user", "to_user").order_by(),
)
_commitments = Compiled(Commitment, lambda case_id: Commitment.objects.filter(case_id=case_id).order_by())


def case_timeline(case: Case) -> list[TimelineEntry]:
    """The whole history as one ordered list: a fixed number of queries whatever its length."""
    return case_timeline_with_commitments(case)[0]


def case_timeline_with_commitments(case: Case) -> tuple[list[TimelineEntry], list[Commitment]]:
    """The timeline, and every commitment of the case read for it (the case page takes its open steps
    and next step from them instead of two more queries)."""
    events = _events(case.pk)
    atts = _attachments(case.pk)
    by_message: dict[int, list[Attachment]] = {}
    by_note: dict[int, list[Attachment]] = {}
    for a in atts:
        if a.message_id:
            by_message.setdefault(a.message_id, []).append(a)
        elif a.note_id:
            by_note.setdefault(a.note_id, []).append(a)
    # Read into dicts by id, so without ORDER BY (order_by()): the models' default ordering only cost
    # SQL compilation and a sort. Only the joins the page shows (issue 9): who wrote a message or note
    # and who promised a step is the event's actor; a handoff shows its two people.
    # Notes, handoffs and commitments are read only when the event log has one (the log is the source
    # of truth: every note, handoff and promised step is written with its event), so most cases skip
    # those three queries.
    kinds = {e.kind for e in events}
    objects: dict[str, dict[int, Any]] = {
        "message": {m.pk: m for m in _messages(case.pk)},
        "note": {n.pk: n for n in _notes(case.pk)} if EventKind.NOTE in kinds else {},
        "handoff": {h.pk: h for h in _handoffs(case.pk)} if EventKind.HANDOFF in kinds else {},
        # Every commitment is promised with its COMMITMENT_SET event: most cases never had one.
        "commitment": {c.pk: c for c in _commitments(case.pk)} if EventKind.COMMITMENT_SET in kinds else {},
    }
    commitments = list(objects["commitment"].values())
    entries = []
    for e in events:
        key = _OBJ_KEYS.get(e.kind)
        obj = objects[key].get(e.data.get(key)) if key else None
        extra: list[Attachment] = []
        if key == "message" and obj is not None:
            extra = by_message.get(obj.pk, [])
        elif key == "note" and obj is not None:
            extra = by_note.get(obj.pk, [])
        entries.append(TimelineEntry(event=e, obj=obj, attachments=extra))
    return entries, commitments


def open_commitments_of(commitments: list[Commitment]) -> list[Commitment]:
    """The open ones, soonest first: what `case_open_commitments` reads, from commitments already read."""
    return sorted((c for c in commitments if c.state == CommitmentState.OPEN), key=lambda c: (c.due_at, c.pk))


def case_next_step(case: Case) -> Commitment | None:
    return case.commitments.filter(state=CommitmentState.OPEN).order_by("due_at", "id").first()


OTHER_CASES = 10  # the customer's other cases the case page lists, newest first


def _other_cases(cases: QuerySet[Case], customer_id: int, case_id: int) -> QuerySet[Case]:
    return cases.filter(customer_id=customer_id).exclude(pk=case_id).order_by("-created_at")[:OTHER_CASES]


_other_cases_seen_by_all = Compiled(
    Case, lambda customer_id, case_id: _other_cases(Case.objects.all(), customer_id, case_id)
)


def case_other_cases(case: Case, *, user: User) -> list[Case]:
    visible = Case.objects.visible_to(user)
    if not visible.query.where:  # sees every case: compiled once (see case_get_for_user)
        return _other_cases_seen_by_all(case.customer_id, case.pk)
    return list(_other_cases(visible, case.customer_id, case.pk))


@dataclass
class Ownership:
    """What the top of the case page shows: who owns it, who covers, who acts now."""

    owner: User
    backup: User | None
    owner_away: bool
    acting: User | None  # the backup while the owner is away, else the owner
    user_can_act: bool


def case_ownership(case: Case, *, user: User, now: datetime) -> Ownership:
    owner = case.owner
    backup = owner.backup
    away = away_user_ids(at=now, user_ids=[owner.pk] + ([backup.pk] if backup else []))
    owner_away = owner.pk in away
    acting: User | None = owner
    if owner_away:
        acting = backup if backup is not None and backup.pk not in away else None
    return Ownership(
        owner=owner,
        backup=backup,
        owner_away=owner_away,
        acting=acting,
        user_can_act=can_act(user, case, at=now),
    )


def case_open_commitments(case: Case) -> list[Commitment]:
    return list(
        case.commitments.filter(state=CommitmentState.OPEN)
        .select_related("promised_by")
        .order_by("due_at", "id")
    )
