"""Predicted against actual after the window, and calibration from the ratios."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from steward.cases.models import Kind
from steward.cases.services import case_open, case_receive_message
from steward.customers.services import customer_create
from steward.decisions.actuals import calibration_from, measure_actual
from steward.decisions.assessment import AwayPeriod, ScenarioSpec, assess

from .history import NOW, WINDOW, H, build_desk

pytestmark = pytest.mark.django_db


def test_predicted_against_actual() -> None:
    desk = build_desk()
    spec = ScenarioSpec(
        WINDOW[0],
        WINDOW[1],
        (AwayPeriod(desk.ann.pk, *WINDOW), AwayPeriod(desk.ben.pk, *WINDOW)),
        team_id=desk.team.pk,
    )
    predicted = assess(spec, now=NOW)
    day = WINDOW[0]
    # The day: Pim writes on X while Ann is away, X's next step (11:00) is never kept; a new customer
    # writes at 9:00 and gets no reply; the next day Pim files a complaint.
    case_receive_message(case=desk.x, body="Hello? Anyone?", at=day + 10 * H)
    newcomer = customer_create(actor=None, name="Nia", email="nia@example.com")
    case_open(
        actor=None, customer=newcomer, subject="Q", description="A question.", owner=desk.cat, at=day + 9 * H
    )
    case_open(
        actor=None,
        customer=desk.pim,
        subject="Complaint",
        description="Nobody called me back.",
        owner=desk.cat,
        kind=Kind.COMPLAINT,
        at=day + 33 * H,
    )
    later = WINDOW[1] + timedelta(days=15)
    r = measure_actual(spec, predicted, now=later)
    assert r["contacts"]["actual"] == 2  # Pim's message and Nia's new case (the complaint is the next day)
    assert r["affected_customers"]["actual"] == 2  # Pim (wrote while away, missed step) and Nia (no reply)
    assert r["affected_customers"]["predicted"] == predicted.affected_count
    assert r["long_waits"]["actual"] == 1
    assert r["service_level"]["actual"] == 0.0  # Nia's case, the one the customer opened, waits
    assert r["complaints"]["actual"] == 1 and r["dissatisfied"]["actual"] == 1
    assert r["dissatisfied"]["ratio"] == pytest.approx(1 / predicted.expected_dissatisfied.base)
    assert r["csat_affected"]["actual"] is None and r["csat_affected"]["ratio"] is None  # no answers
    assert r["booked_costs"]["actual"] == 0 and r["booked_costs"]["complete"] is False
    assert set(r) >= {
        "contacts",
        "affected_customers",
        "long_waits",
        "complaints",
        "csat_affected",
        "booked_costs",
    }


def test_calibration_from_ratios() -> None:
    cal = calibration_from([{"contacts": 2.0, "dissatisfied": None}, {"contacts": 0.5, "dissatisfied": 1.5}])
    assert cal["contacts"] == pytest.approx(1.0)  # geometric mean: 2× then 0.5× is 1×
    assert cal["dissatisfied"] == pytest.approx(1.5)
    assert calibration_from([{"x": 0.0, "y": math.inf, "z": None}]) == {}
    assert calibration_from([]) == {}
