"""Costs pages: who sees money (managers and executives only), forms, query budgets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from steward.cases.models import Kind
from steward.cases.services import case_reply

from ..models import Compensation, CompensationState, CostEntry, EntryKind, SectorRate
from ..services import compensation_request, cost_entry_create, line_override
from .helpers import at, complaint, rate, task, work

pytestmark = pytest.mark.django_db

MONEY_PAGES = ["costs:ledger", "costs:rates", "costs:entries", "costs:approvals", "costs:meetings"]


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.STEWARD_CURRENCY = "EUR"
    settings.STEWARD_FX_RATES = "USD:0.92"
    settings.STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR = 5000
    settings.STEWARD_CONTACT_MINUTES = "reply:6,note:2,handoff:5"


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.parametrize("name", MONEY_PAGES)
def test_money_pages_do_not_exist_for_advisers_and_sector_members(personas, name):
    for who in (personas.adviser, personas.sector_member, personas.outsider):
        assert _client(who).get(reverse(name)).status_code == 404


@pytest.mark.parametrize("name", MONEY_PAGES)
def test_managers_and_executives_read_money_pages(personas, name):
    for who in (personas.manager, personas.executive):
        assert _client(who).get(reverse(name)).status_code == 200


def test_anonymous_people_are_sent_to_sign_in(personas):
    assert _client(personas.manager).get(reverse("costs:ledger")).status_code == 200
    assert Client().get(reverse("costs:ledger")).status_code == 302


def test_executives_read_but_do_not_write(personas):
    c = _client(personas.executive)
    r = c.post(
        reverse("costs:rates"),
        {"sector": personas.billing.pk, "effective_from": "2026-03-01", "hourly_rate": "50"},
    )
    assert r.status_code == 403
    assert c.get(reverse("costs:entry_new")).status_code == 403
    assert not SectorRate.objects.exists()


def test_manager_adds_a_rate_from_costs_and_sees_its_history(personas):
    c = _client(personas.manager)
    r = c.post(
        reverse("costs:rates"),
        {
            "sector": personas.billing.pk,
            "effective_from": "2026-03-01",
            "wages": "3000",
            "employer_taxes": "600",
            "benefits": "400",
            "overhead": "1000",
            "productive_hours": "125",
        },
    )
    assert r.status_code == 302
    assert SectorRate.objects.get().hourly_rate_minor == 4000
    page = c.get(reverse("costs:rates")).content.decode()
    assert "40.00 EUR" in page


def test_zero_productive_hours_is_a_form_error_not_a_500(personas):
    r = _client(personas.manager).post(
        reverse("costs:rates"),
        {
            "sector": personas.billing.pk,
            "effective_from": "2026-03-01",
            "wages": "3000",
            "employer_taxes": "0",
            "benefits": "0",
            "overhead": "0",
            "productive_hours": "0",
        },
    )
    assert r.status_code == 400
    assert "Productive hours must be greater than zero" in r.content.decode()
    assert not SectorRate.objects.exists()


def test_cost_entry_add_edit_and_delete_with_confirmation(personas):
    c = _client(personas.manager)
    r = c.post(
        reverse("costs:entry_new"),
        {
            "incurred_on": "2026-03-03",
            "kind": EntryKind.TRAINING,
            "description": "Course",
            "amount": "800",
            "currency": "EUR",
        },
    )
    assert r.status_code == 302
    entry = CostEntry.objects.get()
    assert (entry.amount_minor, entry.category) == (80000, "prevention")
    r = c.post(
        reverse("costs:entry_edit", args=[entry.pk]),
        {
            "incurred_on": "2026-03-03",
            "kind": EntryKind.TRAINING,
            "description": "Course day",
            "amount": "800",
            "currency": "EUR",
        },
    )
    assert r.status_code == 302
    confirm = c.get(reverse("costs:entry_delete", args=[entry.pk]))
    assert confirm.status_code == 200 and "Course day" in confirm.content.decode()
    assert CostEntry.objects.exists()
    assert c.post(reverse("costs:entry_delete", args=[entry.pk])).status_code == 302
    assert not CostEntry.objects.exists()


def test_a_refused_currency_is_a_field_error(personas):
    r = _client(personas.manager).post(
        reverse("costs:entry_new"),
        {
            "incurred_on": "2026-03-03",
            "kind": EntryKind.AUDIT,
            "description": "Audit",
            "amount": "800",
            "currency": "THB",
        },
    )
    assert r.status_code == 400
    assert "No conversion rate from THB" in r.content.decode()


def test_adviser_requests_compensation_from_the_case_page_and_never_sees_amounts(personas):
    p = personas
    c = _client(p.adviser)
    r = c.post(
        reverse("costs:compensation_request", args=[p.case.pk]),
        {"kind": "goodwill", "amount": "80", "currency": "EUR", "reason": "A week late."},
    )
    assert r.status_code == 302
    comp = Compensation.objects.get()
    assert comp.state == CompensationState.PENDING
    page = c.get(reverse("cases:detail", args=[p.case.pk])).content.decode()
    assert 'data-testid="case-compensation"' in page and "Goodwill gesture" in page
    assert "80.00" not in page and 'data-testid="case-cost"' not in page
    assert reverse("costs:decide", args=[comp.pk]) not in page


def test_sector_members_see_no_cost_panel_and_cannot_request(personas):
    p = personas
    case = complaint(p, "2026-03-02")
    task(p, case, p.billing, "2026-03-02", p.sector_member)
    c = _client(p.sector_member)
    page = c.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'data-testid="case-cost"' not in page and 'data-testid="case-compensation"' not in page
    r = c.post(
        reverse("costs:compensation_request", args=[case.pk]),
        {"kind": "goodwill", "amount": "1", "currency": "EUR", "reason": "x"},
    )
    assert r.status_code == 403
    assert (
        _client(p.other_adviser).get(reverse("costs:compensation_request", args=[case.pk])).status_code == 404
    )


def test_manager_approves_on_the_case_page(personas):
    p = personas
    comp = compensation_request(
        actor=p.adviser, case=p.case, kind="refund", amount_minor=8000, currency="EUR", reason="Broken."
    )
    c = _client(p.manager)
    page = c.get(reverse("cases:detail", args=[p.case.pk])).content.decode()
    assert reverse("costs:decide", args=[comp.pk]) in page and "80.00 EUR" in page
    r = c.post(
        reverse("costs:decide", args=[comp.pk]), {"decision": "approve", "next": f"/en/cases/{p.case.pk}/"}
    )
    assert r.status_code == 302
    comp.refresh_from_db()
    assert (comp.state, comp.approved_by) == (CompensationState.APPROVED, p.manager)
    page = c.get(reverse("cases:detail", args=[p.case.pk])).content.decode()
    assert "Compensation approved" in page  # the timeline's label for the event


def test_executives_cannot_decide(personas):
    comp = compensation_request(
        actor=personas.adviser,
        case=personas.case,
        kind="refund",
        amount_minor=8000,
        currency="EUR",
        reason="x",
    )
    assert (
        _client(personas.executive)
        .post(reverse("costs:decide", args=[comp.pk]), {"decision": "approve"})
        .status_code
        == 403
    )
    assert (
        _client(personas.adviser)
        .post(reverse("costs:decide", args=[comp.pk]), {"decision": "approve"})
        .status_code
        == 404
    )


def test_ledger_shows_rule_category_unknown_cost_and_override(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    log = work(t, p.sector_member, "2026-03-03", 30)
    line_override(
        actor=p.manager, source="work_log", source_id=log.pk, category="appraisal", reason="QA sample."
    )
    case_reply(actor=p.adviser, case=case, body="On it.", at=at("2026-03-03", 12))  # front desk: no rate
    page = (
        _client(p.manager)
        .get(reverse("costs:ledger"), {"start": "2026-03-01", "end": "2026-03-31"})
        .content.decode()
    )
    assert "EF-COMPLAINT" in page and "30.00 EUR" in page and "QA sample." in page
    assert "cost unknown" in page  # the front desk's handoff/reply time without a rate
    assert (
        _client(p.manager)
        .get(reverse("costs:ledger"), {"start": "2026-03-31", "end": "2026-03-01"})
        .status_code
        == 400
    )


def test_override_page_records_a_reclassification(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    log = work(t, p.sector_member, "2026-03-03", 30)
    c = _client(p.manager)
    assert c.get(reverse("costs:override"), {"source": "work_log", "id": str(log.pk)}).status_code == 200
    r = c.post(
        reverse("costs:override"),
        {"source": "work_log", "source_id": log.pk, "category": "appraisal", "reason": ""},
    )
    assert r.status_code == 400
    r = c.post(
        reverse("costs:override"),
        {"source": "work_log", "source_id": log.pk, "category": "appraisal", "reason": "QA"},
    )
    assert r.status_code == 302
    assert _client(p.executive).post(reverse("costs:override"), {}).status_code == 403


def _grow(p, n: int, day: str) -> None:
    """n more complaints, each with sector work, a reply, a compensation and a cost entry."""
    for i in range(n):
        case = complaint(p, day, subject=f"Late {i}")
        t = task(p, case, p.billing, day, p.sector_member)
        work(t, p.sector_member, day, 10 + i)
        compensation_request(
            actor=p.adviser,
            case=case,
            kind="goodwill",
            amount_minor=500,
            currency="EUR",
            reason="Sorry",
            at=at(day, 12),
        )
        cost_entry_create(
            actor=p.manager,
            incurred_on=date.fromisoformat(day),
            kind=EntryKind.QUALITY_CHECK,
            description=f"QA {i}",
            amount_minor=1000,
            currency="EUR",
            sector=p.billing,
            case=case,
            at=at(day, 13),
        )


@pytest.mark.parametrize("n", [1, 6])
def test_ledger_page_query_budget_is_constant(personas, django_assert_max_num_queries, n):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    _grow(p, n, "2026-03-03")
    c = _client(p.manager)
    with django_assert_max_num_queries(12):
        r = c.get(reverse("costs:ledger"), {"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200


@pytest.mark.parametrize("n", [1, 6])
def test_entries_and_approvals_query_budget_is_constant(personas, django_assert_max_num_queries, n):
    p = personas
    _grow(p, n, "2026-03-03")
    c = _client(p.manager)
    with django_assert_max_num_queries(8):
        assert c.get(reverse("costs:entries")).status_code == 200
    with django_assert_max_num_queries(8):
        assert c.get(reverse("costs:approvals")).status_code == 200
    with django_assert_max_num_queries(8):
        assert c.get(reverse("costs:rates")).status_code == 200


@pytest.mark.parametrize("logs", [1, 8])
def test_case_cost_panel_query_budget_is_constant(personas, django_assert_max_num_queries, logs):
    from ..selectors import case_cost
    from ..templatetags.costs import case_costs

    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p, kind=Kind.COMPLAINT)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    for i in range(logs):
        work(t, p.sector_member, "2026-03-03", 5, hour=9 + i)
        compensation_request(
            actor=p.adviser,
            case=case,
            kind="goodwill",
            amount_minor=100,
            currency="EUR",
            reason="x",
            at=at("2026-03-03", 9 + i),
        )
    # 5: the pending compensations are summed from the panel's list, not read again (issue 9).
    with django_assert_max_num_queries(5):
        panel = case_costs(case, p.manager, True)
    assert panel is not None and panel.cost is not None
    assert panel.cost.staff[0].minutes == 5 * logs and panel.cost.compensation_minor == 100 * logs
    with django_assert_max_num_queries(4):
        case_cost(case.pk)


def test_override_page_of_a_missing_line_is_a_404_and_the_ledger_pages_without_a_period(personas):
    c = _client(personas.manager)
    assert c.get(reverse("costs:override"), {"source": "work_log", "id": "999"}).status_code == 404
    assert c.get(reverse("costs:override"), {"source": "nope", "id": "x"}).status_code == 404
    assert c.get(reverse("costs:ledger"), {"page": "2"}).status_code == 200


def test_rates_page_marks_the_rate_in_force_not_a_future_one(personas):
    from django.utils import timezone

    p = personas
    today = timezone.localdate()
    rate(p, p.billing, (today.replace(day=1) - timedelta(days=40)).isoformat(), 5000)
    rate(p, p.billing, (today + timedelta(days=30)).isoformat(), 6000)
    page = _client(p.manager).get(reverse("costs:rates")).content.decode()
    billing = page[page.index('data-sector="Billing"') :]
    assert billing.index("50.00 EUR") > billing.index("60.00 EUR")  # newest first
    # Rows: the future 60.00 (tagged "future" in its date cell), then the 50.00 in force today.
    assert (
        billing.index("future")
        < billing.index("60.00 EUR")
        < billing.index("in force")
        < billing.index("50.00 EUR")
    )


def test_the_review_page_links_to_recording_its_meeting_and_the_form_records_it(personas):
    from steward.reviews.services import review_open

    from ..models import ReviewMeeting

    p = personas
    review = review_open(actor=p.manager, title="Late parcel", case=p.case)
    c = _client(p.manager)
    page = c.get(reverse("reviews:detail", args=[review.pk])).content.decode()
    assert f"{reverse('costs:meetings')}?review={review.pk}" in page
    form = c.get(reverse("costs:meetings"), {"review": review.pk}).content.decode()
    assert f'<option value="{review.pk}" selected>' in form
    r = c.post(
        reverse("costs:meetings"),
        {
            "review": review.pk,
            "held_on": "2026-03-06",
            "duration_minutes": "45",
            "participants": [p.adviser.pk, p.sector_member.pk],
        },
    )
    assert r.status_code == 302
    meeting = ReviewMeeting.objects.get()
    assert sorted(meeting.participants.values_list("sector_id", flat=True)) == sorted(
        [p.front_desk.pk, p.billing.pk]
    )
    r = c.post(
        reverse("costs:meetings"), {"review": review.pk, "held_on": "2026-03-06", "duration_minutes": "0"}
    )
    assert r.status_code == 400
    executive_page = _client(p.executive).get(reverse("reviews:detail", args=[review.pk])).content.decode()
    assert reverse("costs:meetings") + "?review" not in executive_page


def test_ledger_csv_lists_the_periods_lines_with_unknown_costs_left_empty(personas):
    import csv
    import io

    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-03", 30)
    case_reply(actor=p.adviser, case=case, body="On it.", at=at("2026-03-03", 12))  # front desk: no rate
    r = _client(p.manager).get(reverse("costs:ledger_csv"), {"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))  # type: ignore[attr-defined]
    by_source = {row["source"]: row for row in rows}
    assert (by_source["work_log"]["amount"], by_source["work_log"]["rule"]) == ("30.00", "EF-COMPLAINT")
    assert (by_source["reply"]["amount"], by_source["reply"]["reason"], by_source["reply"]["estimated"]) == (
        "",
        "rate_missing",
        "1",
    )
    assert _client(p.manager).get(reverse("costs:ledger_csv"), {"start": "x"}).status_code == 400
    assert (
        _client(p.adviser)
        .get(reverse("costs:ledger_csv"), {"start": "2026-03-01", "end": "2026-03-31"})
        .status_code
        == 404
    )
