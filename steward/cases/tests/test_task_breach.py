"""Tasks about to breach their target are flagged once each, as a case event in the task's sector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steward.cases import task_services as ts
from steward.cases.models import CaseEvent, EventKind
from steward.cases.task_selectors import LATE, NEAR_BREACH, task_urgency
from steward.cases.tasks import flag_tasks_near_breach
from steward.core.business_calendar import calendar_from_settings

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc_calendar(settings):
    settings.TIME_ZONE = "UTC"
    settings.STEWARD_BUSINESS_HOURS = "09:00-17:00"
    settings.STEWARD_BUSINESS_DAYS = ["mon", "tue", "wed", "thu", "fri"]


def _task(personas, target):
    return ts.task_create(
        actor=personas.adviser,
        case=personas.case,
        sector=personas.billing,
        description="Refund",
        target_minutes=target,
        at=MONDAY_9,
    )


@pytest.mark.parametrize(
    ("target", "now_minutes", "expected"),
    [
        (480, 60, ""),  # plenty left
        (480, 7 * 60, NEAR_BREACH),  # 60 of 480 left: under 20 %
        (2400, 8 * 60 + 1, ""),  # a week's target, one day in: fine
        (600, 9 * 60 + 30, NEAR_BREACH),  # due Tuesday 10:00; at 09:30 due within an hour
        (60, 61, LATE),
    ],
)
def test_urgency(personas, target, now_minutes, expected):
    task = _task(personas, target)
    now = MONDAY_9 + timedelta(minutes=now_minutes)
    if now_minutes >= 9 * 60:  # past Monday's closing: count into Tuesday
        now = MONDAY_9 + timedelta(days=1) + timedelta(minutes=now_minutes - 9 * 60)
    assert task_urgency(task, now=now, calendar=calendar_from_settings()) == expected


def test_ended_tasks_have_no_urgency(personas):
    task = _task(personas, 60)
    ts.task_return(actor=personas.sector_member, task=task, reason="Wrong sector", at=MONDAY_9)
    task.refresh_from_db()
    assert task_urgency(task, now=MONDAY_9 + timedelta(days=3), calendar=calendar_from_settings()) == ""


def test_the_sweep_flags_each_task_once_in_its_sector(personas, monkeypatch):
    near = _task(personas, 60)
    calm = _task(personas, 2400)
    now = MONDAY_9 + timedelta(minutes=30)
    monkeypatch.setattr("steward.core.timeutil.now", lambda: now)
    assert flag_tasks_near_breach() == 1
    assert flag_tasks_near_breach() == 0  # once only
    (event,) = CaseEvent.objects.filter(kind=EventKind.TASK_NEAR_BREACH)
    assert event.sector_id == personas.billing.pk and event.actor is None and event.at == now
    assert event.data["task"] == near.pk and event.data["due_at"] == near.due_at.isoformat()
    near.refresh_from_db()
    calm.refresh_from_db()
    assert near.near_breach_notified_at == now and calm.near_breach_notified_at is None


def test_the_sweep_ignores_ended_tasks(personas, monkeypatch):
    task = _task(personas, 60)
    ts.task_cancel(actor=personas.adviser, task=task, at=MONDAY_9)
    monkeypatch.setattr("steward.core.timeutil.now", lambda: MONDAY_9 + timedelta(hours=5))
    assert flag_tasks_near_breach() == 0


def test_the_sweep_is_on_the_beat_schedule():
    from config.celery import app

    entries = [e["task"] for e in app.conf.beat_schedule.values()]
    assert "steward.cases.tasks.flag_tasks_near_breach" in entries
