"""The pure impact formulas (metrics.md §5.2 items 4-6), figures checked by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.decisions import impact
from steward.decisions.impact import CostInputs, Range

INPUTS = CostInputs(
    rate_minor_per_hour=6000,
    recovery_minor=2000,
    churn_uplift=0.1,
    clv_minor=100_000,
    wasted_minutes_per_contact=10,
    repeat_share=0.5,
)


def test_p_type_from_history_uses_wilson_bounds() -> None:
    p = impact.p_type("owner_absent", 7, 50, prior=0.3, n_min=30)
    assert not p.prior
    assert p.p.base == pytest.approx(0.14)
    assert (p.p.low, p.p.high) == (pytest.approx(0.0695, abs=5e-5), pytest.approx(0.2619, abs=5e-5))


def test_p_type_prior_below_n_min() -> None:
    p = impact.p_type("long_wait", 4, 5, prior=0.2, n_min=30)
    assert p.prior and (p.k, p.n) == (4, 5)
    assert p.p.base == 0.2
    assert p.p.low < 0.2 < p.p.high  # Wilson bounds of 6 of 30
    with pytest.raises(ValueError):
        impact.p_type("long_wait", 0, 0, prior=1.5, n_min=30)


def test_customer_counted_once_with_highest_p() -> None:
    p = {
        "owner_absent": impact.PType("owner_absent", 0, 0, True, Range(0.1, 0.3, 0.5)),
        "missed_commitment": impact.PType("missed_commitment", 0, 0, True, Range(0.2, 0.4, 0.45)),
    }
    d = impact.expected_dissatisfied([("owner_absent", "missed_commitment"), ("owner_absent",)], p)
    assert (d.low, d.base, d.high) == (pytest.approx(0.3), pytest.approx(0.7), pytest.approx(1.0))


def test_expected_cost_by_hand() -> None:
    # C_time: 10 contacts × (10 wasted min + 0.5 × 600 s / 60) = 150 min = 2.5 h × 60.00/h = 150.00
    # recovery: 0.3 × 20.00 = 6.00; churn: 0.3 × 0.1 × 1000.00 = 30.00; E[C] = 186.00
    c = impact.expected_cost(
        contacts=Range(10, 10, 10), aht_seconds=600, customers=[(Range(0.1, 0.3, 0.5), None)], inputs=INPUTS
    )
    assert c.complete and not c.flags
    assert c.time == Range(15000, 15000, 15000)
    assert c.recovery == Range(200, 600, 1000)
    assert c.churn == Range(1000, 3000, 5000)
    assert c.total == Range(16200, 18600, 21000)
    assert impact.net_effect(c.total, 20000) == Range(-3800, -1400, 1000)
    own = impact.expected_cost(
        contacts=Range(0, 0, 0), aht_seconds=600, customers=[(Range(0.3, 0.3, 0.3), 50_000)], inputs=INPUTS
    )
    assert own.churn == Range(1500, 1500, 1500)  # the customer's own CLV wins over the default


def test_missing_data_is_flagged_never_zero() -> None:
    bare = CostInputs(None, None, None, None, 10, 0.5)
    c = impact.expected_cost(
        contacts=Range(4, 4, 4), aht_seconds=600, customers=[(Range(0.2, 0.3, 0.4), None)], inputs=bare
    )
    assert c.time is None and c.recovery is None and c.churn is None
    assert set(c.flags) == {"rate_missing", "recovery_missing", "churn_missing", "cost_incomplete"}
    assert not c.complete
    nothing = impact.expected_cost(contacts=Range(0, 0, 0), aht_seconds=600, customers=[], inputs=bare)
    assert nothing.complete and nothing.total == impact.ZERO  # nothing at risk really costs nothing
    assert str(impact.flag_reason("rate_missing"))


def test_calibration_scales_and_clamps() -> None:
    p = impact.p_type("owner_absent", 15, 50, prior=0.3, n_min=30)
    doubled = impact.calibrated_p(p, {"dissatisfied": 2.0})
    assert doubled.p.base == pytest.approx(0.6)
    assert impact.calibrated_p(p, {"dissatisfied": 100.0}).p.high <= 1.0
    assert impact.calibration_factor({"contacts": 100.0}, "contacts") == impact.CALIBRATION_MAX
    assert impact.calibration_factor({"contacts": -1.0}, "contacts") == 1.0
    assert impact.calibration_factor({}, "contacts") == 1.0
    c = impact.expected_cost(
        contacts=Range(10, 10, 10),
        aht_seconds=600,
        customers=[],
        inputs=INPUTS,
        calibration={"booked_costs": 0.5},
    )
    assert c.total.base == 7500


def test_comparison_rows_mark_the_best() -> None:
    a = impact.Figures("proposed", Range(1, 2, 3), Range(10, 20, 30), 0.2, Range(0, 5, 10), 4, 3)
    b = impact.Figures("two groups", Range(0.5, 1, 2), Range(5, 10, 20), 0.7, Range(-5, -5, 0), 2, 0)
    rows = impact.comparison_rows([a, b])
    assert rows[0].best == ()
    assert rows[1].best == ("expected_dissatisfied", "expected_cost", "worst_service_level", "net_effect")
    assert impact.comparison_rows([]) == []


ranges = st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)).map(lambda t: Range(*sorted(t)))


@settings(max_examples=60, deadline=None)
@given(
    customers=st.lists(st.tuples(ranges, st.one_of(st.none(), st.integers(0, 10**7))), max_size=6),
    extra=st.tuples(ranges, st.one_of(st.none(), st.integers(0, 10**7))),
    contacts=st.floats(0, 500),
    more=st.floats(0, 50),
)
def test_more_exposure_never_lowers_expected_cost(customers, extra, contacts, more) -> None:
    base = impact.expected_cost(
        contacts=Range(contacts, contacts, contacts), aht_seconds=600, customers=customers, inputs=INPUTS
    )
    c2 = contacts + more
    worse = impact.expected_cost(
        contacts=Range(c2, c2, c2), aht_seconds=600, customers=[*customers, extra], inputs=INPUTS
    )
    assert worse.total.low >= base.total.low - 1
    assert worse.total.base >= base.total.base - 1
    assert worse.total.high >= base.total.high - 1
