"""p_type history (forecast.dissatisfaction) on cases and survey answers built through the real services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from steward.accounts.services import absence_create
from steward.analytics.tests.service_log import answer
from steward.cases.models import CommitmentState
from steward.cases.services import (
    case_confirm_solution,
    case_open,
    case_propose_solution,
    case_reply,
    commitment_resolve,
    commitment_set,
)
from steward.customers.services import customer_create
from steward.decisions import forecast
from steward.decisions.assessment import AwayPeriod, ScenarioSpec, assess

from .history import NOW, WINDOW, H, build_desk

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _case(owner, name):
    customer = customer_create(actor=None, name=name, email=f"{name.lower()}@example.com")
    return case_open(actor=None, customer=customer, subject="S", description="Help.", owner=owner, at=MONDAY)


def _close(case, owner, at):
    case_propose_solution(actor=owner, case=case, solution="Done for you.", at=at)
    case_confirm_solution(case=case, at=at + H)


def test_dissatisfaction_by_exposure_by_hand() -> None:
    desk = build_desk()
    # 1. Ann's case; Ann away on 3-4 March while it is open; answered CSAT 2 -> owner_absent, dissatisfied.
    c1 = _case(desk.ann, "One")
    case_reply(actor=desk.ann, case=c1, body="On it.", at=MONDAY + H)
    absence_create(
        actor=None, user=desk.ann, starts_at=MONDAY + 24 * H, ends_at=MONDAY + 48 * H, reason="Course"
    )
    _close(c1, desk.ann, MONDAY + 72 * H)
    answer(c1, MONDAY + 96 * H, csat=2)
    # 2. Ben's case, first reply after 11 business hours (Mon 9-17 + Tue 9-12) -> long_wait; CSAT 5.
    c2 = _case(desk.ben, "Two")
    case_reply(actor=desk.ben, case=c2, body="Sorry for the wait.", at=MONDAY + 27 * H)
    _close(c2, desk.ben, MONDAY + 30 * H)
    answer(c2, MONDAY + 96 * H, csat=5)
    # 3. Cat's case with a broken next step; CSAT 3 (dissatisfied: ≤ 3).
    c3 = _case(desk.cat, "Three")
    case_reply(actor=desk.cat, case=c3, body="Will call.", at=MONDAY + H)
    step = commitment_set(
        actor=desk.cat, case=c3, description="Call back", due_at=MONDAY + 5 * H, at=MONDAY + H
    )
    commitment_resolve(actor=desk.cat, commitment=step, state=CommitmentState.BROKEN, at=MONDAY + 6 * H)
    _close(c3, desk.cat, MONDAY + 30 * H)
    answer(c3, MONDAY + 96 * H, csat=3)

    d = forecast.dissatisfaction(NOW)
    assert d.counts == {"owner_absent": (1, 1), "missed_commitment": (1, 1), "long_wait": (0, 1)}
    assert d.baseline == (2, 3)
    # Below n_min the assessment says so and uses the priors; with n_min 1 it uses the history.
    spec = ScenarioSpec(WINDOW[0], WINDOW[1], (AwayPeriod(desk.ann.pk, *WINDOW),), team_id=desk.team.pk)
    a = assess(spec, now=NOW)
    assert a.p_type["owner_absent"].prior and (a.p_type["owner_absent"].k, a.p_type["owner_absent"].n) == (
        1,
        1,
    )
    from django.test import override_settings

    with override_settings(STEWARD_DECISION_MIN_SAMPLE=1):
        b = assess(spec, now=NOW)
    assert not b.p_type["owner_absent"].prior and b.p_type["owner_absent"].p.base == 1.0
    assert b.p_type["long_wait"].p.base == 0.0 and b.p_type["long_wait"].p.high > 0  # Wilson 0 of 1
