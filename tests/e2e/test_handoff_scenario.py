"""Release scenario (idea 2) in a real browser: two advisers hand a case over with a summary."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from steward.testing import DONE, NEED, PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/en/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator(".me")).to_be_visible()


def sign_out(page: Page) -> None:
    page.click("text=Sign out")
    expect(page.locator("#id_username")).to_be_visible()


def test_two_advisers_hand_over_and_the_case_stays_open_until_confirmed(
    live_server, page: Page, personas, tmp_path
):
    case, base = personas.case, live_server.url
    sign_in(page, base, "adviser")
    page.goto(f"{base}/en/cases/{case.pk}/")
    expect(page.get_by_test_id("owner")).to_have_text("Adviser")

    page.fill("#id_body", "We are checking your phone's warranty now.")
    page.click("text=Send reply")
    expect(page.locator(".messages")).to_contain_text("Reply sent")

    page.click("summary:has-text('Hand over')")
    page.select_option("select[name=to_user]", str(personas.other_adviser.pk))
    page.fill("textarea[name=customer_need]", NEED)
    page.fill("textarea[name=done_so_far]", DONE)
    page.click("text=Hand over with this summary")
    expect(page.locator(".messages")).to_contain_text("handed over")
    expect(page.get_by_test_id("owner")).to_have_text("Other")
    sign_out(page)

    sign_in(page, base, "other")
    page.goto(f"{base}/en/cases/{case.pk}/")
    summary = page.get_by_test_id("handoff-summary")
    expect(summary).to_contain_text(NEED)
    expect(summary).to_contain_text(DONE)
    history = page.locator(".timeline")
    expect(history).to_contain_text("My new phone stopped charging after two days.")
    expect(history).to_contain_text("We are checking your phone's warranty now.")

    page.click("summary:has-text('Propose a solution')")
    page.fill("textarea[name=solution]", "A replacement phone is ready for you at the store.")
    page.click("text=Propose solution")
    expect(page.get_by_test_id("case-status")).to_have_text("Solution proposed")
    # An adviser cannot close it: only the customer's confirmation, or a manager with a reason.
    expect(page.locator("text=Close unconfirmed")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "proposed.png"), full_page=True)

    page.goto(f"{base}/en/cases/{case.pk}/")
    expect(page.get_by_test_id("case-status")).not_to_have_text(re.compile("Closed"))
    case.refresh_from_db()
    assert case.closed_at is None and case.owner_id == personas.other_adviser.pk


@pytest.mark.parametrize(
    ("lang", "heading"), [("en", "Cases"), ("th", "เคส"), ("ru", "Обращения"), ("es", "Casos")]
)
def test_case_list_renders_in_each_language(live_server, page: Page, personas, lang, heading):
    sign_in(page, live_server.url, "adviser")
    page.goto(f"{live_server.url}/{lang}/cases/")
    expect(page.locator("h1")).to_have_text(heading)
    assert "msgid" not in page.content()
