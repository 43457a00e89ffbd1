"""Erlang C and the workload model against metrics.md §6.5 and an independent birth–death reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.decisions import queueing as q


def birth_death_wait_probability(n: int, a: float, states: int = 4000) -> tuple[float, float]:
    """Independent reference: steady state of the M/M/N birth–death chain, truncated far in the tail.

    Returns (P(wait) = P(all N busy), mean number waiting). Rates: birth λ = a, death min(k, N) (μ = 1).
    """
    import numpy as np

    k = np.arange(states)
    # log of the unnormalised probabilities, built cumulatively so nothing overflows.
    log_pi = np.zeros(states)
    for i in range(1, states):
        log_pi[i] = log_pi[i - 1] + math.log(a) - math.log(min(i, n))
    log_pi -= log_pi.max()
    pi = np.exp(log_pi)
    pi /= pi.sum()
    wait = float(pi[k >= n].sum())
    queue = float((np.maximum(k - n, 0) * pi).sum())
    return wait, queue


def test_metrics_vector_call_centre() -> None:
    r = q.erlang(360, 240, 55, target_seconds=15, interval_seconds=1800)
    assert r.load == pytest.approx(48)
    assert r.pw == pytest.approx(0.2387, abs=5e-5)
    assert r.sl == pytest.approx(0.8459, abs=5e-5)
    assert r.asa == pytest.approx(8.18, abs=5e-3)
    assert r.occupancy == pytest.approx(48 / 55)
    assert not r.overloaded


def test_metrics_vector_wolfram() -> None:
    assert q.erlang_c(5, 2.5) == pytest.approx(0.1304, abs=5e-5)
    assert q.erlang_c(6, 2.5) == pytest.approx(0.0474, abs=5e-5)
    n = q.staff_needed(2.5, 3600, target_seconds=0, interval_seconds=3600, sl_target=0.90)
    assert n == 6


@pytest.mark.parametrize("n, a", [(55, 48.0), (5, 2.5), (1, 0.3), (12, 11.5), (200, 180.0)])
def test_against_birth_death_reference(n: int, a: float) -> None:
    wait, queue = birth_death_wait_probability(n, a)
    assert q.erlang_c(n, a) == pytest.approx(wait, rel=1e-6)
    # Little's law: mean queue length = λ × ASA (AHT = 1 time unit, λ = a).
    r = q.erlang(a, 1.0, n, target_seconds=0, interval_seconds=1.0)
    assert r.asa * a == pytest.approx(queue, rel=1e-5)


def test_against_scipy_poisson_form() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    n, a = 55, 48.0
    # Erlang C from Erlang B written with Poisson probabilities: B = pmf(N) / cdf(N).
    b = scipy_stats.poisson.pmf(n, a) / scipy_stats.poisson.cdf(n, a)
    assert q.erlang_b(n, a) == pytest.approx(b, rel=1e-9)


def test_edge_cases() -> None:
    zero = q.erlang(0, 240, 3, target_seconds=20, interval_seconds=3600)
    assert (zero.pw, zero.sl, zero.asa, zero.overloaded) == (0.0, 1.0, 0.0, False)
    over = q.erlang(100, 360, 10, target_seconds=20, interval_seconds=3600)  # A = 10 = N
    assert over.overloaded and over.sl == 0 and math.isinf(over.asa)
    assert over.backlog_growth == pytest.approx(0)  # exactly at capacity: λ − N/AHT×interval = 0
    none = q.erlang(30, 360, 0, target_seconds=20, interval_seconds=3600)
    assert none.overloaded and none.backlog_growth == pytest.approx(30)
    more = q.erlang(120, 360, 10, target_seconds=20, interval_seconds=3600)
    assert more.backlog_growth == pytest.approx(120 - 10 * 3600 / 360)
    assert q.erlang_b(10_000, 9_000.0) > 0  # no factorial overflow
    with pytest.raises(ValueError):
        q.erlang(-1, 240, 3, target_seconds=20, interval_seconds=3600)


def test_workload_model() -> None:
    w = q.workload(40, 900, 8.0, window_hours=8)  # 10 h of work, 8 h of capacity (one person)
    assert w.required_hours == pytest.approx(10)
    assert w.backlog_hours == pytest.approx(2)
    assert w.backlog_delay_hours == pytest.approx(2)  # one person-hour per hour
    assert w.overloaded and w.utilisation == pytest.approx(1.25)
    ok = q.workload(10, 900, 8.0, window_hours=8)
    assert not ok.overloaded and ok.backlog_delay_hours == 0
    nobody = q.workload(10, 900, 0.0, window_hours=8)
    assert nobody.backlog_delay_hours is None and nobody.utilisation is None


@settings(max_examples=60, deadline=None)
@given(
    arrivals=st.floats(min_value=0, max_value=500),
    aht=st.floats(min_value=1, max_value=1200),
    staff=st.integers(min_value=0, max_value=120),
    target=st.floats(min_value=0, max_value=120),
)
def test_more_staff_never_lowers_service_level(
    arrivals: float, aht: float, staff: int, target: float
) -> None:
    a = q.erlang(arrivals, aht, staff, target_seconds=target, interval_seconds=3600)
    b = q.erlang(arrivals, aht, staff + 1, target_seconds=target, interval_seconds=3600)
    assert b.sl >= a.sl - 1e-12
    assert b.asa <= a.asa + 1e-9
