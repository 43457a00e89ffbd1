"""The manager's service dashboard in a real browser, in Thai: figures, a trend chart drawn by Chart.js
on its canvas with the same numbers in the table beside it, and a drill-down to the cases counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.analytics.service_figures import add_months
from steward.analytics.tests.service_log import answer, relationship_answer
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution, case_reply
from steward.customers.services import customer_create
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_reads_the_dashboard_in_thai_with_a_chart_and_its_table(
    live_server, page: Page, personas, tmp_path
):
    p = personas
    last_month = add_months(timezone.localdate(), -1)
    start = timezone.make_aware(timezone.datetime.combine(last_month, timezone.datetime.min.time()))
    for i in range(6):
        at = start + timedelta(days=i + 1, hours=9)
        customer = customer_create(actor=None, name=f"ลูกค้า {i}", email=f"c{i}@example.com", language="th")
        case = case_open(
            actor=p.adviser, customer=customer, subject=f"โทรศัพท์ {i}", description="ช่วยด้วย", at=at
        )
        case_reply(actor=p.adviser, case=case, body="กำลังตรวจสอบ", at=at + timedelta(hours=1))
        case_propose_solution(actor=p.adviser, case=case, solution="แก้ไขแล้ว", at=at + timedelta(hours=3))
        case_confirm_solution(case=case, at=at + timedelta(hours=4))
        answer(case, at + timedelta(hours=5), csat=5 if i % 3 else 2, ces=6)
        relationship_answer(customer, at + timedelta(hours=6), 9 if i % 2 else 6)

    base = live_server.url
    sign_in(page, base, "manager")
    page.goto(f"{base}/th/analytics/service/?period=last_month")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.get_by_test_id("value-csat")).to_have_text("66.7 %")

    chart = page.locator("figure[data-testid=chart]").first
    canvas = chart.locator("canvas")
    expect(canvas).to_be_visible()
    expect(canvas).to_have_attribute("data-rendered", "true")  # Chart.js drew it
    table = chart.get_by_test_id("chart-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(12)
    expect(table.locator("tbody tr").last).to_contain_text("66.7 %")  # last month's CSAT, as on the card

    page.screenshot(path=str(tmp_path / "service-dashboard-th.png"), full_page=True)

    page.get_by_test_id("drill-csat-k").click()
    expect(page.get_by_test_id("drill-cases").locator("tbody tr")).to_have_count(4)
