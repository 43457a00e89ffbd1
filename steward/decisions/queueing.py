"""Queueing and workload formulas for the decision impact assessment (metrics.md §5.1). Pure functions.

- Erlang C (M/M/N: Poisson arrivals, exponential handling, no abandonment) for walk-in, phone and chat.
  Pw is computed through the Erlang B recursion so large N never overflows a factorial.
- A workload model for e-mail, portal and API: hours of work required against hours of capacity, and the
  delay of the backlog left when the work exceeds the capacity.

Units: λ in contacts per interval, AHT and t in seconds, the interval in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Channels answered as they arrive (a queue) and channels worked from a backlog (a workload).
QUEUE_CHANNELS = ("walk_in", "phone", "chat")
WORKLOAD_CHANNELS = ("email", "portal", "api")


def erlang_b(n: int, a: float) -> float:
    """Erlang B blocking probability B(N, A) by the recursion B_0 = 1, B_k = A·B_{k−1}/(k + A·B_{k−1})."""
    if n < 0 or a < 0:
        raise ValueError("N and A must be 0 or more")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability of waiting Pw = C(N, A); 1.0 when the queue is overloaded (N ≤ A)."""
    if a < 0 or n < 0:
        raise ValueError("N and A must be 0 or more")
    if a == 0:
        return 0.0
    if n <= a:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1 - b))


@dataclass(frozen=True)
class QueueResult:
    """One interval of a queued channel. `asa` is math.inf and `sl` 0 when overloaded."""

    arrivals: float  # λ per interval
    aht_seconds: float
    staff: int
    load: float  # A, Erlangs
    pw: float
    sl: float  # share answered within target_seconds
    asa: float  # seconds
    occupancy: float  # ρ = A/N (capped at 1 when overloaded)
    overloaded: bool
    backlog_growth: float  # contacts left unanswered at the end of the interval (0 unless overloaded)
    long_waits: float  # W = λ·(1 − SL): contacts expected to wait longer than the target


def erlang(
    arrivals: float, aht_seconds: float, staff: int, *, target_seconds: float, interval_seconds: float
) -> QueueResult:
    """Erlang C figures for one interval (metrics.md §5.1, edge cases included)."""
    if arrivals < 0 or aht_seconds < 0 or staff < 0 or target_seconds < 0 or interval_seconds <= 0:
        raise ValueError("arrivals, AHT, staff and target must be 0 or more; the interval positive")
    if arrivals == 0:
        return QueueResult(arrivals, aht_seconds, staff, 0.0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 0.0)
    if aht_seconds == 0:
        return QueueResult(arrivals, aht_seconds, staff, 0.0, 0.0, 1.0, 0.0, 0.0, False, 0.0, 0.0)
    load = arrivals * aht_seconds / interval_seconds
    if staff == 0 or staff <= load:
        growth = max(0.0, arrivals - staff * interval_seconds / aht_seconds)
        occ = 1.0 if staff else 0.0
        return QueueResult(
            arrivals, aht_seconds, staff, load, 1.0, 0.0, math.inf, occ, True, growth, arrivals
        )
    pw = erlang_c(staff, load)
    sl = 1 - pw * math.exp(-(staff - load) * target_seconds / aht_seconds)
    sl = min(1.0, max(0.0, sl))
    asa = pw * aht_seconds / (staff - load)
    return QueueResult(
        arrivals, aht_seconds, staff, load, pw, sl, asa, load / staff, False, 0.0, arrivals * (1 - sl)
    )


def scheduled_staff(n: int, shrinkage: float) -> float:
    """N / (1 − shrinkage): the people to schedule so that N are available."""
    if not 0 <= shrinkage < 1:
        raise ValueError("shrinkage must be in [0, 1)")
    return n / (1 - shrinkage)


def staff_needed(
    arrivals: float, aht_seconds: float, *, target_seconds: float, interval_seconds: float, sl_target: float
) -> int:
    """The smallest N reaching the service-level target."""
    n = max(1, math.floor(arrivals * aht_seconds / interval_seconds) + 1)
    while (
        erlang(arrivals, aht_seconds, n, target_seconds=target_seconds, interval_seconds=interval_seconds).sl
        < sl_target
    ):
        n += 1
    return n


@dataclass(frozen=True)
class WorkloadResult:
    """A backlog channel over the window: hours of work against hours of capacity."""

    contacts: float
    aht_seconds: float
    required_hours: float
    capacity_hours: float
    utilisation: float | None  # required / capacity; None without capacity
    backlog_hours: float  # work left when the window ends
    backlog_delay_hours: float | None  # how long the backlog takes at the capacity rate; None = never
    overloaded: bool


def workload(
    contacts: float, aht_seconds: float, capacity_hours: float, *, window_hours: float
) -> WorkloadResult:
    """required hours = contacts × AHT; backlog delay ≈ (work − capacity) / capacity rate (metrics.md §5.1).

    The capacity rate is the capacity hours per window hour (people working at the same time).
    """
    if contacts < 0 or aht_seconds < 0 or capacity_hours < 0 or window_hours <= 0:
        raise ValueError("contacts, AHT and capacity must be 0 or more; the window positive")
    required = contacts * aht_seconds / 3600
    backlog = max(0.0, required - capacity_hours)
    rate = capacity_hours / window_hours
    if backlog == 0:
        delay: float | None = 0.0
    else:
        delay = backlog / rate if rate > 0 else None
    util = required / capacity_hours if capacity_hours > 0 else None
    return WorkloadResult(contacts, aht_seconds, required, capacity_hours, util, backlog, delay, backlog > 0)
