"""Customer portal in a real browser: magic-link sign-in, owner and next step, a message, confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.cases.models import Status
from steward.cases.services import case_open, case_propose_solution, commitment_set
from steward.customers.services import customer_create

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_customer_signs_in_by_link_follows_the_case_and_confirms(
    live_server, page: Page, personas, settings, tmp_path
):
    settings.STEWARD_BASE_URL = live_server.url
    cache.clear()  # throttle counters
    customer = customer_create(actor=None, name="Ana Lopez", email="ana@example.com", language="en")
    case = case_open(
        actor=personas.adviser,
        customer=customer,
        subject="Router keeps restarting",
        description="It restarts every hour.",
        owner=personas.adviser,
    )
    commitment_set(
        actor=personas.adviser,
        case=case,
        description="Send a replacement router",
        due_at=timezone.now() + timedelta(days=2),
    )

    # The "case received" mail links to the case itself; signed out, the portal asks to sign in first.
    to_ana = " ".join(str(m.body) for m in mail.outbox if m.to == ["ana@example.com"])
    case_link = re.search(r"https?://\S+/portal/cases/[\w-]+/", to_ana)
    assert case_link is not None, to_ana
    page.goto(case_link.group(0))
    page.fill("input[name=email]", "ana@example.com")
    page.click("button.p-primary")
    expect(page.get_by_test_id("sign-in-sent")).to_be_visible()
    link = re.search(r"https?://\S+/sign-in/link/\S+/", str(mail.outbox[-1].body))
    assert link is not None
    page.goto(link.group(0))
    page.click("button.p-primary")  # the link page asks for a click: mail scanners only GET

    expect(page).to_have_url(case_link.group(0))  # straight back to the case the mail was about
    expect(page.get_by_test_id("owner")).to_have_text("Adviser (Adviser)")
    expect(page.get_by_test_id("next-step")).to_contain_text("Send a replacement router")

    page.fill("textarea[name=body]", "It restarted twice this morning.")
    page.click("text=Send message")
    expect(page.locator(".p-conversation")).to_contain_text("It restarted twice this morning.")

    case_propose_solution(actor=personas.adviser, case=case, solution="A new router was delivered.")
    page.reload()
    expect(page.locator(".p-conversation")).to_contain_text("A new router was delivered.")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(tmp_path / "portal-proposed-phone.png"), full_page=True)
    page.click("text=Yes, it is solved")
    expect(page.get_by_test_id("case-status")).to_have_text("Solved and closed")
    case.refresh_from_db()
    assert case.status == Status.CLOSED
