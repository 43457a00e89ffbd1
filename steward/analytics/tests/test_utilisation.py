"""Utilisation (metrics.md §4.2): work logged over the members' business time; ≥ 85 % is flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steward.analytics import metrics, selectors
from steward.cases.services import case_open
from steward.cases.task_services import task_complete, task_create, task_log_work, task_take

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 09:00, the start of the business day (UTC calendar)


def test_utilisation_formula_and_its_edges():
    assert metrics.utilisation(work_seconds=3600, staff=2, available_seconds=3600).value == 0.5
    assert metrics.utilisation(work_seconds=0, staff=1, available_seconds=3600).value == 0.0
    assert metrics.utilisation(work_seconds=60, staff=0, available_seconds=3600).reason == "no_staff"
    assert metrics.utilisation(work_seconds=60, staff=3, available_seconds=0).value is None
    assert metrics.is_near_capacity(metrics.ratio(85, 100))
    assert not metrics.is_near_capacity(metrics.ratio(84, 100))
    assert not metrics.is_near_capacity(metrics.ratio(1, 0))


@pytest.mark.django_db
def test_a_sector_working_most_of_its_hours_is_near_capacity(personas, settings):
    settings.TIME_ZONE = "UTC"
    settings.STEWARD_BUSINESS_HOURS = "09:00-17:00"
    p = personas

    def task(minutes_of_work: int, start: int, end: int) -> None:
        case = case_open(
            actor=p.adviser, customer=p.customer, subject="Invoice", description="Check it.", at=T0
        )
        t = task_create(
            actor=p.adviser,
            case=case,
            sector=p.billing,
            description="Check",
            at=T0 + timedelta(minutes=start),
        )
        task_take(actor=p.sector_member, task=t, at=T0 + timedelta(minutes=start + 10))
        task_log_work(
            actor=p.sector_member, task=t, minutes=minutes_of_work, at=T0 + timedelta(minutes=end - 5)
        )
        task_complete(actor=p.sector_member, task=t, at=T0 + timedelta(minutes=end))

    task(120, 0, 240)  # 09:00–13:00: one member, 240 business minutes, 120 logged
    table = selectors.sector_table(selectors.Selection(kind="question"), now=T0 + timedelta(hours=8))
    billing = next(r for r in table.rows if r.sector == p.billing)
    assert billing.utilisation.value == pytest.approx(0.5)
    assert not billing.near_capacity

    task(90, 30, 200)  # inside the same window: 210 of 240 minutes logged
    table = selectors.sector_table(selectors.Selection(kind="question"), now=T0 + timedelta(hours=8))
    billing = next(r for r in table.rows if r.sector == p.billing)
    assert billing.utilisation.value == pytest.approx(210 / 240)
    assert billing.near_capacity
