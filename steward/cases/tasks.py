"""Periodic work on cases (Celery). Each task is idempotent: running it twice changes nothing more."""

from __future__ import annotations

from celery import shared_task

from steward.core import timeutil
from steward.core.business_calendar import calendar_from_settings

from .task_selectors import task_urgency, tasks_due_for_breach_check
from .task_services import task_flag_near_breach


@shared_task(name="steward.cases.tasks.flag_tasks_near_breach")
def flag_tasks_near_breach() -> int:
    """Flag, once each, the open sector tasks about to breach (or past) their target.

    Each flag is a "task_near_breach" case event in the task's sector; notifications mail from it.
    Returns how many tasks were flagged.
    """
    now = timeutil.now()
    calendar = calendar_from_settings()
    flagged = 0
    for task in tasks_due_for_breach_check().only("pk", "state", "due_at", "target_minutes", "case_id"):
        if task_urgency(task, now=now, calendar=calendar) and task_flag_near_breach(task=task, at=now):
            flagged += 1
    return flagged
