"""Economics selectors on a hand-built economy (economy.py): known answers on SQLite and PostgreSQL,
a fixed number of queries whatever the number of rows."""

from __future__ import annotations

from datetime import date

import pytest

from steward.analytics import economics_selectors as es
from steward.analytics.economics_selectors import Period
from steward.cases.models import Kind
from steward.cases.services import case_open
from steward.customers.services import customer_create, customer_value_set

from .economy import MARCH, at, build_economy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_contact_minutes(settings):
    settings.STEWARD_CONTACT_MINUTES = ""
    settings.STEWARD_CHURN_INACTIVITY_DAYS = 0


@pytest.fixture
def economy(personas):
    return build_economy(personas)


def test_cost_of_quality_by_category_from_the_ledger(economy, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        report = es.cost_of_quality(MARCH)
    c = report.coq
    assert (c.prevention, c.appraisal, c.internal_failure, c.external_failure) == (
        10_000,
        5_000,
        2_000,
        5_500,
    )
    assert c.total == 22_500 and c.conformance == 15_000 and c.nonconformance == 7_500
    assert c.failure_share.value == pytest.approx(1 / 3)
    assert c.to_revenue.value == pytest.approx(0.0225)
    assert report.unknown_lines == 1  # the warehouse's 15 minutes: cost unknown, not 0
    assert report.categories["external_failure"].lines == 3


def test_coq_ratio_is_none_until_every_month_has_revenue(economy):
    two_months = Period(date(2026, 3, 1), date(2026, 5, 1))
    report = es.cost_of_quality(two_months)
    assert report.coq.to_revenue.value is None and report.coq.to_revenue.reason == "revenue_not_entered"
    assert report.revenue_months == 1
    assert report.coq.internal_failure == 9_000  # April's rework entry counts in the two months


def test_trend_by_month_and_the_lines_behind_a_figure(economy):
    trend = es.coq_trend(Period(date(2026, 2, 1), date(2026, 5, 1)))
    assert [m.month for m in trend] == ["2026-02", "2026-03", "2026-04"]
    assert [m.total for m in trend] == [0, 22_500, 7_000]
    assert trend[0].failure_share.value is None and trend[2].failure_share.value == 1.0
    lines, total = es.coq_lines(MARCH, category="external_failure")
    assert total == 3
    assert {(ln.rule, ln.amount_minor) for ln in lines} == {
        ("EF-COMPLAINT", 3_000),
        ("EF-COMPLAINT", None),
        ("EF-COMPENSATION", 2_500),
    }
    assert {ln.case_id for ln in lines} == {economy.a.pk}
    april, n = es.coq_lines(Period(date(2026, 3, 1), date(2026, 5, 1)), month="2026-04")
    assert n == 1 and april[0].amount_minor == 7_000
    page, n = es.coq_lines(MARCH, offset=1, limit=2)
    assert n == 6 and len(page) == 2


def test_customer_base_churn_and_retention(economy):
    base = es.customer_base(MARCH)
    assert (base.at_start, base.new, base.at_end, base.lost) == (2, 1, 2, 1)
    assert base.churn.value == 0.5 and base.retention.value == 0.5


def test_customer_base_is_none_without_customers_at_start(economy):
    base = es.customer_base(Period(date(2020, 1, 1), date(2020, 2, 1)))
    assert base.churn.value is None and base.churn.reason == "no_customers_at_start"


def test_inactivity_rule_loses_customers_without_a_case(personas, settings):
    settings.STEWARD_CHURN_INACTIVITY_DAYS = 30
    quiet = customer_create(actor=None, name="Quiet")
    case_open(actor=personas.adviser, customer=quiet, subject="Q", description="Q", at=at(10, month=2))
    # last case 2026-02-10 + 30 days → lost on 2026-03-12: at the start of March, gone by its end
    base = es.customer_base(MARCH)
    assert (base.at_start, base.lost) == (1, 1)
    settings.STEWARD_CHURN_INACTIVITY_DAYS = 0
    assert es.customer_base(MARCH).lost == 0


def test_cohorts_by_year_acquired(economy):
    c = es.cohorts([2025, 2026])
    rows = {r.year: r for r in c.rows}
    assert rows[2025].customers == 3 and rows[2025].active == (3, 1)
    retained = rows[2025].retention[1]
    assert retained is not None and retained.value == pytest.approx(1 / 3)
    assert rows[2026].active[0] is None  # a cohort is not measured before its year
    assert rows[2026].customers == 2  # Chai and the personas' customer


def test_cohorts_never_lose_customers_in_the_future(personas, settings):
    settings.STEWARD_CHURN_INACTIVITY_DAYS = 30
    c = customer_create(actor=None, name="Recent")
    case_open(actor=personas.adviser, customer=c, subject="Q", description="Q", at=at(20, month=11))
    # the year is not over: judged on 25 November, 5 days after the last case, nobody is lost yet
    rows = {r.year: r for r in es.cohorts([2026], as_of=date(2026, 11, 25)).rows}
    assert rows[2026].active == (rows[2026].customers,)
    # judged at the year's end, 41 days without a case: lost
    rows = {r.year: r for r in es.cohorts([2026]).rows}
    assert rows[2026].active[0] is not None and rows[2026].active[0] < rows[2026].customers


def test_loyalty_economics_known_answers(economy, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        f = es.loyalty(MARCH)
    assert f.margin_minor == 10_000 and f.retention_monthly == 0.5
    assert f.discount_monthly == pytest.approx(0.0079741, abs=1e-7)
    assert f.clv.minor == 9_843 and f.clv_incl_current.minor == 19_843
    assert f.one_point.minor == 383  # 0.5/0.50797 − 0.49/0.51797 = 0.038309 × 10 000
    assert f.cac.minor == 300_000
    # CTS: cost on Ana's and Bo's cases over the customers served (S = 2), Bo leaving mid-March
    assert (f.service_cost_minor, f.service_unknown_lines, f.cts.minor) == (7_500, 1, 3_750)
    assert f.cac_to_cts.value == pytest.approx(80.0)
    assert f.uplift.used_prior and f.uplift.value == 0.05
    assert (f.uplift.dissatisfied.numerator, f.uplift.dissatisfied.denominator) == (1, 2)
    assert f.expected_loss_per_dissatisfied.minor == 492 and f.expected_loss_per_dissatisfied.estimate


def test_customer_margin_overrides_the_assumption(economy):
    customer_value_set(
        actor=None,
        customer=economy.chai,
        acquired_on=date(2026, 3, 5),
        churned_on=None,
        monthly_margin_minor=20_000,
    )
    assert es.loyalty(MARCH).margin_minor == 15_000  # Ana 10 000 (assumed), Chai 20 000


def test_complaint_cost_booked_by_sector_with_the_estimate_apart(economy, django_assert_max_num_queries):
    f = es.loyalty(MARCH)
    with django_assert_max_num_queries(7):
        r = es.complaint_cost(MARCH, loyalty_figures=f)
    assert r.complaints == 1
    by = {s.sector.name if s.sector else "": s for s in r.by_sector}
    assert (by["Billing"].minutes, by["Billing"].amount_minor) == (30, 3_000)
    assert (by["Warehouse"].minutes, by["Warehouse"].amount_minor, by["Warehouse"].unknown_lines) == (
        15,
        0,
        1,
    )
    t = r.total
    assert (t.staff_minor, t.compensation_minor, t.review_minor, t.booked_minor) == (3_000, 2_500, 0, 5_500)
    assert t.rate_missing_minutes == 15 and not t.no_time_logged
    assert r.per_complaint.minor == 5_500
    # Ana's complaint and Bo's dissatisfying request: 5 500 + 2 000 over two customers
    assert r.dissatisfied_customers == 2 and r.per_dissatisfied_customer.minor == 3_750
    assert r.expected_loss.minor == 492 and r.expected_loss.estimate


def test_complaint_without_logged_time_is_flagged(personas):
    case_open(
        actor=personas.adviser,
        customer=personas.customer,
        subject="Rude",
        description="Rude.",
        kind=Kind.COMPLAINT,
        at=at(9),
    )
    r = es.complaint_cost(MARCH)
    assert r.complaints == 1 and r.total.no_time_logged and r.per_complaint.minor == 0


def test_case_expected_loss_for_the_case_panel(economy, personas):
    est = es.case_expected_loss(economy.a, today=date(2026, 4, 15))
    assert est.dissatisfied and est.expected_loss.estimate
    assert est.uplift is not None and est.uplift.used_prior
    # Apr 2025–Mar 2026: S = {Ana, Dee}, N = {Bo, Chai}, E = {Ana, Chai} → retention (2 − 2) / 2 = 0,
    # so r = 0, CLV = 0 and the expected loss is 0 (measured, not missing).
    assert est.expected_loss.minor == 0 and est.clv is not None and est.clv.minor == 0
    assert es.case_expected_loss(economy.b, today=date(2026, 4, 15)).dissatisfied  # answered CSAT 2
    quiet = es.case_expected_loss(personas.case, today=date(2026, 4, 15))  # a question, no answer
    assert not quiet.dissatisfied and quiet.expected_loss.reason == "not_dissatisfied"


def test_sector_scorecards_pair_efficiency_with_effectiveness(economy, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        cards = {c.sector.name: c for c in es.scorecards(MARCH)}
    assert set(cards) == {"Billing", "Warehouse"}
    b = cards["Billing"]
    assert (b.tasks, b.completed, b.on_time.value) == (2, 1, 1.0)
    assert (b.staff_minutes, b.staff_cost_minor, b.cost_per_task.minor) == (50, 5_000, 5_000)
    assert (b.cases, b.resolved_cases, b.cost_per_resolved_case.minor) == (2, 2, 2_500)
    assert (b.csat.value, b.csat_answers, b.fcr.value, b.reopened.value) == (0.5, 2, 0.0, 0.0)
    assert b.compensation_minor == 2_500
    w = cards["Warehouse"]
    assert (w.tasks, w.staff_minutes, w.staff_cost_minor, w.unknown_cost_lines) == (1, 15, 0, 1)
    assert (w.csat.value, w.csat_answers) == (1.0, 1)


def test_executive_months_and_value_at_risk(economy, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        ex = es.executive(Period(date(2026, 2, 1), date(2026, 4, 1)))
    feb, mar = ex.months
    assert feb.resolved_cases == 0 and feb.cost_per_resolved_case.minor is None
    assert (mar.resolved_cases, mar.staff_cost_minor, mar.cost_per_resolved_case.minor) == (2, 5_000, 2_500)
    assert (mar.on_time.value, mar.csat.value, mar.reopened.value) == (1.0, 0.5, 0.0)
    assert (mar.coq_minor, mar.failure_minor) == (22_500, 7_500)


def test_value_at_risk_is_an_estimate_apart_from_booked_cost(economy):
    ex = es.executive(MARCH)
    assert ex.dissatisfied_customers == 2
    assert ex.value_at_risk.minor == 984 and ex.value_at_risk.estimate
    assert ex.coq.coq.total == 22_500  # the estimate is never inside the booked total
    assert ex.coq.coq.copq_estimated.minor == 7_500 + 984


def test_queries_stay_constant_as_rows_grow(economy, personas, django_assert_max_num_queries):
    def count(fn) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx)

    fns = [
        lambda: es.cost_of_quality(MARCH),
        lambda: es.coq_trend(MARCH),
        lambda: es.loyalty(MARCH),
        lambda: es.complaint_cost(MARCH),
        lambda: es.scorecards(MARCH),
        lambda: es.executive(MARCH),
        lambda: es.cohorts([2025, 2026]),
    ]
    before = [count(f) for f in fns]
    for i in range(6):
        c = customer_create(actor=None, name=f"More {i}")
        customer_value_set(
            actor=None, customer=c, acquired_on=date(2025, 5, 1), churned_on=None, monthly_margin_minor=None
        )
        case_open(
            actor=personas.adviser,
            customer=c,
            subject=f"S{i}",
            description="d",
            kind=Kind.COMPLAINT,
            at=at(12 + i),
        )
    assert [count(f) for f in fns] == before


def test_coq_against_the_previous_period_and_prevention_roi(economy):
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    cmp = es.coq_comparison(april)
    # March → April: prevention 10 000 → 0, failures 7 500 → 7 000
    assert cmp.previous.coq.total == 22_500 and cmp.current.coq.total == 7_000
    assert cmp.changes["prevention"] == -1.0
    assert cmp.changes["internal_failure"] == pytest.approx(2.5)  # 2 000 → 7 000
    # ΔP = −10 000, saving 500: (500 + 10 000) / −10 000 = −1.05
    assert cmp.prevention_roi.value == pytest.approx(-1.05)
    feb_empty = es.coq_comparison(MARCH)  # February booked nothing: no base to compare with
    assert feb_empty.changes["total"] is None
    assert feb_empty.prevention_roi.value is None and feb_empty.prevention_roi.reason == "no_previous_costs"


def test_the_complaints_behind_the_figure_with_their_booked_cost(
    economy, personas, django_assert_num_queries
):
    quiet = case_open(
        actor=personas.adviser,
        customer=economy.chai,
        subject="Rude",
        description="d",
        kind=Kind.COMPLAINT,
        at=at(9),
    )
    cases = list(es.complaints_in(MARCH))
    assert [c.pk for c in cases] == [economy.a.pk, quiet.pk]
    with django_assert_num_queries(2):  # the ledger's front-line sector, then the sums
        rows = es.case_cost_rows(MARCH, cases)
    a, q = rows
    assert (a.cost.staff_minutes, a.cost.staff_minor, a.cost.compensation_minor, a.cost.booked_minor) == (
        45,
        3_000,
        2_500,
        5_500,
    )
    assert a.cost.rate_missing_minutes == 15
    assert q.cost.no_time_logged and q.cost.booked_minor == 0


def test_periods_are_whole_months_and_compare_with_the_span_before():
    year = Period(date(2025, 1, 1), date(2026, 1, 1))
    assert len(year.months) == 12 and year.last_day == date(2025, 12, 31)
    assert year.previous() == Period(date(2024, 1, 1), date(2025, 1, 1))
    assert Period(date(2026, 3, 1), date(2026, 4, 1)).previous() == Period(date(2026, 2, 1), date(2026, 3, 1))
    assert es.default_period(date(2026, 11, 23)) == Period(date(2025, 11, 1), date(2026, 11, 1))
    assert es.add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
