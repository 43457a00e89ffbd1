"""Economics formulas against metrics.md vectors and hand-computed examples (no database)."""

from __future__ import annotations

import pytest

from steward.analytics import economics as ec


def test_cost_of_quality_adds_the_four_categories_and_splits_conformance():
    coq = ec.cost_of_quality(
        prevention=10_000,
        appraisal=5_000,
        internal_failure=15_000,
        external_failure=20_000,
        revenue=1_000_000,
    )
    assert coq.total == 50_000
    assert (coq.conformance, coq.nonconformance) == (15_000, 35_000)
    assert coq.to_revenue.value == pytest.approx(0.05)
    assert coq.failure_share.value == pytest.approx(0.7)


def test_coq_ratio_is_none_when_revenue_is_zero_or_not_entered():
    zero = ec.cost_of_quality(prevention=1, appraisal=0, internal_failure=0, external_failure=0, revenue=0)
    missing = ec.cost_of_quality(prevention=1, appraisal=0, internal_failure=0, external_failure=0)
    assert (zero.to_revenue.value, zero.to_revenue.reason) == (None, "no_revenue")
    assert (missing.to_revenue.value, missing.to_revenue.reason) == (None, "revenue_not_entered")


def test_failure_share_is_none_without_any_cost():
    coq = ec.cost_of_quality(prevention=0, appraisal=0, internal_failure=0, external_failure=0, revenue=5)
    assert coq.failure_share.value is None and coq.failure_share.reason == "no_cost"
    assert coq.to_revenue.value == 0


def test_copq_estimated_is_a_separate_labelled_line_never_in_the_booked_total():
    coq = ec.cost_of_quality(
        prevention=100, appraisal=0, internal_failure=200, external_failure=300, expected_churn_loss=1_000
    )
    assert coq.total == 600
    assert coq.copq_estimated == ec.Amount(1_500, estimate=True)
    assert coq.expected_churn_loss.estimate
    unknown = ec.cost_of_quality(prevention=0, appraisal=0, internal_failure=1, external_failure=0)
    assert unknown.copq_estimated.minor is None and unknown.copq_estimated.reason == "no_clv"


def test_cost_of_one_complaint_adds_staff_compensation_and_review():
    c = ec.complaint_cost(staff_minor=4_500, staff_minutes=90, compensation_minor=2_000, review_minor=1_500)
    assert c.booked_minor == 8_000
    assert not c.no_time_logged and c.complete


def test_complaint_without_logged_time_is_flagged_not_measured_as_zero():
    c = ec.complaint_cost(staff_minor=0, staff_minutes=0, compensation_minor=2_000)
    assert c.no_time_logged and not c.complete
    assert c.booked_minor == 2_000


def test_churn_uplift_is_the_difference_of_churn_rates():
    up = ec.churn_uplift(
        dissatisfied_lost=12, dissatisfied=40, comparable_lost=10, comparable=100, prior=0.05, n_min=30
    )
    assert up.value == pytest.approx(0.30 - 0.10)
    assert not up.used_prior


def test_churn_uplift_uses_the_labelled_prior_below_n_min():
    up = ec.churn_uplift(dissatisfied_lost=3, dissatisfied=10, comparable_lost=1, comparable=100, prior=0.05)
    assert (up.value, up.used_prior, up.prior) == (0.05, True, 0.05)
    none = ec.churn_uplift(dissatisfied_lost=0, dissatisfied=0, comparable_lost=0, comparable=0, prior=None)
    assert none.value is None and none.reason == "no_dissatisfied_customers"


def test_expected_churn_loss_is_uplift_times_clv_and_an_estimate():
    loss = ec.expected_churn_loss(0.2, 26_667)
    assert loss == ec.Amount(5_333, estimate=True)
    assert ec.expected_churn_loss(0.2, None).reason == "no_clv"
    assert ec.expected_churn_loss(None, 100).reason == "no_uplift"


def test_churn_and_retention_of_a_period():
    assert ec.churn_rate(lost=5, at_start=100).value == pytest.approx(0.05)
    assert ec.retention_rate(at_end=110, new=20, at_start=100).value == pytest.approx(0.90)


def test_churn_and_retention_are_none_without_customers_at_start():
    assert ec.churn_rate(lost=0, at_start=0).reason == "no_customers_at_start"
    assert ec.retention_rate(at_end=5, new=5, at_start=0).value is None


def test_monthly_and_annual_rates_convert_by_powers_not_times_twelve():
    assert ec.annual_retention(0.95) == pytest.approx(0.5404, abs=1e-4)
    assert ec.monthly_retention(0.95**12) == pytest.approx(0.95)
    assert ec.annual_churn(0.05) == pytest.approx(1 - 0.95**12)
    assert ec.annual_churn(0.05) != pytest.approx(0.6)  # not 12 × 5 %
    assert ec.monthly_churn(ec.annual_churn(0.02)) == pytest.approx(0.02)


def test_clv_vector_from_metrics_md():
    # m = 100.00, r = 0.8, d = 0.1 → multiple 2.667, CLV 266.67 (366.67 incl. current period).
    v = ec.clv(margin_minor=10_000, retention=0.8, discount=0.1)
    assert v.multiple == pytest.approx(2.6667, abs=1e-4)
    assert v.minor == 26_667 and v.finite_horizon is None
    assert ec.clv(margin_minor=10_000, retention=0.8, discount=0.1, include_current=True).minor == 36_667


def test_clv_negative_margin_gives_negative_clv():
    assert ec.clv(margin_minor=-10_000, retention=0.8, discount=0.1).minor == -26_667


def test_clv_with_full_retention_sums_a_finite_discounted_horizon():
    # r = 1, d = 0.1, T = 3: 1/1.1 + 1/1.21 + 1/1.331 = 2.48685
    v = ec.clv(margin_minor=10_000, retention=1.0, discount=0.1, horizon_periods=3)
    assert v.finite_horizon == 3
    assert v.minor == 24_869
    # r ≥ 1 + d: the closed form would divide by ≤ 0; the finite sum stays finite.
    assert ec.clv(margin_minor=100, retention=1.2, discount=0.1, horizon_periods=2).finite_horizon == 2


def test_clv_is_none_with_a_reason_for_missing_inputs():
    assert ec.clv(margin_minor=None, retention=0.8, discount=0.1).reason == "no_margin"
    assert ec.clv(margin_minor=1, retention=None, discount=0.1).reason == "no_retention"
    assert ec.clv(margin_minor=1, retention=0.8, discount=None).reason == "no_discount_rate"
    assert ec.clv(margin_minor=1, retention=-0.1, discount=0.1).reason == "invalid_rate"


def test_clv_subtracts_acquisition_cost():
    assert (
        ec.clv(margin_minor=10_000, retention=0.8, discount=0.1, acquisition_cost_minor=6_667).minor == 20_000
    )


def test_cac_and_cost_to_serve_and_their_ratio():
    a = ec.cac(sales_marketing_minor=500_000, new_customers=10)
    s = ec.cost_to_serve(service_cost_minor=100_000, active_customers=40)
    assert (a.minor, s.minor) == (50_000, 2_500)
    assert ec.acquisition_to_retention_ratio(a, s).value == pytest.approx(20.0)


def test_cac_is_none_without_new_customers_or_entered_cost():
    assert ec.cac(sales_marketing_minor=500, new_customers=0).reason == "no_new_customers"
    assert ec.cac(sales_marketing_minor=None, new_customers=3).reason == "no_cost_entered"


def test_acquisition_to_retention_ratio_is_none_when_cost_to_serve_is_zero():
    r = ec.acquisition_to_retention_ratio(
        ec.Amount(1_000), ec.cost_to_serve(service_cost_minor=0, active_customers=5)
    )
    assert r.value is None and r.reason == "no_cost_to_serve"
    r2 = ec.acquisition_to_retention_ratio(ec.Amount(1_000), ec.Amount(None, "no_active_customers"))
    assert r2.reason == "no_active_customers"


def test_delta_clv_from_a_retention_change():
    # m = 100.00, d = 0.1: r 0.8 → 0.85: 0.85/0.25 − 0.8/0.3 = 3.4 − 2.6667 = 0.7333 → 73.33
    assert (
        ec.delta_clv(margin_minor=10_000, retention_from=0.8, retention_to=0.85, discount=0.1).minor == 7_333
    )
    # one point: 0.8/0.3 − 0.79/0.31 = 2.666667 − 2.548387 = 0.118280 → 11.83
    assert ec.value_of_one_retention_point(margin_minor=10_000, retention=0.8, discount=0.1).minor == 1_183
    # high retention: r + 0.01 would reach 1 and diverge; the point below stays defined
    # 0.995/0.105 − 0.985/0.115 = 9.476190 − 8.565217 = 0.910973 → 91.10
    assert ec.value_of_one_retention_point(margin_minor=10_000, retention=0.995, discount=0.1).minor == 9_110
    assert (
        ec.value_of_one_retention_point(margin_minor=None, retention=0.8, discount=0.1).reason == "no_margin"
    )


def test_prevention_roi_over_matched_periods():
    # prevention +1 000; failures −3 000; expected loss −500 → (3 500 − 1 000) / 1 000 = 2.5
    roi = ec.prevention_roi(
        prevention_before=1_000,
        prevention_after=2_000,
        failure_before=10_000,
        failure_after=7_000,
        expected_loss_before=1_500,
        expected_loss_after=1_000,
    )
    assert roi.value == pytest.approx(2.5)


def test_prevention_roi_is_none_when_prevention_did_not_change():
    roi = ec.prevention_roi(prevention_before=5, prevention_after=5, failure_before=9, failure_after=1)
    assert roi.value is None and roi.reason == "no_prevention_change"


def test_round_minor_rounds_halves_away_from_zero():
    assert (ec.round_minor(2.5), ec.round_minor(-2.5), ec.round_minor(2.49)) == (3, -3, 2)
