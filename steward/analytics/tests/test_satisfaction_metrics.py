"""Satisfaction and loyalty formulas (metrics.md §3, §6): the §6.5 vectors, hand-computed cases and
hypothesis properties. Pure functions, no database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.analytics import metrics as m
from steward.analytics.metrics import (
    Proportion,
    csat_top2,
    nps,
    nps_from_counts,
    proportion,
    proportion_change,
    wilson,
)

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def approx_ci(ci, expected, abs_=5e-5):
    assert ci is not None
    assert ci[0] == pytest.approx(expected[0], abs=abs_)
    assert ci[1] == pytest.approx(expected[1], abs=abs_)


# ------------------------------------------------------------------ §6.5 vectors


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [
        (7, 50, (0.0695, 0.2619)),
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (4, 5, (0.3755, 0.9638)),
    ],
)
def test_wilson_matches_the_metrics_md_vectors(k, n, expected):
    approx_ci(wilson(k, n), expected)


def test_wilson_bounds_are_exact_at_zero_and_all():
    assert wilson(0, 10)[0] == 0.0  # type: ignore[index]
    assert wilson(10, 10)[1] == 1.0  # type: ignore[index]


def test_wilson_of_nothing_is_none_and_bad_counts_are_errors():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)
    with pytest.raises(ValueError):
        wilson(-1, 2)


def test_nps_vector_50_30_20():
    r = nps(50, 30, 20)
    assert r.value == pytest.approx(30)
    assert r.se == pytest.approx(7.81, abs=0.005)
    approx_ci(r.ci, (14.7, 45.3), abs_=0.05)
    assert r.n == 100 and not r.low_sample and not r.counts_only


def test_nps_vector_1_2_1_is_zero_plus_minus_69_3_and_low_sample():
    r = nps(1, 2, 1)
    assert r.value == pytest.approx(0)
    assert m.Z95 * r.se == pytest.approx(69.3, abs=0.05)  # type: ignore[operator]
    approx_ci(r.ci, (-69.3, 69.3), abs_=0.05)
    assert r.low_sample and r.counts_only


# ------------------------------------------------------------------ cross-check (test-only scipy)


def test_wilson_agrees_with_scipy_over_many_counts():
    stats = pytest.importorskip("scipy.stats")
    for n in (1, 2, 5, 13, 30, 100, 977):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            if not 0 <= k <= n:
                continue
            ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            approx_ci(wilson(k, n), (ref.low, ref.high), abs_=1e-6)


# ------------------------------------------------------------------ proportions and flags


def test_proportion_of_nothing_is_none_with_the_reason():
    p = proportion(0, 0, reason="no_responses")
    assert p.value is None and p.ci is None and p.reason == "no_responses"
    assert p.counts_only and p.low_sample


def test_sample_flags_follow_n_min_and_five():
    assert proportion(3, 4).counts_only
    assert not proportion(3, 5).counts_only and proportion(3, 5).low_sample
    assert proportion(3, 29).low_sample and not proportion(3, 30).low_sample
    assert not proportion(3, 10, n_min=10).low_sample


def test_csat_top2_counts_fours_and_fives_of_five():
    # 20 fives, 15 fours of 50 answers → 35/50
    p = csat_top2({5: 20, 4: 15, 3: 5, 2: 5, 1: 5})
    assert (p.k, p.n, p.value) == (35, 50, pytest.approx(0.7))
    assert p.percent == pytest.approx(70.0)


def test_csat_top2_on_seven_points_counts_six_and_seven():
    p = csat_top2({7: 3, 6: 2, 5: 4, 1: 1}, scale_max=7)
    assert (p.k, p.n) == (5, 10)


def test_csat_refuses_a_score_from_another_scale():
    with pytest.raises(ValueError):
        csat_top2({6: 1, 5: 2})


def test_csat_without_answers_is_none():
    p = csat_top2({})
    assert p.value is None and p.reason == "no_responses"


def test_mean_satisfaction_is_the_average_score_with_a_ci():
    r = m.mean_score({5: 2, 4: 1, 1: 1})  # (10 + 4 + 1) / 4 = 3.75
    assert r.value == pytest.approx(3.75)
    # sample sd: deviations 1.25, 1.25, 0.25, −2.75 → (1.5625·2 + 0.0625 + 7.5625)/3 = 10.75/3
    assert r.sd == pytest.approx(math.sqrt(10.75 / 3))
    half = m.Z95 * math.sqrt(10.75 / 3) / 2
    approx_ci(r.ci, (3.75 - half, 3.75 + half), abs_=1e-9)
    assert m.mean_score({}).value is None and m.mean_score({}).reason == "no_responses"
    assert m.mean_score({4: 1}).ci is None


def test_ces_mean_and_easy_share():
    counts = {7: 4, 6: 3, 5: 1, 4: 1, 2: 1}  # 10 answers, 8 in {5,6,7}
    assert m.ces_easy(counts).k == 8 and m.ces_easy(counts).n == 10
    assert m.ces_mean(counts).value == pytest.approx((28 + 18 + 5 + 4 + 2) / 10)
    with pytest.raises(ValueError):
        m.ces_easy({0: 1})


def test_nps_from_scores_sorts_promoters_passives_detractors():
    r = nps_from_counts({10: 3, 9: 2, 8: 1, 7: 1, 6: 2, 0: 1})
    assert (r.promoters, r.passives, r.detractors, r.n) == (5, 2, 3, 10)
    assert r.value == pytest.approx(20)
    with pytest.raises(ValueError):
        nps_from_counts({11: 1})


def test_nps_of_nothing_is_none():
    r = nps(0, 0, 0)
    assert r.value is None and r.se is None and r.ci is None and r.reason == "no_responses"


def test_nps_of_all_promoters_has_zero_se_and_a_point_ci():
    r = nps(40, 0, 0)
    assert r.value == 100 and r.se == 0 and r.ci == (100, 100)


# ------------------------------------------------------------------ changes


def test_newcombe_matches_newcombes_published_example():
    # Newcombe (1998), Stat Med 17:873, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339.
    ch = proportion_change(proportion(56, 70), proportion(48, 80))
    assert ch.delta == pytest.approx(20.0)
    approx_ci(ch.ci, (5.24, 33.39), abs_=0.01)
    assert ch.significant and ch.verdict == "increase"


def test_newcombe_second_published_example():
    # Newcombe (1998) example (b): 9/10 − 3/10, method 10: 0.1705 to 0.8090.
    ch = proportion_change(proportion(9, 10), proportion(3, 10))
    approx_ci(ch.ci, (17.05, 80.90), abs_=0.01)


def test_newcombe_published_example_with_zero_successes_is_not_significant():
    # Newcombe (1998) example (c): 5/56 − 0/29, method 10: −0.0381 to 0.1926.
    ch = proportion_change(proportion(5, 56), proportion(0, 29))
    approx_ci(ch.ci, (-3.81, 19.26), abs_=0.01)
    assert not ch.significant and ch.verdict == "no_significant_change"


def test_change_whose_ci_includes_zero_is_no_significant_change():
    ch = proportion_change(proportion(36, 50), proportion(35, 50))
    assert ch.delta == pytest.approx(2.0)
    assert ch.ci[0] < 0 < ch.ci[1]  # type: ignore[index]
    assert not ch.significant and ch.verdict == "no_significant_change"


def test_decrease_is_named_a_decrease():
    ch = proportion_change(proportion(48, 80), proportion(56, 70))
    assert ch.significant and ch.verdict == "decrease" and ch.delta == pytest.approx(-20.0)


def test_change_without_data_carries_the_reason():
    ch = proportion_change(proportion(0, 0, reason="no_responses"), proportion(3, 10))
    assert ch.delta is None and ch.verdict == "no_responses" and not ch.significant
    ch = proportion_change(proportion(3, 10), proportion(0, 0))
    assert ch.delta is None and ch.reason == "no_data"


def test_nps_change_adds_variances():
    cur, prev = nps(50, 30, 20), nps(40, 30, 30)  # 30 vs 10
    ch = m.nps_change(cur, prev)
    assert ch.delta == pytest.approx(20)
    se = math.sqrt(cur.se**2 + prev.se**2)  # type: ignore[operator]
    approx_ci(ch.ci, (20 - m.Z95 * se, 20 + m.Z95 * se), abs_=1e-9)
    assert ch.significant == (20 - m.Z95 * se > 0)
    assert m.nps_change(nps(0, 0, 0), prev).delta is None


def test_relative_change_is_none_without_a_base():
    assert m.relative_change(110, 100) == pytest.approx(0.1)
    assert m.relative_change(5, 0) is None
    assert m.relative_change(None, 3) is None
    assert m.relative_change(3, None) is None


def test_recovery_paradox_gap_is_recovered_minus_no_failure_in_pp():
    gap = m.recovery_paradox_gap(proportion(18, 20), proportion(140, 200))
    assert gap.delta == pytest.approx(20.0)
    assert gap.ci is not None and gap.ci[0] < 20 < gap.ci[1]


def test_period_comparison_picks_the_test_by_type():
    c = m.period_comparison(proportion(40, 50), proportion(30, 50), proportion(20, 50))
    assert isinstance(c.vs_previous, m.Change) and c.vs_previous.delta == pytest.approx(20)
    assert isinstance(c.vs_last_year, m.Change)
    assert c.vs_last_year.delta == pytest.approx(40) and c.vs_last_year.significant
    n = m.period_comparison(nps(50, 30, 20), nps(50, 30, 20), nps(0, 0, 0))
    assert isinstance(n.vs_previous, m.Change)
    assert n.vs_previous.delta == 0 and not n.vs_previous.significant
    assert n.vs_last_year.delta is None
    counts = m.period_comparison(120, 100, 0)
    assert isinstance(counts.vs_previous, m.CountChange) and isinstance(counts.vs_last_year, m.CountChange)
    assert (counts.vs_previous.delta, counts.vs_previous.relative) == (20, pytest.approx(0.2))
    assert counts.vs_last_year.relative is None
    with pytest.raises(TypeError):
        m.compare(proportion(1, 2), nps(1, 1, 1))


def test_mean_change_uses_both_standard_deviations():
    cur, prev = m.mean_score({5: 30, 4: 10}), m.mean_score({5: 10, 4: 20, 3: 10})
    ch = m.mean_change(cur, prev)
    assert ch.delta == pytest.approx(4.75 - 4.0)
    se = math.sqrt(cur.sd**2 / 40 + prev.sd**2 / 40)  # type: ignore[operator]
    approx_ci(ch.ci, (0.75 - m.Z95 * se, 0.75 + m.Z95 * se), abs_=1e-9)
    assert ch.significant
    assert m.mean_change(m.mean_score({4: 1}), prev).delta is None  # one answer: no spread, no test


def test_compare_reads_ratios_by_value_and_durations_by_median():
    r = m.compare(m.owner_continuity(2, 10), m.owner_continuity(5, 10))
    assert isinstance(r, m.CountChange) and r.delta == pytest.approx(0.3)
    d = m.compare(m.summarize([60, 120, 180]), m.summarize([100, 200, 300]))
    assert isinstance(d, m.CountChange) and d.delta == -80 and d.relative == pytest.approx(-0.4)
    with pytest.raises(TypeError):
        m.compare(m.summarize([1]), 3)


# ------------------------------------------------------------------ pooled windows, p-chart


def test_rolling_window_pools_counts_instead_of_averaging_rates():
    series = [(1, 1), (0, 9), (5, 10)]
    pooled = m.rolling_proportions(series, 3)
    assert pooled[0].value is None and pooled[0].reason == "incomplete_window"
    assert pooled[1].value is None
    # pooled: 6/20 = 0.30; the mean of the three rates would be (1 + 0 + 0.5)/3 = 0.5
    assert pooled[2].value == pytest.approx(0.3) and (pooled[2].k, pooled[2].n) == (6, 20)


def test_rolling_nps_pools_respondents():
    r = m.rolling_nps([(1, 0, 0), (0, 0, 3), (2, 1, 0)], 2)
    assert r[0].value is None
    assert (r[1].promoters, r[1].detractors, r[1].n) == (1, 3, 4) and r[1].value == pytest.approx(-50)
    assert r[2].value == pytest.approx((2 - 3) / 6 * 100)


def test_p_chart_limits_vary_with_n_and_floor_at_zero():
    chart = m.p_chart([(5, 100), (2, 10), (0, 0), (30, 100)])
    assert chart.centre == pytest.approx(37 / 210)
    p = 37 / 210
    first = chart.points[0]
    assert first.lower == pytest.approx(max(0.0, p - 3 * math.sqrt(p * (1 - p) / 100)))
    assert first.upper == pytest.approx(p + 3 * math.sqrt(p * (1 - p) / 100))
    assert chart.points[1].lower == 0.0  # p̄ − 3σ < 0 with n = 10
    assert chart.points[2].value is None and not chart.points[2].out_of_control
    assert chart.points[3].out_of_control  # 0.30 above 0.176 + 3·0.038
    assert m.p_chart([]).centre is None


# ------------------------------------------------------------------ case outcomes


def test_fcr_is_pending_inside_the_window_whatever_happened():
    resolved = NOW - timedelta(days=6, hours=23)
    for reopened in (True, False):
        assert (
            m.fcr_outcome(
                inbound_contacts_before_resolution=1,
                reopened=reopened,
                new_contact_within_window=False,
                resolved_at=resolved,
                now=NOW,
            )
            == "pending"
        )


def test_fcr_needs_one_contact_no_reopen_and_no_new_contact():
    resolved = NOW - timedelta(days=7)

    def outcome(contacts=1, reopened=False, new=False):
        return m.fcr_outcome(
            inbound_contacts_before_resolution=contacts,
            reopened=reopened,
            new_contact_within_window=new,
            resolved_at=resolved,
            now=NOW,
        )

    assert outcome() == "fcr"
    assert outcome(contacts=2) == "not_fcr"
    assert outcome(contacts=0) == "not_fcr"
    assert outcome(reopened=True) == "not_fcr"
    assert outcome(new=True) == "not_fcr"


def test_fcr_window_is_configurable():
    resolved = NOW - timedelta(days=2)

    def outcome(window_days):
        return m.fcr_outcome(
            inbound_contacts_before_resolution=1,
            reopened=False,
            new_contact_within_window=False,
            resolved_at=resolved,
            now=NOW,
            window_days=window_days,
        )

    assert outcome(1) == "fcr"
    assert outcome(3) == "pending"


def test_fcr_rate_leaves_pending_cases_out_of_both_sides():
    r = m.fcr_rate(["fcr", "fcr", "fcr", "not_fcr", "pending", "pending"])
    assert (r.rate.k, r.rate.n, r.pending) == (3, 4, 2)
    empty = m.fcr_rate(["pending"])
    assert empty.rate.value is None and empty.rate.reason == "no_resolved_cases" and empty.pending == 1
    with pytest.raises(ValueError):
        m.fcr_rate(["maybe"])


def test_repeat_contact_rate():
    r = m.repeat_contact_rate(3, 40)
    assert r.value == pytest.approx(0.075)
    assert m.repeat_contact_rate(0, 0).reason == "no_contacts"


def test_repeat_explanation_over_exposed_and_all_cases():
    r = m.repeat_explanation_rates(flagged_exposed=4, exposed=10, flagged=5, cases=50)
    assert r.exposed.value == pytest.approx(0.4)
    assert r.all_cases.value == pytest.approx(0.1)
    none = m.repeat_explanation_rates(flagged_exposed=0, exposed=0, flagged=0, cases=3)
    assert none.exposed.value is None and none.exposed.reason == "no_cases"
    assert none.all_cases.value == 0.0  # a real zero: three cases, none flagged
    with pytest.raises(ValueError):
        m.repeat_explanation_rates(flagged_exposed=2, exposed=1, flagged=2, cases=3)


def test_handoff_without_summary_rate():
    assert m.handoff_without_summary_rate(1, 8).value == pytest.approx(0.125)
    assert m.handoff_without_summary_rate(0, 0).reason == "no_handoffs"


def test_owner_continuity_is_one_minus_changes_per_case():
    assert m.owner_continuity(5, 20).value == pytest.approx(0.75)
    assert m.owner_continuity(30, 20).value == pytest.approx(-0.5)
    none = m.owner_continuity(0, 0)
    assert none.value is None and none.reason == "no_cases"


def test_reopen_rate_and_reopens_per_case():
    r = m.reopen_rates(reopened_cases=3, reopens=5, resolved_cases=20)
    assert r.rate.value == pytest.approx(0.15)
    assert r.per_case.value == pytest.approx(0.25)
    none = m.reopen_rates(reopened_cases=0, reopens=0, resolved_cases=0)
    assert none.rate.value is None and none.per_case.value is None
    with pytest.raises(ValueError):
        m.reopen_rates(reopened_cases=3, reopens=2, resolved_cases=10)


def test_promise_kept_and_confirmed_solution_rates():
    assert m.promise_kept_rate(9, 12).value == pytest.approx(0.75)
    assert m.promise_kept_rate(0, 0).reason == "no_commitments_due"
    # 6 confirmed, 4 closed without confirmation (timeout or manager): 6/10, never 10/10
    assert m.confirmed_solution_rate(6, 10).value == pytest.approx(0.6)
    assert m.confirmed_solution_rate(0, 0).reason == "no_closed_cases"


def test_duration_summary_rejects_negative_durations():
    d = m.duration_summary([60, None, -5, 120, 180, float("nan")])
    assert d.n == 3 and d.rejected == 2
    assert d.summary.median == 120


# ------------------------------------------------------------------ properties

counts = st.integers(min_value=0, max_value=5000)


def _no_nan(x):
    if x is None:
        return True
    if isinstance(x, tuple):
        return all(_no_nan(v) for v in x)
    return not math.isnan(x)


@settings(max_examples=300, deadline=None)
@given(n=counts, data=st.data())
def test_every_proportion_lies_in_0_1_and_its_ci_contains_it(n, data):
    k = data.draw(st.integers(min_value=0, max_value=n))
    p = proportion(k, n)
    if n == 0:
        assert p.value is None and p.ci is None
        return
    assert p.value is not None and p.ci is not None
    assert 0 <= p.ci[0] <= p.value <= p.ci[1] <= 1
    assert _no_nan(p.value) and _no_nan(p.ci)


@settings(max_examples=300, deadline=None)
@given(promoters=counts, passives=counts, detractors=counts)
def test_nps_lies_in_plus_minus_100_and_its_ci_contains_it(promoters, passives, detractors):
    r = nps(promoters, passives, detractors)
    if r.n == 0:
        assert r.value is None
        return
    assert r.value is not None and r.ci is not None and r.se is not None
    assert -100 <= r.ci[0] <= r.value <= r.ci[1] <= 100
    assert _no_nan(r.value) and _no_nan(r.ci) and _no_nan(r.se)


@settings(max_examples=300, deadline=None)
@given(n1=counts, n2=counts, data=st.data())
def test_a_change_ci_contains_its_delta_and_is_never_nan(n1, n2, data):
    k1 = data.draw(st.integers(min_value=0, max_value=n1))
    k2 = data.draw(st.integers(min_value=0, max_value=n2))
    ch = proportion_change(proportion(k1, n1), proportion(k2, n2))
    if n1 == 0 or n2 == 0:
        assert ch.delta is None and not ch.significant
        return
    assert ch.delta is not None and ch.ci is not None
    assert -100 <= ch.ci[0] <= ch.delta + 1e-9 and ch.delta - 1e-9 <= ch.ci[1] <= 100
    assert _no_nan(ch.delta) and _no_nan(ch.ci)
    assert ch.significant == (ch.ci[0] > 0 or ch.ci[1] < 0)


@settings(max_examples=200, deadline=None)
@given(scores=st.dictionaries(st.integers(min_value=1, max_value=5), counts, max_size=5))
def test_csat_is_a_proportion_or_none(scores):
    p = csat_top2(scores)
    assert p.value is None or 0 <= p.value <= 1
    assert isinstance(p, Proportion)


@settings(max_examples=200, deadline=None)
@given(series=st.lists(st.tuples(counts, counts).map(lambda t: (min(t), max(t))), max_size=12))
def test_rolling_and_p_chart_values_are_proportions(series):
    for p in m.rolling_proportions(series, 3):
        assert p.value is None or 0 <= p.value <= 1
    chart = m.p_chart(series)
    for pt in chart.points:
        for v in (pt.value, pt.lower, pt.upper):
            assert v is None or (0 <= v <= 1 and not math.isnan(v))
