"""The executive reads the economics pages in a real browser: the executive summary with Chart.js drawn
beside its tables, the cost of quality with the estimate kept apart, and a drill-down to the ledger lines
and the case behind them. Data: the hand-built economy of March 2026 (steward/analytics/tests/economy.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from steward.analytics.tests.economy import build_economy
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MARCH = "date_from=2026-03&date_to=2026-03"


def test_executive_reads_cost_of_quality_and_drills_down_to_the_case(
    live_server, page: Page, personas, settings, tmp_path
):
    settings.STEWARD_CONTACT_MINUTES = ""
    economy = build_economy(personas)
    base = live_server.url
    sign_in(page, base, "executive")

    page.goto(f"{base}/en/analytics/economics/?{MARCH}")
    canvas = page.locator("figure[data-testid=chart] canvas").first
    expect(canvas).to_have_attribute("data-rendered", "true")  # Chart.js drew it
    expect(page.get_by_test_id("value-at-risk")).to_contain_text("9.84 EUR")
    expect(page.get_by_test_id("exec-months").locator("tbody tr")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "economics-executive.png"), full_page=True)

    page.get_by_role("link", name="Cost of quality", exact=True).first.click()
    expect(page.get_by_test_id("failure-share")).to_have_text("33.3 %")
    expect(page.get_by_test_id("estimate")).to_contain_text("84.84 EUR")
    page.get_by_test_id("coq-table").get_by_role("link", name="External failure").click()
    lines = page.get_by_test_id("ledger-lines").locator("tbody tr")
    expect(lines).to_have_count(3)
    expect(page.get_by_test_id("ledger-lines")).to_contain_text("cost unknown: no rate")
    page.get_by_test_id("ledger-lines").get_by_role("link", name=f"#{economy.a.pk}").first.click()
    expect(page.get_by_test_id("case-cost-churn")).to_contain_text("estimate")
