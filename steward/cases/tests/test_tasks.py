"""Sector task services: who may take each step, the states, the case status, and the event contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steward.accounts.models import Role
from steward.accounts.services import absence_create
from steward.cases import task_services as ts
from steward.cases.models import Case, CaseEvent, EventKind, SectorTask, Status, TaskState
from steward.cases.services import case_propose_solution, case_reply, case_set_status
from steward.cases.task_selectors import case_waiting_on
from steward.core.errors import DomainError, NotPermitted
from steward.sectors.models import Distance, TaskKind
from steward.sectors.services import sector_create
from steward.testing import make_user

pytestmark = pytest.mark.django_db

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc_calendar(settings):
    settings.TIME_ZONE = "UTC"
    settings.STEWARD_BUSINESS_HOURS = "09:00-17:00"
    settings.STEWARD_BUSINESS_DAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.fixture
def case(personas) -> Case:
    case = personas.case
    case_reply(
        actor=personas.adviser, case=case, body="Looking into it.", at=MONDAY_10 - timedelta(minutes=30)
    )
    case.refresh_from_db()
    return case


@pytest.fixture
def warehouse():
    return sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)


def hand(personas, case, *, sector=None, at=MONDAY_10, **kw) -> SectorTask:
    return ts.task_create(
        actor=personas.adviser,
        case=case,
        sector=sector or personas.billing,
        description="Refund the duplicated fee.",
        at=at,
        **kw,
    )


def events(case, kind) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("id"))


def test_owner_hands_a_step_to_a_sector_and_the_case_waits_on_it(personas, case):
    kind = TaskKind.objects.create(sector=personas.billing, name="Refund", target_minutes=120)
    task = hand(personas, case, task_kind=kind, at=datetime(2026, 11, 20, 16, 0, tzinfo=UTC))  # Friday
    assert task.state == TaskState.QUEUED and task.target_minutes == 120
    assert task.due_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday, on the business calendar
    case.refresh_from_db()
    assert case.status == Status.WAITING_SECTOR and case.owner == personas.adviser
    (event,) = events(case, EventKind.TASK_CREATED)
    assert event.sector_id == personas.billing.pk  # the task's sector, not the adviser's front desk
    assert event.actor == personas.adviser
    assert event.data["task"] == task.pk and event.data["target_minutes"] == 120
    assert event.data["due_at"] == task.due_at.isoformat()
    assert (event.data["from"], event.data["to"]) == (Status.OPEN, Status.WAITING_SECTOR)
    assert event.version == case.version


def test_target_comes_from_the_argument_then_the_kind_then_the_sector_default(personas, case):
    personas.billing.default_task_target_minutes = 240
    personas.billing.save()
    assert hand(personas, case).target_minutes == 240
    kind = TaskKind.objects.create(sector=personas.billing, name="Refund", target_minutes=90)
    assert hand(personas, case, task_kind=kind).target_minutes == 90
    assert hand(personas, case, task_kind=kind, target_minutes=30).target_minutes == 30


@pytest.mark.parametrize("minutes", [0, -5, ts.MAX_TARGET_MINUTES + 1])
def test_a_target_out_of_range_is_refused(personas, case, minutes):
    with pytest.raises(DomainError) as exc:
        hand(personas, case, target_minutes=minutes)
    assert exc.value.field == "target_minutes"


def test_a_kind_of_another_sector_and_an_empty_description_are_refused(personas, case, warehouse):
    kind = TaskKind.objects.create(sector=warehouse, name="Pick", target_minutes=60)
    with pytest.raises(DomainError) as exc:
        hand(personas, case, task_kind=kind)
    assert exc.value.field == "task_kind"
    with pytest.raises(DomainError) as exc:
        ts.task_create(actor=personas.adviser, case=case, sector=personas.billing, description="  ")
    assert exc.value.field == "description"
    assert not SectorTask.objects.exists()


def test_only_who_can_act_on_the_case_hands_a_step_over(personas, case):
    for someone in (personas.other_adviser, personas.sector_member, personas.executive, personas.backup):
        with pytest.raises(NotPermitted):
            hand_as(someone, personas, case)
    assert hand_as(personas.manager, personas, case).created_by == personas.manager
    absence_create(
        actor=personas.manager,
        user=personas.adviser,
        starts_at=MONDAY_10 - timedelta(hours=1),
        ends_at=MONDAY_10 + timedelta(days=1),
        reason="Sick",
    )
    assert hand_as(personas.backup, personas, case).created_by == personas.backup  # acting while away


def hand_as(actor, personas, case) -> SectorTask:
    return ts.task_create(actor=actor, case=case, sector=personas.billing, description="Check", at=MONDAY_10)


def test_no_step_is_handed_over_on_a_closed_or_proposed_case(personas, case):
    case_propose_solution(actor=personas.adviser, case=case, solution="Refunded.", at=MONDAY_10)
    with pytest.raises(DomainError):
        hand(personas, case, at=MONDAY_10 + timedelta(minutes=1))


def test_full_life_take_log_complete_with_events_in_the_sector(personas, case):
    member = personas.sector_member
    task = hand(personas, case)
    t1, t2, t3 = (MONDAY_10 + timedelta(minutes=m) for m in (30, 60, 90))
    ts.task_take(actor=member, task=task, at=t1)
    ts.task_log_work(actor=member, task=task, minutes=25, note="Checked the invoice", at=t2)
    ts.task_complete(actor=member, task=task, note="Refund booked", at=t3)
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.assignee == member
    assert (task.taken_at, task.completed_at) == (t1, t3) and task.completion_note == "Refund booked"
    assert task.work_logs.get().minutes == 25
    kinds = [EventKind.TASK_TAKEN, EventKind.TASK_WORK_LOGGED, EventKind.TASK_COMPLETED]
    for kind, at in zip(kinds, (t1, t2, t3), strict=True):
        (event,) = events(case, kind)
        assert event.sector_id == personas.billing.pk and event.data["task"] == task.pk and event.at == at
    assert events(case, EventKind.TASK_WORK_LOGGED)[0].data["minutes"] == 25
    done = events(case, EventKind.TASK_COMPLETED)[0]
    assert (done.data["from"], done.data["to"], done.data["on_time"]) == (
        Status.WAITING_SECTOR,
        Status.OPEN,
        True,
    )
    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_the_case_waits_until_the_last_open_task_ends(personas, case, warehouse):
    keeper = make_user("wh1", role=Role.SECTOR_MEMBER, sector_id=warehouse.pk)
    billing_task = hand(personas, case)
    warehouse_task = hand(personas, case, sector=warehouse)
    ts.task_take(actor=personas.sector_member, task=billing_task, at=MONDAY_10)
    ts.task_complete(actor=personas.sector_member, task=billing_task, at=MONDAY_10 + timedelta(minutes=5))
    case.refresh_from_db()
    assert case.status == Status.WAITING_SECTOR
    assert [w.sector_name for w in case_waiting_on(case)] == ["Warehouse"]
    ts.task_return(
        actor=keeper, task=warehouse_task, reason="Which order number?", at=MONDAY_10 + timedelta(hours=1)
    )
    case.refresh_from_db()
    assert case.status == Status.OPEN and case_waiting_on(case) == []
    (returned,) = events(case, EventKind.TASK_RETURNED)
    assert returned.sector_id == warehouse.pk and returned.data["reason"] == "Which order number?"
    assert returned.data["task"] == warehouse_task.pk


def test_a_status_set_by_hand_meanwhile_is_left_alone(personas, case):
    task = hand(personas, case)
    case_set_status(actor=personas.adviser, case=case, status=Status.WAITING_CUSTOMER, at=MONDAY_10)
    ts.task_return(actor=personas.sector_member, task=task, reason="Need the invoice", at=MONDAY_10)
    case.refresh_from_db()
    assert case.status == Status.WAITING_CUSTOMER


def test_only_members_of_the_tasks_sector_take_log_complete_or_return(personas, case, warehouse):
    task = hand(personas, case)
    stranger = make_user("wh1", role=Role.SECTOR_MEMBER, sector_id=warehouse.pk)
    for someone in (stranger, personas.adviser, personas.manager):
        with pytest.raises(NotPermitted):
            ts.task_take(actor=someone, task=task)
        with pytest.raises(NotPermitted):
            ts.task_return(actor=someone, task=task, reason="No")
    ts.task_take(actor=personas.sector_member, task=task)
    with pytest.raises(NotPermitted):
        ts.task_log_work(actor=stranger, task=task, minutes=5)
    with pytest.raises(NotPermitted):
        ts.task_complete(actor=personas.adviser, task=task)


def test_steps_refused_in_the_wrong_state(personas, case):
    member = personas.sector_member
    task = hand(personas, case)
    with pytest.raises(DomainError, match="Take the task first"):
        ts.task_log_work(actor=member, task=task, minutes=5)
    with pytest.raises(DomainError, match="Take the task first"):
        ts.task_complete(actor=member, task=task)
    ts.task_take(actor=member, task=task)
    colleague = make_user("billing2", role=Role.SECTOR_MEMBER, sector_id=personas.billing.pk)
    with pytest.raises(DomainError, match="already taken"):
        ts.task_take(actor=colleague, task=task)
    ts.task_log_work(actor=colleague, task=task, minutes=10)  # a colleague may help
    ts.task_complete(actor=member, task=task)
    for step in (
        lambda: ts.task_take(actor=member, task=task),
        lambda: ts.task_complete(actor=member, task=task),
        lambda: ts.task_return(actor=member, task=task, reason="x"),
        lambda: ts.task_cancel(actor=personas.adviser, task=task),
        lambda: ts.task_log_work(actor=member, task=task, minutes=5),
    ):
        with pytest.raises(DomainError):
            step()


@pytest.mark.parametrize("minutes", [0, -1, ts.MAX_LOG_MINUTES + 1])
def test_work_log_minutes_must_be_sensible(personas, case, minutes):
    task = hand(personas, case)
    ts.task_take(actor=personas.sector_member, task=task)
    with pytest.raises(DomainError) as exc:
        ts.task_log_work(actor=personas.sector_member, task=task, minutes=minutes)
    assert exc.value.field == "minutes"


def test_a_return_needs_a_reason(personas, case):
    task = hand(personas, case)
    with pytest.raises(DomainError) as exc:
        ts.task_return(actor=personas.sector_member, task=task, reason="   ")
    assert exc.value.field == "reason"
    task.refresh_from_db()
    assert task.state == TaskState.QUEUED


def test_the_case_owner_cancels_a_task_in_the_tasks_sector(personas, case):
    task = hand(personas, case)
    with pytest.raises(NotPermitted):
        ts.task_cancel(actor=personas.sector_member, task=task)
    ts.task_cancel(actor=personas.adviser, task=task, reason="Customer solved it", at=MONDAY_10)
    task.refresh_from_db()
    assert task.state == TaskState.CANCELLED and task.cancelled_at == MONDAY_10
    (event,) = events(case, EventKind.TASK_CANCELLED)
    assert event.sector_id == personas.billing.pk and event.actor == personas.adviser
    assert event.data == {
        "task": task.pk,
        "from": Status.WAITING_SECTOR,
        "to": Status.OPEN,
        "reason": "Customer solved it",
    }


def test_completing_late_records_it(personas, case):
    task = hand(personas, case, target_minutes=60)
    ts.task_take(actor=personas.sector_member, task=task, at=MONDAY_10)
    ts.task_complete(actor=personas.sector_member, task=task, at=MONDAY_10 + timedelta(hours=3))
    assert events(case, EventKind.TASK_COMPLETED)[0].data["on_time"] is False


def test_every_task_event_bumps_the_case_version_in_order(personas, case):
    start = case.version
    task = hand(personas, case)
    ts.task_take(actor=personas.sector_member, task=task)
    ts.task_log_work(actor=personas.sector_member, task=task, minutes=5)
    ts.task_complete(actor=personas.sector_member, task=task)
    case.refresh_from_db()
    versions = list(CaseEvent.objects.filter(case=case, version__gt=start).values_list("version", flat=True))
    assert versions == [start + 1, start + 2, start + 3, start + 4] and case.version == start + 4


def test_waiting_on_lists_open_tasks_with_expected_dates(personas, case, warehouse):
    hand(personas, case, target_minutes=480)  # due Tuesday 10:00
    hand(personas, case, sector=warehouse, target_minutes=60)  # due Monday 11:00
    waiting = case_waiting_on(case)
    assert [(w.sector_name, w.expected.isoformat()) for w in waiting] == [
        ("Warehouse", "2026-11-23"),
        ("Billing", "2026-11-24"),
    ]


def test_sector_work_in_progress_does_not_make_an_open_reply_stale(personas, case):
    from steward.cases.services import case_reply as reply
    from steward.core.errors import StaleVersion

    task = hand(personas, case)
    case.refresh_from_db()
    drafted_on = case.version
    ts.task_take(actor=personas.sector_member, task=task)
    ts.task_log_work(actor=personas.sector_member, task=task, minutes=5)
    reply(actor=personas.adviser, case=case, body="Billing is on it.", expected_version=drafted_on)
    case.refresh_from_db()
    drafted_on = case.version
    ts.task_complete(actor=personas.sector_member, task=task, note="Refunded")
    with pytest.raises(StaleVersion) as exc:  # a result the adviser should read first
        reply(actor=personas.adviser, case=case, body="Still waiting.", expected_version=drafted_on)
    assert "Sector task completed" in exc.value.changes[0]
