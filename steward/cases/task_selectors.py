"""Reads of sector tasks: the sector queue, a case's tasks, "waiting on" for the customer, urgency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from steward.accounts.models import Role, User
from steward.core.business_calendar import BusinessCalendar, business_minutes_between
from steward.core.compiled import Compiled

from .models import OPEN_TASK_STATES, Case, SectorTask, TaskState

# "About to breach": less than this share of the target left, or due within NEAR_BREACH_WINDOW.
NEAR_BREACH_SHARE = 0.2
NEAR_BREACH_WINDOW = timedelta(hours=1)

LATE = "late"
NEAR_BREACH = "near_breach"


def task_urgency(task: SectorTask, *, now: datetime, calendar: BusinessCalendar) -> str:
    """LATE, NEAR_BREACH or "" for an open task; "" once it ended (lateness of ended tasks: `was_late`)."""
    if task.state not in OPEN_TASK_STATES:
        return ""
    if now > task.due_at:
        return LATE
    if task.due_at - now <= NEAR_BREACH_WINDOW:
        return NEAR_BREACH
    left = business_minutes_between(now, task.due_at, calendar)
    return NEAR_BREACH if left < NEAR_BREACH_SHARE * task.target_minutes else ""


def was_late(task: SectorTask) -> bool:
    ended = task.completed_at or task.returned_at
    return ended is not None and ended > task.due_at


def _with_work(qs: QuerySet[SectorTask]) -> QuerySet[SectorTask]:
    return qs.annotate(work_minutes=Coalesce(Sum("work_logs__minutes"), Value(0)))


def tasks_visible_to(user: User) -> QuerySet[SectorTask]:
    """Tasks a user may see: sector members their sector's; everyone else those on cases they see."""
    if not user.is_authenticated or not user.is_active:
        return SectorTask.objects.none()
    if user.role == Role.SECTOR_MEMBER:
        if not user.sector_id:
            return SectorTask.objects.none()
        return SectorTask.objects.filter(sector_id=user.sector_id)
    if user.sees_everything:
        return SectorTask.objects.all()
    return SectorTask.objects.filter(case__in=Case.objects.visible_to(user).values("pk"))


def task_get_for_user(user: User, pk: Any) -> SectorTask:
    """The access helper for one task: what the user may not see is a 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    task = (
        tasks_visible_to(user)
        .select_related("case", "case__owner", "case__owner__backup", "sector", "assignee")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise Http404
    return task


def sector_queue_item(pk: int) -> SectorTask:
    """One task shaped like a queue row (with its logged minutes), after a step changed it."""
    return (
        _with_work(SectorTask.objects.filter(pk=pk))
        .select_related("sector", "task_kind", "assignee", "created_by")
        .get()
    )


@dataclass
class QueueFilters:
    sector: int | None = None  # managers choose; members always get their own sector
    include_ended: bool = False


def sector_queue(*, user: User, filters: QueueFilters) -> QuerySet[SectorTask]:
    """The queue: open tasks, queued before in progress, each by due time; ended ones last if asked."""
    if user.sees_everything:
        qs = SectorTask.objects.all()
        if filters.sector:
            qs = qs.filter(sector_id=filters.sector)
    elif user.is_active and user.sector_id:
        qs = SectorTask.objects.filter(sector_id=user.sector_id)
        if user.role != Role.SECTOR_MEMBER:
            # An adviser whose sector receives tasks sees them only on cases they may read anyway.
            qs = qs.filter(case__in=Case.objects.visible_to(user).values("pk"))
    else:
        qs = SectorTask.objects.none()
    if not filters.include_ended:
        qs = qs.filter(state__in=OPEN_TASK_STATES)
    order = SqlCase(
        When(state=TaskState.QUEUED, then=Value(0)),
        When(state=TaskState.IN_PROGRESS, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        _with_work(qs)
        .select_related(
            "case", "case__customer", "case__owner", "sector", "task_kind", "assignee", "created_by"
        )
        .annotate(state_order=order)
        .order_by("state_order", "due_at", "id")
    )


def case_tasks(case: Case) -> list[SectorTask]:
    """Every task of a case, oldest first, with logged minutes (the case page panel)."""
    tasks = _case_tasks(case.pk)
    for task in tasks:
        task.case = case  # as case.sector_tasks would set it: no query for it
    return tasks


# Compiled once per process (steward/core/compiled.py): only the case id changes.
_case_tasks = Compiled(
    SectorTask,
    lambda case_id: (
        _with_work(SectorTask.objects.filter(case_id=case_id))
        .select_related("sector", "task_kind", "assignee", "created_by")
        .order_by("created_at", "id")
    ),
)


@dataclass(frozen=True)
class WaitingOn:
    """What the customer sees: "waiting on <sector>, expected <date>"."""

    sector_name: str
    expected: date  # the task's due date in the installation's time zone
    due_at: datetime


def case_waiting_on(case: Case) -> list[WaitingOn]:
    """The sectors the case waits on now, earliest expected first (one query)."""
    tasks = (
        SectorTask.objects.filter(case=case, state__in=OPEN_TASK_STATES)
        .select_related("sector")
        .order_by("due_at", "id")
    )
    return [
        WaitingOn(sector_name=t.sector.name, expected=timezone.localtime(t.due_at).date(), due_at=t.due_at)
        for t in tasks
    ]


def tasks_due_for_breach_check() -> QuerySet[SectorTask]:
    """Open tasks not yet warned about (the periodic sweep decides which are about to breach)."""
    return SectorTask.objects.filter(Q(state__in=OPEN_TASK_STATES), near_breach_notified_at__isnull=True)
