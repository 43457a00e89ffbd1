"""The loyalty review in a real browser: last month beside the month before and last year's, a Print
button that JavaScript reveals, and a printout without the navigation and the filter form."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.analytics.service_figures import add_months
from steward.analytics.tests.service_log import answer
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution, case_reply
from steward.customers.services import customer_create
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_prints_last_months_loyalty_review(live_server, page: Page, personas, tmp_path):
    p = personas
    last_month = add_months(timezone.localdate(), -1)
    start = timezone.make_aware(datetime.combine(last_month, time.min))
    for i in range(6):
        at = start + timedelta(days=i + 1, hours=9)
        customer = customer_create(actor=None, name=f"Customer {i}", email=f"c{i}@example.com")
        case = case_open(actor=p.adviser, customer=customer, subject=f"Phone {i}", description="Help", at=at)
        case_reply(actor=p.adviser, case=case, body="Checking", at=at + timedelta(hours=1))
        case_propose_solution(actor=p.adviser, case=case, solution="Fixed", at=at + timedelta(hours=3))
        case_confirm_solution(case=case, at=at + timedelta(hours=4))
        answer(case, at + timedelta(hours=5), csat=5 if i % 3 else 2, ces=6, nps=9 if i % 2 else 6)

    base = live_server.url
    sign_in(page, base, "manager")
    page.goto(f"{base}/en/analytics/loyalty/")
    csat = page.locator("tr[data-figure=csat]")
    expect(csat.locator("td").first).to_contain_text("66.7 %")
    expect(csat.get_by_test_id("change-previous")).to_have_attribute("data-verdict", "no_responses")
    print_button = page.get_by_role("button", name="Print")
    expect(print_button).to_be_visible()  # revealed by js/print.js
    page.screenshot(path=str(tmp_path / "screen.png"), full_page=True)

    page.emulate_media(media="print")
    expect(page.get_by_test_id("loyalty-filters")).to_be_hidden()
    expect(page.locator("nav.tabs")).to_be_hidden()
    expect(print_button).to_be_hidden()
    expect(page.get_by_test_id("review-table").first).to_be_visible()
    expect(page.locator(".print-only")).to_be_visible()
    page.screenshot(path=str(tmp_path / "print.png"), full_page=True)
