"""The case page's value-chain panel: one case's lead time split, built through the real services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from steward.analytics.case_chain import case_value_chain
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution
from steward.cases.task_services import task_complete, task_create, task_take

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning, inside business hours


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def test_lead_time_split_between_front_line_billing_and_customer(personas, django_assert_max_num_queries):
    p = personas
    case = case_open(
        actor=p.adviser, customer=p.customer, subject="Charged twice", description="Two charges.", at=T0
    )
    task = task_create(actor=p.adviser, case=case, sector=p.billing, description="Refund one", at=minutes(10))
    task_take(actor=p.sector_member, task=task, at=minutes(40))
    task_complete(actor=p.sector_member, task=task, note="Refunded", at=minutes(70))
    case_propose_solution(actor=p.adviser, case=case, solution="We refunded the charge.", at=minutes(100))
    case_confirm_solution(case=case, at=minutes(130))

    with django_assert_max_num_queries(2):
        chain = case_value_chain(case, now=minutes(500))
    assert chain is not None and chain.resolved
    assert chain.lead_seconds == 130 * 60
    parts = {part.label: part.seconds for part in chain.parts}
    assert parts == {
        "Front line (case owner)": 40 * 60,
        "Billing": 60 * 60,
        "Waiting on the customer": 30 * 60,
    }
    assert sum(part.percent or 0 for part in chain.parts) == pytest.approx(100)
    assert chain.path == ["Front desk", "Billing", "Front desk"]
    assert chain.handoffs == 2
    assert chain.back_and_forth == 0  # front desk → billing → front desk is a normal round trip


def test_open_case_runs_to_now_and_the_case_page_shows_the_panel(client, personas):
    p = personas
    task_create(actor=p.adviser, case=p.case, sector=p.billing, description="Check the invoice")
    chain = case_value_chain(p.case, now=p.case.created_at + timedelta(hours=2))
    assert chain is not None and not chain.resolved and chain.lead_seconds == 2 * 3600
    client.force_login(p.adviser)
    page = client.get(f"/en/cases/{p.case.pk}/").content.decode()
    assert 'data-testid="case-chain"' in page
    assert "Front desk → Billing" in page
