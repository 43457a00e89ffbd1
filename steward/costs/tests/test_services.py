"""Rates, compensation approval, currencies, cost entries, overrides and review meetings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from steward.cases.models import CaseEvent
from steward.core.errors import DomainError, NotPermitted
from steward.reviews.services import review_open
from steward.testing import make_user

from .. import events
from ..models import CompensationState, CostCategory, CostEntry, EntryKind, LineSource
from ..money import book, fx_rates, parse_major
from ..selectors import ledger_lines, ledger_totals
from ..services import (
    compensation_decide,
    compensation_request,
    compute_loaded_rate,
    cost_entry_create,
    cost_entry_delete,
    cost_entry_update,
    line_override,
    rate_set,
    review_meeting_record,
)
from .helpers import at, complaint, rate, task, work

pytestmark = pytest.mark.django_db

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture(autouse=True)
def _money_settings(settings):
    settings.STEWARD_CURRENCY = "EUR"
    settings.STEWARD_FX_RATES = "USD:0.92,JPY:0.0062"
    settings.STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR = 5000
    settings.STEWARD_CONTACT_MINUTES = "reply:6,note:2,handoff:5"


# ----------------------------------------------------------------------------- loaded rates


def test_loaded_rate_is_total_cost_over_productive_hours():
    # (3,000.00 + 600.00 + 400.00 + 1,000.00) / 125 h = 40.00 an hour
    assert (
        compute_loaded_rate(
            wages_minor=300000,
            employer_taxes_minor=60000,
            benefits_minor=40000,
            overhead_minor=100000,
            productive_hours=Decimal("125"),
        )
        == 4000
    )
    # 1,000.00 / 3 h = 333.333… → 333.33 (half up)
    assert (
        compute_loaded_rate(
            wages_minor=100000, employer_taxes_minor=0, benefits_minor=0, overhead_minor=0, productive_hours=3
        )
        == 33333
    )


@pytest.mark.parametrize("hours", [0, -5, "0.00"])
def test_productive_hours_of_zero_or_less_is_a_clear_error(hours):
    with pytest.raises(DomainError) as exc:
        compute_loaded_rate(
            wages_minor=1, employer_taxes_minor=1, benefits_minor=1, overhead_minor=1, productive_hours=hours
        )
    assert exc.value.field == "productive_hours"


def test_rate_set_from_costs_keeps_its_inputs(personas):
    r = rate_set(
        actor=personas.manager,
        sector=personas.billing,
        effective_from=date(2026, 3, 1),
        wages_minor=300000,
        employer_taxes_minor=60000,
        benefits_minor=40000,
        overhead_minor=100000,
        productive_hours="125",
    )
    assert (r.hourly_rate_minor, r.currency, r.productive_hours, r.wages_minor) == (
        4000,
        "EUR",
        Decimal("125.00"),
        300000,
    )


def test_only_managers_set_rates(personas):
    for who in (personas.adviser, personas.sector_member, personas.executive):
        with pytest.raises(NotPermitted):
            rate_set(
                actor=who, sector=personas.billing, effective_from=date(2026, 3, 1), hourly_rate_minor=5000
            )


def test_a_rate_in_another_currency_is_refused(personas):
    with pytest.raises(DomainError) as exc:
        rate_set(
            actor=personas.manager,
            sector=personas.billing,
            effective_from=date(2026, 3, 1),
            hourly_rate_minor=5000,
            currency="USD",
        )
    assert exc.value.field == "currency"


def test_a_new_rate_may_not_rewrite_days_already_costed(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-05", 30)

    with pytest.raises(DomainError) as exc:
        rate(p, p.billing, "2026-03-05", 9000)  # would reprice the 5th
    assert exc.value.code == "rewrites_past"
    rate(p, p.billing, "2026-03-06", 9000)  # from the next day on is fine
    with pytest.raises(DomainError):
        rate(p, p.billing, "2026-03-06", 9100)  # one rate a day; rates are not edited
    assert [ln.amount_minor for ln in ledger_lines(*MARCH) if ln.source == "work_log"] == [3000]


def test_a_rate_before_the_first_only_fills_in_unknown_costs(personas):
    p = personas
    rate(p, p.billing, "2026-03-10", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-05", 30)
    assert [ln.amount_minor for ln in ledger_lines(*MARCH) if ln.source == "work_log"] == [None]

    rate(p, p.billing, "2026-03-01", 5000)

    assert [ln.amount_minor for ln in ledger_lines(*MARCH) if ln.source == "work_log"] == [2500]


# ----------------------------------------------------------------------------- compensation


def _events(case):
    return list(
        CaseEvent.objects.filter(case=case, kind__startswith="compensation_").values_list("kind", "actor")
    )


def test_compensation_within_the_limit_is_approved_at_once_on_the_requesters_authority(personas):
    p = personas
    c = compensation_request(
        actor=p.adviser,
        case=p.case,
        kind="goodwill",
        amount_minor=5000,
        currency="EUR",
        reason="Late parcel.",
    )
    assert (c.state, c.approved_by, c.needs_approval) == (CompensationState.APPROVED, p.adviser, False)
    assert _events(p.case) == [
        (events.COMPENSATION_REQUESTED, p.adviser.pk),
        (events.COMPENSATION_APPROVED, p.adviser.pk),
    ]


def test_compensation_above_the_limit_waits_for_a_manager_who_is_not_the_requester(personas):
    p = personas
    other_manager = make_user("manager2", role="manager")
    c = compensation_request(
        actor=p.adviser,
        case=p.case,
        kind="refund",
        amount_minor=5001,
        currency="EUR",
        reason="Broken on arrival.",
    )
    assert (c.state, c.approved_by, c.needs_approval) == (CompensationState.PENDING, None, True)
    assert [
        ln for ln in ledger_lines(date(2020, 1, 1), date(2030, 1, 1)) if ln.source == "compensation"
    ] == []

    for who in (p.adviser, p.sector_member, p.executive):
        with pytest.raises(NotPermitted):
            compensation_decide(actor=who, compensation=c, approve=True)

    c = compensation_decide(actor=p.manager, compensation=c, approve=True, note="Fair.")
    assert (c.state, c.approved_by) == (CompensationState.APPROVED, p.manager)
    with pytest.raises(DomainError):
        compensation_decide(actor=other_manager, compensation=c, approve=False, note="Too late.")
    assert _events(p.case) == [
        (events.COMPENSATION_REQUESTED, p.adviser.pk),
        (events.COMPENSATION_APPROVED, p.manager.pk),
    ]
    # No amount in the case's event log: advisers and the API read it.
    assert all("amount" not in str(e.data) for e in CaseEvent.objects.filter(case=p.case))


def test_a_manager_cannot_approve_their_own_request(personas):
    p = personas
    c = compensation_request(
        actor=p.manager, case=p.case, kind="credit", amount_minor=20000, currency="EUR", reason="Two months."
    )
    with pytest.raises(NotPermitted):
        compensation_decide(actor=p.manager, compensation=c, approve=True)


def test_a_rejection_needs_a_reason_and_books_nothing(personas):
    p = personas
    c = compensation_request(
        actor=p.adviser, case=p.case, kind="refund", amount_minor=9000, currency="EUR", reason="Asked for it."
    )
    with pytest.raises(DomainError):
        compensation_decide(actor=p.manager, compensation=c, approve=False)
    c = compensation_decide(actor=p.manager, compensation=c, approve=False, note="Already credited.")
    assert (c.state, c.rejected_by, c.approved_by) == (CompensationState.REJECTED, p.manager, None)
    assert _events(p.case)[-1] == (events.COMPENSATION_REJECTED, p.manager.pk)
    assert [
        ln for ln in ledger_lines(date(2020, 1, 1), date(2030, 1, 1)) if ln.source == "compensation"
    ] == []


def test_only_people_who_act_on_the_case_request_compensation(personas):
    p = personas
    for who in (p.other_adviser, p.sector_member, p.executive):
        with pytest.raises(NotPermitted):
            compensation_request(
                actor=who, case=p.case, kind="refund", amount_minor=100, currency="EUR", reason="x"
            )


@pytest.mark.parametrize(
    ("amount", "currency", "booked", "rate"),
    [
        (1000, "USD", 920, Decimal("0.92")),  # 10.00 USD × 0.92 = 9.20 EUR
        (1000, "JPY", 620, Decimal("0.0062")),  # 1000 JPY (no decimals) × 0.0062 = 6.20 EUR
        (1234, "EUR", 1234, None),
    ],
)
def test_other_currencies_are_converted_at_booking_with_the_rate_kept(
    personas, amount, currency, booked, rate
):
    c = compensation_request(
        actor=personas.adviser,
        case=personas.case,
        kind="refund",
        amount_minor=amount,
        currency=currency,
        reason="x",
    )
    assert (c.amount_minor, c.currency, c.original_amount_minor, c.original_currency, c.fx_rate) == (
        booked,
        "EUR",
        amount,
        currency,
        rate,
    )


def test_a_currency_without_a_configured_rate_is_refused_clearly(personas, settings):
    with pytest.raises(DomainError) as exc:
        compensation_request(
            actor=personas.adviser,
            case=personas.case,
            kind="refund",
            amount_minor=1000,
            currency="THB",
            reason="x",
        )
    assert exc.value.field == "currency" and "THB" in str(exc.value.message)


def test_the_approval_limit_applies_to_the_converted_amount(personas):
    # 55.00 USD = 50.60 EUR > 50.00 EUR
    c = compensation_request(
        actor=personas.adviser,
        case=personas.case,
        kind="refund",
        amount_minor=5500,
        currency="USD",
        reason="x",
    )
    assert c.state == CompensationState.PENDING


def test_fx_settings_are_parsed_strictly(settings):
    settings.STEWARD_FX_RATES = "USD:0.92, thb:0.026"
    assert fx_rates() == {"USD": Decimal("0.92"), "THB": Decimal("0.026")}
    for bad in ("USD=0.92", "USD:-1", "US:1", "USD:abc"):
        settings.STEWARD_FX_RATES = bad
        with pytest.raises(ImproperlyConfigured):
            fx_rates()


def test_amounts_are_parsed_in_the_currencys_minor_units():
    assert parse_major("12.50", "EUR") == 1250
    assert parse_major("1000", "JPY") == 1000
    with pytest.raises(DomainError):
        parse_major("12.505", "EUR")
    with pytest.raises(DomainError):
        book(0, "EUR")


# ----------------------------------------------------------------------------- entries, overrides


def test_cost_entries_are_classified_by_kind_and_other_needs_a_category(personas):
    p = personas
    training = cost_entry_create(
        actor=p.manager,
        incurred_on=date(2026, 3, 3),
        kind=EntryKind.TRAINING,
        description="Course for advisers",
        amount_minor=80000,
        currency="EUR",
        at=at("2026-03-04"),
    )
    survey = cost_entry_create(
        actor=p.manager,
        incurred_on=date(2026, 3, 4),
        kind=EntryKind.SURVEY_PROGRAMME,
        description="Survey tool",
        amount_minor=10000,
        currency="USD",
        at=at("2026-03-04"),
    )
    with pytest.raises(DomainError) as exc:
        cost_entry_create(
            actor=p.manager,
            incurred_on=date(2026, 3, 4),
            kind=EntryKind.OTHER,
            description="Misc",
            amount_minor=100,
            currency="EUR",
            at=at("2026-03-04"),
        )
    assert exc.value.field == "category"
    other = cost_entry_create(
        actor=p.manager,
        incurred_on=date(2026, 3, 4),
        kind=EntryKind.OTHER,
        category=CostCategory.INTERNAL_FAILURE,
        description="Scrap",
        amount_minor=100,
        currency="EUR",
        at=at("2026-03-04"),
    )
    assert (training.category, survey.category, survey.amount_minor, other.category) == (
        CostCategory.PREVENTION,
        CostCategory.APPRAISAL,
        9200,
        CostCategory.INTERNAL_FAILURE,
    )
    lines = {ln.source_id: (ln.rule, ln.category, ln.amount_minor) for ln in ledger_lines(*MARCH)}
    assert lines == {
        training.pk: ("P-TRAINING", "prevention", 80000),
        survey.pk: ("A-SURVEY", "appraisal", 9200),
        other.pk: ("M-ENTRY", "internal_failure", 100),
    }
    totals = {t.key[0]: t.amount_minor for t in ledger_totals(*MARCH)}
    assert totals == {"prevention": 80000, "appraisal": 9200, "internal_failure": 100}


def test_future_costs_and_non_managers_are_refused(personas):
    p = personas
    with pytest.raises(DomainError):
        cost_entry_create(
            actor=p.manager,
            incurred_on=date(2026, 3, 5),
            kind=EntryKind.AUDIT,
            description="Audit",
            amount_minor=100,
            currency="EUR",
            at=at("2026-03-04"),
        )
    with pytest.raises(NotPermitted):
        cost_entry_create(
            actor=p.executive,
            incurred_on=date(2026, 3, 1),
            kind=EntryKind.AUDIT,
            description="Audit",
            amount_minor=100,
            currency="EUR",
            at=at("2026-03-04"),
        )


def test_editing_an_entry_keeps_its_conversion_unless_the_amount_changes(personas, settings):
    p = personas
    e = cost_entry_create(
        actor=p.manager,
        incurred_on=date(2026, 3, 3),
        kind=EntryKind.AUDIT,
        description="Audit",
        amount_minor=10000,
        currency="USD",
        at=at("2026-03-04"),
    )
    settings.STEWARD_FX_RATES = "USD:1.50"
    e = cost_entry_update(
        actor=p.manager,
        entry=e,
        incurred_on=date(2026, 3, 3),
        kind=EntryKind.AUDIT,
        description="External audit",
        amount_minor=10000,
        currency="USD",
        at=at("2026-03-05"),
    )
    assert (e.amount_minor, e.fx_rate, e.description) == (9200, Decimal("0.92"), "External audit")
    e = cost_entry_update(
        actor=p.manager,
        entry=e,
        incurred_on=date(2026, 3, 3),
        kind=EntryKind.AUDIT,
        description="External audit",
        amount_minor=20000,
        currency="USD",
        at=at("2026-03-05"),
    )
    assert (e.amount_minor, e.fx_rate) == (30000, Decimal("1.5"))
    cost_entry_delete(actor=p.manager, entry=e)
    assert not CostEntry.objects.exists()


def test_an_override_changes_the_category_keeps_the_rule_and_records_who_and_why(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    log = work(t, p.sector_member, "2026-03-03", 30)

    o = line_override(
        actor=p.manager,
        source=LineSource.WORK_LOG,
        source_id=log.pk,
        category=CostCategory.APPRAISAL,
        reason="This was the monthly QA check.",
        at=at("2026-03-10"),
    )
    (line,) = [ln for ln in ledger_lines(*MARCH) if ln.source == "work_log"]
    assert (line.rule, line.category, line.overridden) == ("EF-COMPLAINT", "appraisal", True)
    assert (o.actor, o.created_at) == (p.manager, at("2026-03-10"))

    line_override(
        actor=p.manager,
        source=LineSource.WORK_LOG,
        source_id=log.pk,
        category=CostCategory.INTERNAL_FAILURE,
        reason="Actually rework.",
        at=at("2026-03-11"),
    )
    (line,) = [ln for ln in ledger_lines(*MARCH) if ln.source == "work_log"]
    assert line.category == "internal_failure"  # the latest override applies


def test_overrides_need_a_manager_a_reason_and_an_existing_line(personas):
    p = personas
    with pytest.raises(NotPermitted):
        line_override(actor=p.executive, source="work_log", source_id=1, category="appraisal", reason="x")
    with pytest.raises(DomainError):
        line_override(actor=p.manager, source="work_log", source_id=999999, category="appraisal", reason="x")
    c = compensation_request(
        actor=p.adviser, case=p.case, kind="refund", amount_minor=100, currency="EUR", reason="x"
    )
    with pytest.raises(DomainError):
        line_override(
            actor=p.manager, source="compensation", source_id=c.pk, category="appraisal", reason=" "
        )
    with pytest.raises(DomainError):
        line_override(actor=p.manager, source="compensation", source_id=c.pk, category="bogus", reason="x")


# ----------------------------------------------------------------------------- review meetings


def test_review_meeting_time_is_participants_times_duration_at_each_sector_rate(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)  # 60.00
    rate(p, p.front_desk, "2026-03-01", 3000)  # 30.00
    case = complaint(p)
    review = review_open(actor=p.manager, title="Late parcel", case=case)
    review_meeting_record(
        actor=p.manager,
        review=review,
        held_on=date(2026, 3, 6),
        duration_minutes=45,
        participants=[p.adviser, p.sector_member, p.manager],  # the manager has no sector
        at=at("2026-03-06", 16),
    )
    lines = sorted(
        ((ln.sector_id or 0), ln.minutes, ln.amount_minor, ln.rule, ln.category)
        for ln in ledger_lines(*MARCH)
        if ln.source == "review"
    )
    assert lines == sorted(
        [
            (p.front_desk.pk, 45, 2250, "IF-REVIEW", "internal_failure"),
            (p.billing.pk, 45, 4500, "IF-REVIEW", "internal_failure"),
            (0, 45, None, "IF-REVIEW", "internal_failure"),
        ]
    )


def test_a_meeting_needs_people_a_sane_duration_and_a_manager(personas):
    p = personas
    review = review_open(actor=p.manager, title="Late parcel", case=p.case)
    with pytest.raises(DomainError):
        review_meeting_record(
            actor=p.manager,
            review=review,
            held_on=date(2026, 3, 6),
            duration_minutes=0,
            participants=[p.adviser],
        )
    with pytest.raises(DomainError):
        review_meeting_record(
            actor=p.manager, review=review, held_on=date(2026, 3, 6), duration_minutes=30, participants=[]
        )
    with pytest.raises(NotPermitted):
        review_meeting_record(
            actor=p.adviser,
            review=review,
            held_on=date(2026, 3, 6),
            duration_minutes=30,
            participants=[p.adviser],
        )


def test_seed_demo_books_rates_compensation_entries_and_a_review_meeting(monkeypatch, settings):
    from django.core.management import call_command
    from django.utils import timezone

    from ..models import Compensation, ReviewMeeting, SectorRate

    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", cases=60, customers=20, seed=3)
    assert SectorRate.objects.count() == 7  # six sectors, billing twice
    assert Compensation.objects.exists() and CostEntry.objects.count() > 10
    assert ReviewMeeting.objects.count() == 1
    today = timezone.localdate()
    lines = ledger_lines(today.replace(year=today.year - 1), today)
    assert {ln.source for ln in lines} >= {"work_log", "reply", "entry", "review"}
    # Every sector has a rate, so only the manager's meeting time (no sector) is cost unknown.
    assert {ln.source for ln in lines if ln.amount_minor is None} == {"review"}


def test_a_cost_entry_of_a_sector_does_not_block_a_new_rate(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    cost_entry_create(
        actor=p.manager,
        incurred_on=date(2026, 3, 10),
        kind=EntryKind.TRAINING,
        description="Billing course",
        amount_minor=5000,
        currency="EUR",
        sector=p.billing,
        at=at("2026-03-11"),
    )
    assert rate(p, p.billing, "2026-03-05", 6500).hourly_rate_minor == 6500


def test_one_ledger_line_is_found_by_source_and_id(personas):
    from ..selectors import ledger_line

    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    log = work(t, p.sector_member, "2026-03-03", 30)
    line = ledger_line("work_log", log.pk)
    assert line is not None and (line.amount_minor, line.rule) == (3000, "EF-COMPLAINT")
    assert ledger_line("work_log", log.pk + 1000) is None
    assert ledger_line("bogus", log.pk) is None
