"""Sector tasks: the one write path for handing a step of a case to an internal sector.

Every step appends a case event through `services._record` whose sector is the TASK's sector, with
data {"task": id, ...} (the contract the value-chain analysis reads). Events that move the case's
status also carry {"from": old, "to": new}. While any task is open the case waits on a sector; when the
last one ends (done, returned, cancelled) a case that was waiting on a sector is open again.

Locks are taken case first, then task, the same order everywhere, so concurrent steps serialise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.core import timeutil
from steward.core.business_calendar import BusinessCalendar, add_business_minutes
from steward.core.errors import DomainError, NotPermitted
from steward.sectors.models import Sector, TaskKind

from .models import OPEN_TASK_STATES, Case, CaseEvent, EventKind, SectorTask, Status, TaskState, WorkLog
from .permissions import can_act
from .services import _clean_text, _lock, _record

# One business week of 09:00-17:00; a longer internal target is a project, not a task.
MAX_TARGET_MINUTES = 5 * 8 * 60 * 4
# One work log covers at most a long working day; longer work is logged in several entries.
MAX_LOG_MINUTES = 12 * 60


def is_sector_member(user: User, sector_id: int) -> bool:
    return user.is_active and user.sector_id is not None and user.sector_id == sector_id


def _require_member(actor: User, task: SectorTask) -> None:
    if not is_sector_member(actor, task.sector_id):
        raise NotPermitted(_("Only a member of the task's sector may do this."))


def _require_owner(actor: User, case: Case, at: datetime) -> None:
    if not can_act(actor, case, at=at):
        raise NotPermitted(
            _("Only the case owner, the backup while the owner is away, or a manager may do this.")
        )


def _lock_task(task: SectorTask) -> tuple[Case, SectorTask]:
    case = _lock(task.case)
    locked = SectorTask.objects.select_for_update().get(pk=task.pk)
    return case, locked


def _task_event(
    case: Case,
    task: SectorTask,
    *,
    kind: str,
    actor: User | None,
    at: datetime,
    data: dict[str, Any] | None = None,
    fields: list[str] | None = None,
) -> CaseEvent:
    return _record(
        case,
        kind=kind,
        actor=actor,
        at=at,
        data={"task": task.pk, **(data or {})},
        fields=fields or [],
        sector_id=task.sector_id,
    )


def _status_after_task_ends(case: Case, task: SectorTask) -> tuple[dict[str, str], list[str]]:
    """Back to open when the last open task ended and the case was waiting on a sector."""
    still_open = case.sector_tasks.filter(state__in=OPEN_TASK_STATES).exclude(pk=task.pk).exists()
    if still_open or case.status != Status.WAITING_SECTOR:
        return {"from": case.status, "to": case.status}, []
    case.status = Status.OPEN
    return {"from": Status.WAITING_SECTOR, "to": Status.OPEN}, ["status"]


def _target_for(sector: Sector, task_kind: TaskKind | None, target_minutes: int | None) -> int:
    if target_minutes is None:
        target_minutes = task_kind.target_minutes if task_kind else sector.default_task_target_minutes
    if not 1 <= target_minutes <= MAX_TARGET_MINUTES:
        raise DomainError(
            _("The target must be between 1 and %(max)d business minutes.") % {"max": MAX_TARGET_MINUTES},
            field="target_minutes",
        )
    return target_minutes


@transaction.atomic
def task_create(
    *,
    actor: User,
    case: Case,
    sector: Sector,
    description: str,
    task_kind: TaskKind | None = None,
    target_minutes: int | None = None,
    at: datetime | None = None,
    calendar: BusinessCalendar | None = None,
) -> SectorTask:
    """The case owner hands a step to a sector; the due time follows the target on the business calendar."""
    at = at or timeutil.now()
    description = _clean_text(description, field="description", message=_("Say what the sector should do."))
    if task_kind is not None and task_kind.sector_id != sector.pk:
        raise DomainError(_("This kind of task belongs to another sector."), field="task_kind")
    target = _target_for(sector, task_kind, target_minutes)
    case = _lock(case)
    _require_owner(actor, case, at)
    if case.status in (Status.CLOSED, Status.SOLUTION_PROPOSED):
        raise DomainError(
            _("Reopen the case before handing a step to a sector."), field="sector", code="case_state"
        )
    due_at = add_business_minutes(at, target, calendar)
    task = SectorTask.objects.create(
        case=case,
        sector=sector,
        task_kind=task_kind,
        description=description,
        created_by=actor,
        target_minutes=target,
        due_at=due_at,
        created_at=at,
    )
    old = case.status
    case.status = Status.WAITING_SECTOR
    _task_event(
        case,
        task,
        kind=EventKind.TASK_CREATED,
        actor=actor,
        at=at,
        data={
            "target_minutes": target,
            "due_at": due_at.isoformat(),
            "task_kind": task_kind.pk if task_kind else None,
            "from": old,
            "to": case.status,
        },
        fields=["status"] if old != case.status else [],
    )
    return task


@transaction.atomic
def task_take(*, actor: User, task: SectorTask, at: datetime | None = None) -> SectorTask:
    """A member of the sector takes a queued task; of two members taking it at once, one wins."""
    at = at or timeutil.now()
    case, task = _lock_task(task)
    _require_member(actor, task)
    if task.state != TaskState.QUEUED:
        if task.state == TaskState.IN_PROGRESS and task.assignee is not None:
            message = _("%(name)s has already taken this task.") % {"name": task.assignee.display_name}
        else:
            message = _("This task is no longer in the queue.")
        raise DomainError(message, field="task", code="task_state")
    task.state = TaskState.IN_PROGRESS
    task.assignee = actor
    task.taken_at = at
    task.save(update_fields=["state", "assignee", "taken_at"])
    _task_event(case, task, kind=EventKind.TASK_TAKEN, actor=actor, at=at)
    return task


def _require_in_progress(task: SectorTask, *, field: str) -> None:
    if task.state == TaskState.QUEUED:
        raise DomainError(_("Take the task first."), field=field, code="task_state")
    if task.state != TaskState.IN_PROGRESS:
        raise DomainError(
            _("This task is already %(state)s.") % {"state": task.get_state_display().lower()},
            field=field,
            code="task_state",
        )


@transaction.atomic
def task_log_work(
    *, actor: User, task: SectorTask, minutes: int, note: str = "", at: datetime | None = None
) -> WorkLog:
    """Minutes of work on a task in progress (any member of the sector may help)."""
    at = at or timeutil.now()
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_LOG_MINUTES:
        raise DomainError(
            _("Log between 1 and %(max)d minutes at a time.") % {"max": MAX_LOG_MINUTES}, field="minutes"
        )
    case, task = _lock_task(task)
    _require_member(actor, task)
    _require_in_progress(task, field="minutes")
    log = WorkLog.objects.create(
        task=task, user=actor, minutes=minutes, note=(note or "").strip()[:500], logged_at=at
    )
    _task_event(
        case,
        task,
        kind=EventKind.TASK_WORK_LOGGED,
        actor=actor,
        at=at,
        data={"minutes": minutes, "log": log.pk},
    )
    return log


@transaction.atomic
def task_complete(*, actor: User, task: SectorTask, note: str = "", at: datetime | None = None) -> SectorTask:
    at = at or timeutil.now()
    case, task = _lock_task(task)
    _require_member(actor, task)
    _require_in_progress(task, field="note")
    task.state = TaskState.DONE
    task.completed_at = at
    task.completion_note = (note or "").strip()
    task.save(update_fields=["state", "completed_at", "completion_note"])
    status, fields = _status_after_task_ends(case, task)
    _task_event(
        case,
        task,
        kind=EventKind.TASK_COMPLETED,
        actor=actor,
        at=at,
        data={**status, "on_time": at <= task.due_at},
        fields=fields,
    )
    return task


@transaction.atomic
def task_return(*, actor: User, task: SectorTask, reason: str, at: datetime | None = None) -> SectorTask:
    """Send the task back to whoever handed it over, saying why (e.g. information is missing)."""
    at = at or timeutil.now()
    reason = _clean_text(reason, field="reason", message=_("Say why the task goes back to the sender."))
    case, task = _lock_task(task)
    _require_member(actor, task)
    if task.state not in OPEN_TASK_STATES:
        raise DomainError(
            _("This task is already %(state)s.") % {"state": task.get_state_display().lower()},
            field="reason",
            code="task_state",
        )
    task.state = TaskState.RETURNED
    task.returned_at = at
    task.return_reason = reason
    task.save(update_fields=["state", "returned_at", "return_reason"])
    status, fields = _status_after_task_ends(case, task)
    _task_event(
        case,
        task,
        kind=EventKind.TASK_RETURNED,
        actor=actor,
        at=at,
        data={**status, "reason": reason},
        fields=fields,
    )
    return task


@transaction.atomic
def task_cancel(*, actor: User, task: SectorTask, reason: str = "", at: datetime | None = None) -> SectorTask:
    """The case owner withdraws a step that is no longer needed."""
    at = at or timeutil.now()
    case, task = _lock_task(task)
    _require_owner(actor, case, at)
    if task.state not in OPEN_TASK_STATES:
        raise DomainError(
            _("This task is already %(state)s.") % {"state": task.get_state_display().lower()},
            field="reason",
            code="task_state",
        )
    task.state = TaskState.CANCELLED
    task.cancelled_at = at
    task.save(update_fields=["state", "cancelled_at"])
    status, fields = _status_after_task_ends(case, task)
    data: dict[str, Any] = {**status}
    if reason.strip():
        data["reason"] = reason.strip()[:500]
    _task_event(case, task, kind=EventKind.TASK_CANCELLED, actor=actor, at=at, data=data, fields=fields)
    return task


@transaction.atomic
def task_flag_near_breach(*, task: SectorTask, at: datetime | None = None) -> bool:
    """Record, once per task, that it is about to breach its target (the notifier mails from the event).

    Returns False when the task was already flagged or has ended meanwhile.
    """
    at = at or timeutil.now()
    case, task = _lock_task(task)
    if task.near_breach_notified_at is not None or task.state not in OPEN_TASK_STATES:
        return False
    task.near_breach_notified_at = at
    task.save(update_fields=["near_breach_notified_at"])
    _task_event(
        case,
        task,
        kind=EventKind.TASK_NEAR_BREACH,
        actor=None,
        at=at,
        data={"due_at": task.due_at.isoformat(), "target_minutes": task.target_minutes},
    )
    return True
