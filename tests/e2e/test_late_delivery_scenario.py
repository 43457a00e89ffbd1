"""Release scenario "Late delivery" (idea 3) in a real browser.

A delivery-delay complaint passes through front desk, warehouse, logistics and billing. A manager
opens a blameless review of it: the page shows each sector's target against its actual time, the
process map (Graphviz SVG drawn in the browser) with the bottleneck marked, and the agreed actions.

The case is played through the real services (steward/analytics/tests/logs.py): the front desk
hands tasks to the warehouse, logistics and billing with `task_create`, their members take, work and
complete them, and "on time" is judged against each task's business-calendar due date.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.accounts.models import Role
from steward.analytics.tests.logs import late_delivery_case, value_chain
from steward.cases.models import SectorTask, TaskState
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
