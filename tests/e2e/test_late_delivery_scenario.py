"""Release scenario "Late delivery" (idea 3) in a real browser.

A delivery-delay complaint passes through front desk, warehouse, logistics and billing. A manager
opens a blameless review of it: the page shows each sector's target against its actual time, the
process map (Graphviz SVG drawn in the browser) with the bottleneck marked, and the agreed actions.

The case is played through the real services (steward/analytics/tests/logs.py): the front desk
hands tasks to the warehouse, logistics and billing with `task_create`, their members take, work and
complete them, and "on time" is judged against each task's business-calendar due date.

Then the cost of the complaint (metrics.md §1.4, booked part): the sectors' loaded rates (one typed in
by the manager on the rates page), a goodwill gesture above the approval limit approved by the manager
on the case page, and the review meeting's time; the case page's "cost of this case" panel shows the
staff time by sector at loaded rates, the compensation paid and the review's time, hand-computed below.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.accounts.models import Role
from steward.analytics.tests.logs import late_delivery_case, value_chain
from steward.cases.models import SectorTask, TaskState
from steward.costs.services import compensation_request, rate_set
from steward.reviews.services import root_causes_ensure_default
from steward.testing import make_user
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_late_delivery_review_shows_targets_bottleneck_and_actions(
    live_server, page: Page, personas, tmp_path
):
    root_causes_ensure_default()  # a transactional test may have flushed the seeded tree
    chain = value_chain()
    members = {
        "warehouse": make_user("warehouse1", role=Role.SECTOR_MEMBER, sector_id=chain.warehouse.pk),
        "logistics": make_user("logistics1", role=Role.SECTOR_MEMBER, sector_id=chain.logistics.pk),
        "billing": personas.sector_member,
    }
    # The warehouse takes the task two hours after it arrived: the longest wait of the chain.
    log = late_delivery_case(
        owner=personas.adviser,
        customer=personas.customer,
        chain=chain,
        members=members,
        warehouse_takes_at=130,
    )
    tasks = SectorTask.objects.filter(case=log.case).order_by("created_at", "pk")
    assert [t.sector.name for t in tasks] == ["Warehouse", "Logistics", "Billing"]
    assert [t.assignee for t in tasks] == [members["warehouse"], members["logistics"], members["billing"]]
    assert [t.state for t in tasks] == [TaskState.DONE] * 3
    base = live_server.url
    sign_in(page, base, "manager")

    page.goto(f"{base}/en/reviews/")
    page.fill("#id_title", "Parcel a week late")
    page.fill("#id_case", str(log.case.pk))
    page.click("text=Open the review")
    expect(page.locator(".messages")).to_contain_text("Review opened.")
    expect(page.locator("h1")).to_have_text("Parcel a week late")

    # Each sector's target against its actual time.
    table = page.get_by_test_id("sector-table")
    warehouse = table.locator("tr[data-sector='Warehouse']")
    expect(warehouse.locator("td[data-col='target']")).to_have_text("2.0 h")
    expect(warehouse.locator("td[data-col='elapsed']")).to_have_text("3.0 h / 3.0 h")
    expect(warehouse.locator("td[data-col='on-time']")).to_contain_text("0.0 %")
    expect(warehouse).to_have_class("bottleneck")
    expect(warehouse.get_by_test_id("bottleneck-tag")).to_be_visible()
    logistics = table.locator("tr[data-sector='Logistics']")
    expect(logistics.locator("td[data-col='target']")).to_have_text("4.0 h")
    expect(logistics.locator("td[data-col='elapsed']")).to_have_text("5.0 h / 5.0 h")
    expect(logistics.locator("td[data-col='on-time']")).to_contain_text("0.0 %")
    billing = table.locator("tr[data-sector='Billing']")
    expect(billing.locator("td[data-col='target']")).to_have_text("1.0 h")
    expect(billing.locator("td[data-col='elapsed']")).to_have_text("50 min / 50 min")
    expect(billing.locator("td[data-col='on-time']")).to_contain_text("100.0 %")

    # The process map: SVG laid out by Graphviz in the browser, the bottleneck marked in it and in the table.
    graph = page.get_by_test_id("process-map")
    expect(graph).to_have_attribute("data-rendered", "true")
    expect(graph.locator("svg g.node")).to_have_count(4)
    neck = graph.locator("svg g.bottleneck")
    expect(neck).to_have_count(1)
    expect(neck).to_contain_text("Warehouse")
    expect(page.get_by_test_id("edge-table").locator("tr.bottleneck")).to_contain_text("Warehouse")
    expect(page.get_by_test_id("bottleneck")).to_contain_text("Warehouse")

    # Findings and agreed actions: what made it possible, what will prevent it.
    page.select_option("#id_root_cause", label="Capacity › Demand peak without extra staff")
    page.fill("textarea[name=description] >> nth=0", "Peak week: one picker for two loading bays.")
    page.select_option("#id_sector", label="Warehouse")
    page.click("text=Record the finding")
    expect(page.get_by_test_id("findings")).to_contain_text("Peak week: one picker for two loading bays.")
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    action_form = page.locator("form[action$='/actions/']")
    action_form.locator("textarea[name=description]").fill("Temporary pickers booked for peak weeks.")
    action_form.locator("select[name=owner_sector]").select_option(label="Warehouse")
    action_form.locator("input[name=due_on]").fill(due)
    page.click("text=Agree the action")
    expect(page.locator(".messages")).to_contain_text("Corrective action agreed.")
    actions = page.get_by_test_id("actions")
    expect(actions).to_contain_text("Temporary pickers booked for peak weeks.")
    expect(actions).to_contain_text("Warehouse")
    expect(graph.locator("svg g.bottleneck")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "late-delivery-review.png"), full_page=True)

    # ---- The cost of the complaint (steward.costs).
    # Rates from 1 March 2026 (the case ran on 2 March): warehouse 30.00, logistics 40.00, billing 48.00
    # an hour; the front desk's 36.00 is typed in by the manager on the rates page.
    for sector, minor in ((chain.warehouse, 3000), (chain.logistics, 4000), (chain.billing, 4800)):
        rate_set(
            actor=personas.manager, sector=sector, effective_from=date(2026, 3, 1), hourly_rate_minor=minor
        )
    page.goto(f"{base}/en/costs/rates/")
    expect(page.locator("[data-sector='Front desk']")).to_contain_text("No rate")
    page.select_option("#id_sector", label="Front desk")
    page.fill("#id_effective_from", "2026-03-01")
    page.fill("#id_hourly_rate", "36")
    page.click("text=Save the rate")
    expect(page.locator("[data-sector='Front desk'] td[data-col='rate']")).to_have_text("36.00 EUR")

    # The adviser offered an 80.00 goodwill gesture: above the 50.00 limit, so the manager approves it.
    compensation_request(
        actor=personas.adviser,
        case=log.case,
        kind="goodwill",
        amount_minor=8000,
        currency="EUR",
        reason="Parcel a week late: a voucher.",
    )
    # The review meeting: four people from the chain for an hour.
    page.goto(f"{base}/en/costs/meetings/")
    page.select_option("#id_review", label="Parcel a week late")
    page.fill("#id_duration_minutes", "60")
    page.select_option("#id_participants", label=["Adviser", "Warehouse1", "Logistics1", "Billing1"])
    page.click("text=Record the meeting")
    expect(page.locator(".messages")).to_contain_text("Review meeting recorded.")

    page.goto(f"{base}/en/cases/{log.case.pk}/")
    comp = page.get_by_test_id("case-compensation")
    expect(comp).to_contain_text("Waiting for a manager's approval")
    comp.locator("select[name=decision]").select_option("approve")
    comp.locator("text=Decide").click()
    expect(page.locator(".messages")).to_contain_text("Decision recorded.")
    expect(page.locator(".timeline")).to_contain_text("Compensation approved")

    cost = page.get_by_test_id("case-cost")
    staff = page.get_by_test_id("case-cost-staff")
    # Work logged: warehouse 30 min × 30.00/h, logistics 60 min × 40.00/h, billing 20 min × 48.00/h.
    expect(staff.locator("tr[data-sector='Warehouse'] td[data-col='cost']")).to_have_text("15.00 EUR")
    expect(staff.locator("tr[data-sector='Logistics'] td[data-col='cost']")).to_have_text("40.00 EUR")
    expect(staff.locator("tr[data-sector='Billing'] td[data-col='cost']")).to_have_text("16.00 EUR")
    # Front desk: two replies (the first answer and the proposed solution) × 6 standard minutes × 36.00/h.
    expect(staff.locator("tr.estimated[data-sector='Front desk'] td[data-col='cost']")).to_have_text(
        "7.20 EUR"
    )
    # Review: 4 people × 60 min at 36 + 30 + 40 + 48 = 154.00.
    expect(page.get_by_test_id("case-cost-review").locator("td[data-col='cost']")).to_have_text("154.00 EUR")
    expect(page.get_by_test_id("case-cost-compensation")).to_have_text("80.00 EUR")
    # 15 + 40 + 16 + 7.20 + 154 + 80 = 312.20, every line costed (no "cost unknown").
    expect(page.get_by_test_id("case-cost-total")).to_have_text("312.20 EUR")
    expect(cost).not_to_contain_text("cost unknown")
    # The expected churn loss is the economics part: its slot is there, not yet estimated.
    expect(page.get_by_test_id("case-cost-churn")).to_be_visible()
    page.screenshot(path=str(tmp_path / "late-delivery-cost.png"), full_page=True)
