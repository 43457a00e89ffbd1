"""Release scenario "Training day" (issue 8, domain.md essay 1) in a real browser.

A manager proposes sending all account executives (a team of advisers who back each other up) to a
one-day course. The assessment shows the customers, open cases and due next steps left without an
owner, the expected contacts against the remaining capacity and the expected dissatisfaction cost; the
mitigation (backups with full access, customers told in advance) and the alternative (two groups on two
days) are compared side by side; the manager answers the four questions, approves the alternative and
carries out the action plan in one step (handoffs with summaries, customers written to through the
outbox); after the two days (Steward's clock moved past the window), predicted against actual.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from steward.accounts.models import Absence
from steward.cases.models import Handoff
from steward.core import timeutil
from steward.decisions import demo
from steward.decisions.models import Decision, DecisionState
from steward.notifications.models import OutboundMail
from tests.e2e.test_handoff_scenario import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_training_day_assessed_mitigated_alternative_approved_and_reviewed(
    live_server, page: Page, personas, monkeypatch
):
    data = demo.training_team()
    day1, day2, end = data.day1, data.day1 + timedelta(days=1), data.window_end
    anna, boris, chai, dara = data.executives
    base = live_server.url
    sign_in(page, base, "manager")

    # The register is empty; the manager proposes the course.
    page.goto(f"{base}/en/decisions/")
    expect(page.locator(".empty")).to_contain_text("No decisions yet")
    page.click("text=Propose a decision")
    page.fill("#id_title", "Negotiation course for the account executives")
    page.select_option("#id_kind", "staff_absence")
    page.fill("#id_goal", "Better renewals; one session at the group rate.")
    page.fill("#id_saving", "1200")
    page.fill("#id_window_start", _local(day1))
    page.fill("#id_window_end", _local(end))
    page.select_option("#id_team", label="Account executives")
    page.click("button[type=submit].primary")
    expect(page.locator(".messages")).to_contain_text("Decision created")
    decision = Decision.objects.get()

    # As proposed: the whole team (chosen as a team, stored person by person) away on day 1.
    page.select_option("#id_teams", label="Account executives")
    page.fill("#id_starts_at", _local(day1))
    page.fill("#id_ends_at", _local(day2))
    page.click("text=Add to this scenario")
    expect(page.locator(".messages")).to_contain_text("4 people away")
    expect(page.get_by_test_id("away-periods").locator("tbody tr")).to_have_count(4)

    # The mitigation: same people, backups with full access, customers told in advance.
    page.goto(f"{base}/en/decisions/{decision.pk}/")
    page.click("text=Add a scenario")
    form = page.get_by_test_id("new-scenario")
    form.locator("#id_name").fill("With backups and customers told")
    form.locator("#id_kind").select_option("mitigated")
    form.locator("input[value=backups_full_access]").check()
    form.locator("input[value=notify_in_advance]").check()
    form.locator("#id_copy_from").select_option(label="As proposed")
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Scenario added")
    expect(page.get_by_test_id("away-periods").locator("tbody tr")).to_have_count(4)
    # The whole team is away together: colleagues of the front office cover them, with full access.
    for person, cover in zip(data.executives, data.cover * 2, strict=True):
        page.select_option("#id_user", str(person.pk))
        page.select_option("#id_backup", str(cover.pk))
        page.click("text=Set backup for this scenario")
        expect(page.locator(".messages")).to_contain_text("Backup saved")

    # The alternative: two groups on two days, customers told in advance.
    page.goto(f"{base}/en/decisions/{decision.pk}/")
    page.click("text=Add a scenario")
    form = page.get_by_test_id("new-scenario")
    form.locator("#id_name").fill("Two groups on two days")
    form.locator("#id_kind").select_option("alternative")
    form.locator("input[value=notify_in_advance]").check()
    form.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Scenario added")
    for group, start, stop in (((anna, boris), day1, day2), ((chai, dara), day2, end)):
        page.select_option("#id_users", [str(u.pk) for u in group])
        page.fill("#id_starts_at", _local(start))
        page.fill("#id_ends_at", _local(stop))
        page.click("text=Add to this scenario")
        expect(page.locator(".messages")).to_contain_text("2 people away")
    # One person cannot be away twice at once in a scenario: refused clearly.
    page.select_option("#id_users", [str(anna.pk)])
    page.fill("#id_starts_at", _local(day1 + timedelta(hours=2)))
    page.fill("#id_ends_at", _local(day1 + timedelta(hours=4)))
    page.click("text=Add to this scenario")
    expect(page.locator(".field-error, .errorlist, [role=alert]").first).to_contain_text("Already away")

    # Assess: the three scenarios side by side on the same figures.
    page.goto(f"{base}/en/decisions/{decision.pk}/")
    page.get_by_test_id("assess").click()
    expect(page.locator(".messages")).to_contain_text("3 scenarios assessed")
    expect(page.get_by_test_id("decision-state")).to_have_text("Assessed")
    comparison = page.get_by_test_id("comparison")
    for name in ("As proposed", "With backups and customers told", "Two groups on two days"):
        expect(comparison.locator("thead")).to_contain_text(name)
    gaps = comparison.get_by_test_id("gaps-count")
    expect(gaps.nth(0)).to_have_text("8")  # every case of the team: owner and backup away together
    expect(gaps.nth(1)).to_have_text("0")  # backups with full access cover them all
    expect(comparison.get_by_test_id("cost").nth(0)).to_contain_text("EUR")
    expect(comparison).to_contain_text("Expected dissatisfied customers")
    # Who is left without an owner, with links to each case and customer.
    gaps_table = page.get_by_test_id("gaps")
    expect(gaps_table.locator("tbody tr")).to_have_count(8)
    expect(gaps_table.locator(f"a[href$='/cases/{data.cases[0].pk}/']")).to_be_visible()
    expect(page.get_by_test_id("due").locator("li")).to_have_count(4)
    expect(page.get_by_test_id("affected")).to_contain_text("Owner away")
    expect(page.locator("#capacity")).to_contain_text("Expected contacts against remaining capacity")

    # Approval needs the four questions.
    page.locator("#id_scenario").select_option(label="Two groups on two days")
    page.click("text=Approve this scenario")
    expect(page.locator(".messages")).to_contain_text("Answer each of the four questions")
    page.click("text=Edit and answer the four questions")
    for field, answer in demo.ANSWERS.items():
        page.fill(f"#id_{field}", answer)
    page.click("button[type=submit].primary")
    expect(page.locator(".messages")).to_contain_text("Decision saved")
    expect(page.get_by_test_id("decision-state")).to_have_text("Assessed")
    expect(page.get_by_test_id("answers")).to_contain_text("Two groups on two days keeps half")

    page.locator("#id_scenario").select_option(label="Two groups on two days")
    page.click("text=Approve this scenario")
    expect(page.locator(".messages")).to_contain_text("Decision approved")
    expect(page.get_by_test_id("decision-state")).to_have_text("Approved")
    assert Absence.objects.filter(user__in=data.executives).count() == 4

    # The action plan in one step, behind a confirmation; the second run does nothing twice.
    handoffs, mails = Handoff.objects.count(), OutboundMail.objects.count()
    page.get_by_test_id("carry-out").locator("summary").click()
    page.click("text=Yes, carry it out")
    expect(page.locator(".messages")).to_contain_text("Action plan carried out")
    expect(page.get_by_test_id("plan-done")).to_be_visible()
    assert Handoff.objects.count() > handoffs
    assert OutboundMail.objects.count() > mails
    for handoff in Handoff.objects.order_by("pk")[handoffs:]:
        assert "away for the decision" in handoff.done_so_far
    page.click("text=Mark in effect")
    expect(page.get_by_test_id("decision-state")).to_have_text("In effect")

    # After the two days: predicted against actual.
    real_now = timeutil.now
    monkeypatch.setattr(timeutil, "now", lambda: real_now() + (end - real_now()) + timedelta(hours=1))
    page.fill("#id_note", "Half the team each day: nobody waited for a call back.")
    page.click("text=Measure and review")
    expect(page.locator(".messages")).to_contain_text("predicted against actual is recorded")
    expect(page.get_by_test_id("decision-state")).to_have_text("Reviewed")
    review = page.get_by_test_id("review")
    expect(review).to_contain_text("Contacts")
    expect(review).to_contain_text("Affected customers")
    decision.refresh_from_db()
    assert decision.state == DecisionState.REVIEWED
    assert decision.review.results["contacts"]["predicted"] is not None
