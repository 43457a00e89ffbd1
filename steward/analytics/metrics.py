"""Pure formulas, no database: the value chain (metrics.md §4) over event rows, and satisfaction and
loyalty (metrics.md §3, §6: CSAT, NPS, CES, FCR, reopen, promises, Wilson/Newcombe intervals, period
comparisons, pooled windows, p-chart) over counts, in the section headed "satisfaction and loyalty".

Every function takes plain `EventRow`s (what the selectors read from `CaseEvent`) and returns
dataclasses. Durations are seconds. A ratio with an empty denominator is `None` with a reason,
never 0, and every summary carries its sample size so a screen can say "too few to judge".

Event contract (sector tasks, issue 6): task events carry the TASK's sector and `data["task"]`;
`task_created` also `target_minutes` and `due_at`; `task_work_logged` also `minutes`;
`task_returned` also `reason`. Other events carry the acting person's sector (advisers belong to
the front-desk sector); a customer's own events have no sector. Events that move the case's status
carry {"from", "to"}: `status`, `message_out`, `task_created` and the task ends.

Time: a task's target is counted in BUSINESS minutes and `due_at` (written by `task_create`) is the
instant the target runs out on the business calendar. So "on time" means completed ≤ due_at, exactly
the task's own `data["on_time"]`; lateness is the CALENDAR time past due_at. Queue, work, elapsed and
lead times are calendar durations (what the customer lives through).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

# Below this many observations a median or p90 is shown with a "few data" warning.
MIN_SAMPLE = 5

TASK_CREATED = "task_created"
TASK_TAKEN = "task_taken"
TASK_WORK_LOGGED = "task_work_logged"
TASK_COMPLETED = "task_completed"
TASK_RETURNED = "task_returned"
TASK_CANCELLED = "task_cancelled"
TASK_NEAR_BREACH = "task_near_breach"
TASK_KINDS = (
    TASK_CREATED,
    TASK_TAKEN,
    TASK_WORK_LOGGED,
    TASK_COMPLETED,
    TASK_RETURNED,
    TASK_CANCELLED,
    TASK_NEAR_BREACH,
)
# A task stops holding the case at any of these; `returned` hands it back to the sender.
TASK_ENDS = (TASK_COMPLETED, TASK_RETURNED, TASK_CANCELLED)

# The case waits on the customer in these statuses (metrics.md §3.8 "agent wait").
CUSTOMER_PENDING = frozenset({"waiting_customer", "solution_proposed"})
CLOSING_KINDS = ("solution_confirmed", "closed_unconfirmed")
# Events whose data {"from", "to"} is a status change (a handoff's from/to are people, not statuses).
STATUS_MOVES = frozenset({"status", "message_out", TASK_CREATED, *TASK_ENDS})

FRONT_LINE = "front_line"
CUSTOMER = "customer"


@dataclass(frozen=True)
class EventRow:
    """One row of the event log, as the selectors read it."""

    case: int
    id: int
    at: datetime
    kind: str
    sector: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> tuple[datetime, int]:
        # Ties in time are broken by the event id: the order the log was written in.
        return (self.at, self.id)


@dataclass(frozen=True)
class Ratio:
    value: float | None
    numerator: float
    denominator: float
    reason: str = ""


def ratio(numerator: float, denominator: float, *, reason: str = "no_data") -> Ratio:
    if not denominator:
        return Ratio(None, numerator, denominator, reason)
    return Ratio(numerator / denominator, numerator, denominator)


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def exact_seconds(delta: timedelta) -> Fraction:
    """A timedelta as an exact fraction of seconds, so shares of it add up exactly."""
    return Fraction(delta.days * 86400 + delta.seconds) + Fraction(delta.microseconds, 1_000_000)


# ------------------------------------------------------------------ percentiles


def percentile(values: Iterable[float], p: float) -> float | None:
    """Linear interpolation between closest ranks: PostgreSQL's `percentile_cont(p)`.

    Sorted x_0..x_{n-1}; position h = (n - 1) * p; result x_floor(h) + (h - floor(h)) * (x_ceil(h) -
    x_floor(h)). This is also numpy's default ("linear", Hyndman & Fan type 7). None for no values.
    """
    if not 0 <= p <= 1:
        raise ValueError("p must lie in [0, 1]")
    xs = sorted(values)
    if not xs:
        return None
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@dataclass(frozen=True)
class Summary:
    n: int
    median: float | None
    p90: float | None
    mean: float | None
    max: float | None

    @property
    def low_sample(self) -> bool:
        return self.n < MIN_SAMPLE


def summarize(values: Iterable[float]) -> Summary:
    xs = list(values)
    if not xs:
        return Summary(0, None, None, None, None)
    return Summary(len(xs), percentile(xs, 0.5), percentile(xs, 0.9), sum(xs) / len(xs), max(xs))


# ------------------------------------------------------------------ sector tasks


@dataclass
class TaskFacts:
    """One sector task as the event log tells it (metrics.md §4.2 "Sector task")."""

    task: int
    case: int
    sector: int | None
    created_at: datetime
    target_minutes: int | None = None  # business minutes
    due_at: datetime | None = None  # created_at + target on the business calendar
    taken_at: datetime | None = None
    ended_at: datetime | None = None
    end_kind: str = ""  # completed | returned | cancelled | "" while open
    work_seconds: float = 0.0
    returns: int = 0

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def completed(self) -> bool:
        return self.end_kind == TASK_COMPLETED

    @property
    def queue_seconds(self) -> float | None:
        """Taken − created; None until someone takes it."""
        return seconds(self.taken_at - self.created_at) if self.taken_at else None

    @property
    def elapsed_seconds(self) -> float | None:
        """Completed − created; only completed tasks have one (open ones have an age instead)."""
        return seconds(self.ended_at - self.created_at) if self.completed and self.ended_at else None

    @property
    def target_seconds(self) -> float | None:
        return self.target_minutes * 60.0 if self.target_minutes is not None else None

    @property
    def past_due_seconds(self) -> float | None:
        """Completed − due_at in calendar seconds (negative when early); only completed tasks."""
        if not self.completed or self.ended_at is None or self.due_at is None:
            return None
        return seconds(self.ended_at - self.due_at)

    @property
    def lateness_seconds(self) -> float | None:
        """Calendar time past the business-calendar due date: max(0, completed − due_at)."""
        past = self.past_due_seconds
        return None if past is None else max(0.0, past)

    @property
    def on_time(self) -> bool | None:
        """Completed ≤ due_at: the same verdict `task_complete` writes into its event."""
        past = self.past_due_seconds
        return None if past is None else past <= 0

    def waiting_seconds(self, now: datetime) -> float:
        """Queue time, counting a task nobody has taken yet up to its end or `now` (right-censored)."""
        until = self.taken_at or self.ended_at or now
        return max(0.0, seconds(until - self.created_at))

    def age_seconds(self, now: datetime) -> float:
        return max(0.0, seconds((self.ended_at or now) - self.created_at))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_instant(value: Any) -> datetime | None:
    """An ISO 8601 instant from event data (naive ones are UTC); None when missing or malformed."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def task_facts(events: Iterable[EventRow]) -> list[TaskFacts]:
    """Fold the task events of a log into one `TaskFacts` per task, in the order tasks were created."""
    tasks: dict[int, TaskFacts] = {}
    for e in sorted((e for e in events if e.kind in TASK_KINDS), key=lambda e: e.order):
        tid = _int(e.data.get("task"))
        if tid is None:
            continue
        t = tasks.get(tid)
        if e.kind == TASK_CREATED:
            if t is None:
                t = tasks[tid] = TaskFacts(task=tid, case=e.case, sector=e.sector, created_at=e.at)
            t.target_minutes = _int(e.data.get("target_minutes"))
            t.due_at = parse_instant(e.data.get("due_at")) if e.data.get("due_at") else None
            continue
        if t is None:  # a task whose creation lies outside the log read: nothing to measure from
            continue
        if e.kind == TASK_TAKEN and t.taken_at is None:
            t.taken_at = e.at
        elif e.kind == TASK_WORK_LOGGED:
            t.work_seconds += (_int(e.data.get("minutes")) or 0) * 60.0
        elif e.kind in TASK_ENDS:
            t.ended_at, t.end_kind = e.at, e.kind
            if e.kind == TASK_RETURNED:
                t.returns += 1
    return list(tasks.values())


@dataclass(frozen=True)
class SectorStats:
    sector: int | None
    tasks: int
    completed: int
    open: int
    returns: int
    on_time: Ratio
    queue: Summary
    work: Summary
    elapsed: Summary
    lateness: Summary
    target: Summary
    waiting_total: float  # Σ queue, open tasks counted to now: the bottleneck's numerator
    p90_over_target: bool  # p90 of (completed − own due_at) > 0 among completed tasks


def sector_stats(tasks: Iterable[TaskFacts], *, now: datetime) -> dict[int | None, SectorStats]:
    by_sector: dict[int | None, list[TaskFacts]] = defaultdict(list)
    for t in tasks:
        by_sector[t.sector].append(t)
    out = {}
    for sector, ts in by_sector.items():
        done = [t for t in ts if t.completed]
        judged = [t for t in done if t.on_time is not None]
        over = [x for t in judged if (x := t.past_due_seconds) is not None]
        p90_over = percentile(over, 0.9)
        out[sector] = SectorStats(
            sector=sector,
            tasks=len(ts),
            completed=len(done),
            open=sum(1 for t in ts if t.is_open),
            returns=sum(t.returns for t in ts),
            on_time=ratio(sum(1 for t in judged if t.on_time), len(judged), reason="no_completed_tasks"),
            queue=summarize(q for t in ts if (q := t.queue_seconds) is not None),
            work=summarize(t.work_seconds for t in ts if not t.is_open),
            elapsed=summarize(x for t in done if (x := t.elapsed_seconds) is not None),
            lateness=summarize(x for t in done if (x := t.lateness_seconds) is not None),
            target=summarize(x for t in ts if (x := t.target_seconds) is not None),
            waiting_total=sum(t.waiting_seconds(now) for t in ts),
            p90_over_target=p90_over is not None and p90_over > 0,
        )
    return out


# ------------------------------------------------------------------ lead-time attribution


def status_after(event: EventRow, current: str) -> str:
    """The case status once `event` has happened (read from the event log, never from the case row)."""
    k = event.kind
    if k == "opened":
        return "new"
    if k in STATUS_MOVES and event.data.get("to"):
        return str(event.data["to"])
    if k == "solution_proposed":
        return "solution_proposed"
    if k in CLOSING_KINDS:
        return "closed"
    if k == "reopened":
        return "reopened"
    return current


@dataclass(frozen=True)
class Attribution:
    """A case's life [created, resolved] split by who held it; the parts sum exactly to `lead`."""

    case: int
    lead: Fraction
    front_line: Fraction
    customer: Fraction
    sectors: dict[int | None, Fraction]
    resolved: bool  # False: still open, measured up to `now` (right-censored)

    @property
    def total(self) -> Fraction:
        return self.front_line + self.customer + sum(self.sectors.values(), Fraction(0))


def lead_time_attribution(events: Sequence[EventRow], *, now: datetime) -> Attribution | None:
    """Split one case's lead time between the front line, each sector and the customer.

    Rules (metrics.md §4.2, Steward-defined): while k sectors hold open tasks each gets 1/k of the time
    (two tasks in one sector count once); otherwise the customer gets the time while the case waits on
    them (waiting_customer, solution_proposed, and a closed case before a reopen); otherwise the
    owner/front line. The case is resolved at its last closing event; an open case runs to `now`.
    None when the log has no opening event.
    """
    evs = sorted(events, key=lambda e: e.order)
    opened = next((e for e in evs if e.kind == "opened"), None)
    if opened is None:
        return None
    status = ""
    closed_at: datetime | None = None
    for e in evs:
        status = status_after(e, status)
        if e.kind in CLOSING_KINDS:
            closed_at = e.at
        elif e.kind == "reopened":
            closed_at = None
    resolved = status == "closed" and closed_at is not None
    end = closed_at if resolved and closed_at is not None else max(now, opened.at)
    start = opened.at

    front = cust = Fraction(0)
    by_sector: dict[int | None, Fraction] = defaultdict(Fraction)
    open_tasks: dict[int, int | None] = {}
    status = ""
    i = 0
    cursor = start
    # Sweep the change points; the state after the last event at or before `cursor` holds until the next.
    while cursor < end:
        while i < len(evs) and evs[i].at <= cursor:
            e = evs[i]
            status = status_after(e, status)
            tid = _int(e.data.get("task")) if e.kind in TASK_KINDS else None
            if tid is not None and e.kind == TASK_CREATED:
                open_tasks[tid] = e.sector
            elif tid is not None and e.kind in TASK_ENDS:
                open_tasks.pop(tid, None)
            i += 1
        nxt = min(evs[i].at, end) if i < len(evs) else end
        span = exact_seconds(nxt - cursor)
        holders = set(open_tasks.values())
        if holders:
            share = span / len(holders)
            for s in holders:
                by_sector[s] += share
        elif status in CUSTOMER_PENDING or status == "closed":
            cust += span
        else:
            front += span
        cursor = nxt
    return Attribution(
        case=opened.case,
        lead=exact_seconds(end - start),
        front_line=front,
        customer=cust,
        sectors=dict(by_sector),
        resolved=resolved,
    )


# ------------------------------------------------------------------ sequences, handoffs, ping-pong


def sector_sequence(events: Iterable[EventRow]) -> list[int]:
    """The case's sectors in order, consecutive repeats collapsed; events without a sector skipped."""
    seq: list[int] = []
    for e in sorted(events, key=lambda e: e.order):
        if e.sector is not None and (not seq or seq[-1] != e.sector):
            seq.append(e.sector)
    return seq


def handoffs(seq: Sequence[int]) -> int:
    return max(0, len(seq) - 1)


def ping_pongs(seq: Sequence[int], *, round_trips_from: Collection[int] = ()) -> list[tuple[int, int]]:
    """Every A → B → A in a collapsed sequence, as (A, B).

    `round_trips_from`: sectors whose A → B → A is not a ping-pong. Steward passes the front line: the
    case owner asking billing and getting the answer back (front desk → billing → front desk) is the
    normal round trip of an owned case, while billing → front desk → billing (a step returned and sent
    again) and logistics → billing → logistics are the bouncing the measure exists to find.
    """
    return [
        (seq[i - 2], seq[i - 1])
        for i in range(2, len(seq))
        if seq[i] == seq[i - 2] and seq[i] not in round_trips_from
    ]


@dataclass(frozen=True)
class PairStats:
    source: int
    target: int
    handoffs: int
    ping_pongs: int  # source → target → source
    ping_pong_rate: Ratio  # ping_pongs / handoffs


@dataclass(frozen=True)
class HandoffSummary:
    cases: int
    handoffs: int
    cases_with_ping_pong: int
    ping_pong_rate: Ratio  # cases with ≥ 1 ping-pong / cases
    handoffs_per_case: Ratio
    pairs: list[PairStats]


def handoff_summary(
    sequences: Mapping[int, Sequence[int]], *, round_trips_from: Collection[int] = ()
) -> HandoffSummary:
    pair_handoffs: dict[tuple[int, int], int] = defaultdict(int)
    pair_pp: dict[tuple[int, int], int] = defaultdict(int)
    total = with_pp = 0
    for seq in sequences.values():
        total += handoffs(seq)
        for a, b in zip(seq, seq[1:], strict=False):
            pair_handoffs[(a, b)] += 1
        pps = ping_pongs(seq, round_trips_from=round_trips_from)
        with_pp += bool(pps)
        for pair in pps:
            pair_pp[pair] += 1
    pairs = [
        PairStats(a, b, n, pair_pp.get((a, b), 0), ratio(pair_pp.get((a, b), 0), n))
        for (a, b), n in sorted(pair_handoffs.items())
    ]
    n_cases = len(sequences)
    return HandoffSummary(
        cases=n_cases,
        handoffs=total,
        cases_with_ping_pong=with_pp,
        ping_pong_rate=ratio(with_pp, n_cases, reason="no_cases"),
        handoffs_per_case=ratio(total, n_cases, reason="no_cases"),
        pairs=pairs,
    )


# ------------------------------------------------------------------ directly-follows graph


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    count: int
    wait: Summary  # seconds from the last event in `source` to the first in `target`


def dfg_waits(events: Iterable[EventRow]) -> dict[tuple[int, int], list[float]]:
    """Waits of every sector-to-sector step: b directly follows a in the same case (ordered by time, id).

    Only events with a sector take part. A step inside one sector (a self-loop) is not an edge: the map
    shows handovers. This equals PM4Py's `discover_dfg` / `discover_performance_dfg` on the log with
    activity = sector, without its self-loops (tests/pm4py_check checks it).
    """
    by_case: dict[int, list[EventRow]] = defaultdict(list)
    for e in events:
        if e.sector is not None:
            by_case[e.case].append(e)
    waits: dict[tuple[int, int], list[float]] = defaultdict(list)
    for evs in by_case.values():
        evs.sort(key=lambda e: e.order)
        for a, b in zip(evs, evs[1:], strict=False):
            if a.sector != b.sector:
                waits[(a.sector, b.sector)].append(seconds(b.at - a.at))  # type: ignore[index]
    return dict(waits)


def edges_from_waits(waits: Mapping[tuple[int, int], Sequence[float]]) -> list[Edge]:
    return [Edge(a, b, len(ws), summarize(ws)) for (a, b), ws in sorted(waits.items())]


def dfg(events: Iterable[EventRow]) -> list[Edge]:
    return edges_from_waits(dfg_waits(events))


# ------------------------------------------------------------------ bottleneck


@dataclass(frozen=True)
class Bottleneck:
    sector: int | None  # the largest share of waiting; None when nobody waited or no lead time
    share: Ratio  # Σ queue of that sector / Σ lead time of the cases
    shares: dict[int | None, Ratio]
    over_target: list[int | None]  # sectors whose p90 completion falls after the task's due date
    low_sample: bool


def bottleneck(stats: Mapping[int | None, SectorStats], *, total_lead_seconds: float) -> Bottleneck:
    shares = {
        s: ratio(st.waiting_total, total_lead_seconds, reason="no_lead_time") for s, st in stats.items()
    }
    ranked = sorted(
        ((r.value, s) for s, r in shares.items() if r.value is not None and r.value > 0),
        key=lambda x: (-x[0], str(x[1])),
    )
    top = ranked[0][1] if ranked else None
    return Bottleneck(
        sector=top,
        share=shares[top] if top is not None else ratio(0, total_lead_seconds, reason="no_waiting"),
        shares=shares,
        over_target=sorted((s for s, st in stats.items() if st.p90_over_target), key=str),
        low_sample=top is not None and stats[top].tasks < MIN_SAMPLE,
    )


# ------------------------------------------------------------------ utilisation

# metrics.md §4.2: a sector whose utilisation reaches 0.85 is flagged; queues grow non-linearly near 1.
UTILISATION_ALERT = 0.85


def utilisation(*, work_seconds: float, staff: int, available_seconds: float) -> Ratio:
    """ρ = arrivals × mean work / staff, written as Σ logged work / (staff × business time available).

    Both forms are equal over one window (arrivals = tasks / window, mean work = Σ work / tasks); this
    one needs no task count and stays defined when the sector logged no work (ρ = 0). None without
    staff or without business time in the window.
    """
    if staff <= 0:
        return ratio(work_seconds, 0, reason="no_staff")
    return ratio(work_seconds, staff * available_seconds, reason="no_time")


def is_near_capacity(rho: Ratio) -> bool:
    return rho.value is not None and rho.value >= UTILISATION_ALERT


def activity_window(tasks: Iterable[TaskFacts], *, now: datetime) -> tuple[datetime, datetime] | None:
    """From the first task handed over to the last one ended (now while any is open); None without tasks."""
    ts = list(tasks)
    if not ts:
        return None
    start = min(t.created_at for t in ts)
    end = max((t.ended_at or now) for t in ts)
    return start, max(start, end)


# ================================================================== satisfaction and loyalty
#
# metrics.md §3 (CSAT, NPS, CES, FCR, repeat contact, repeat explanation, reopen, promises,
# confirmed solutions, service recovery paradox) and §6 (Wilson, NPS SE, Newcombe, MoM/YoY, pooled
# windows, p-chart). Inputs are COUNTS (what the selectors aggregate in SQL), never model instances.
# Proportions are floats in 0..1; a change of a proportion is in percentage points (pp); NPS is in
# points (−100..+100). No data is None with a reason code, never 0 and never NaN (§0).

Z95 = 1.959964
# Below this many responses a value is flagged `low_sample` (metrics.md §0; configurable per call).
N_MIN = 30

# Reason codes (a screen translates them; they are stable identifiers, not prose).
NO_DATA = "no_data"
NO_RESPONSES = "no_responses"
NO_CASES = "no_cases"
NO_CONTACTS = "no_contacts"
NO_HANDOFFS = "no_handoffs"
NO_COMMITMENTS = "no_commitments_due"
NO_CLOSED_CASES = "no_closed_cases"
NO_RESOLVED_CASES = "no_resolved_cases"
NO_PREVIOUS = "no_previous"
INCOMPLETE_WINDOW = "incomplete_window"

FCR = "fcr"
NOT_FCR = "not_fcr"
PENDING = "pending"
FCR_WINDOW_DAYS = 7


def _check_counts(*counts: int) -> None:
    for c in counts:
        if c < 0:
            raise ValueError("counts must be 0 or more")


@dataclass(frozen=True)
class Proportion:
    """k of n, with its Wilson 95 % interval (metrics.md §6.1).

    `low_sample`: n below n_min (default 30): show with a warning. `counts_only`: n below 5
    (MIN_SAMPLE): show "k of n", not a percentage. n = 0: value and ci are None and `reason` says why.
    """

    value: float | None
    k: int
    n: int
    ci: tuple[float, float] | None
    reason: str = ""
    low_sample: bool = False
    counts_only: bool = False

    @property
    def percent(self) -> float | None:
        return None if self.value is None else self.value * 100


def wilson(k: int, n: int, *, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (metrics.md §6.1); None when n = 0."""
    _check_counts(k, n)
    if k > n:
        raise ValueError("k cannot exceed n")
    if n == 0:
        return None
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(max(0.0, p * (1 - p) / n + z2 / (4 * n * n)))
    # The exact bounds at k = 0 and k = n are 0 and 1; floating point would leave 1e-17 off.
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return (lower, upper)


def proportion(k: int, n: int, *, reason: str = NO_DATA, n_min: int = N_MIN) -> Proportion:
    """k/n with its Wilson CI and sample flags; n = 0 gives value None with `reason`."""
    ci = wilson(k, n)
    low, few = n < n_min, n < MIN_SAMPLE
    if n == 0:
        return Proportion(None, 0, 0, None, reason, low_sample=low, counts_only=few)
    return Proportion(k / n, k, n, ci, low_sample=low, counts_only=few)


def _scale_counts(counts: Mapping[int, int], low: int, high: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for score, count in counts.items():
        if not low <= int(score) <= high:
            raise ValueError(f"score {score} lies outside the {low}–{high} scale (never mix scales)")
        _check_counts(count)
        out[int(score)] = out.get(int(score), 0) + count
    return out


def csat_top2(counts: Mapping[int, int], *, scale_max: int = 5, n_min: int = N_MIN) -> Proportion:
    """CSAT top-2-box (metrics.md §3.1): answers in {4, 5} of a 1–5 scale ({6, 7} of 1–7) / answers.

    `counts` maps each score to how many gave it. A score off the scale is an error, not dropped.
    """
    if scale_max < 2:
        raise ValueError("scale_max must be 2 or more")
    c = _scale_counts(counts, 1, scale_max)
    top = c.get(scale_max, 0) + c.get(scale_max - 1, 0)
    return proportion(top, sum(c.values()), reason=NO_RESPONSES, n_min=n_min)


@dataclass(frozen=True)
class Mean:
    """A mean score (mean satisfaction 1–5, CES mean 1–7): not the same metric as a top-box share."""

    value: float | None
    n: int
    reason: str = ""
    low_sample: bool = False
    sd: float | None = None  # sample standard deviation (n − 1); None below 2 answers
    ci: tuple[float, float] | None = None  # normal approximation, value ± z·sd/√n; None below 2 answers

    @property
    def counts_only(self) -> bool:
        return self.n < MIN_SAMPLE


def mean_score(counts: Mapping[int, int], *, n_min: int = N_MIN) -> Mean:
    """Mean of scores given as {score: count} (metrics.md §3.1 "mean satisfaction", §3.3 CES_mean)."""
    for score, count in counts.items():
        _check_counts(count)
        if not math.isfinite(score):
            raise ValueError("scores must be finite")
    n = sum(counts.values())
    if n == 0:
        return Mean(None, 0, NO_RESPONSES, low_sample=True)
    total = sum(score * count for score, count in counts.items())
    mean = total / n
    if n < 2:
        return Mean(mean, n, low_sample=n < n_min)
    var = sum(count * (score - mean) ** 2 for score, count in counts.items()) / (n - 1)
    sd = math.sqrt(max(0.0, var))
    half = Z95 * sd / math.sqrt(n)
    return Mean(mean, n, low_sample=n < n_min, sd=sd, ci=(mean - half, mean + half))


def ces_easy(counts: Mapping[int, int], *, n_min: int = N_MIN) -> Proportion:
    """CES 2.0 "easy" share (metrics.md §3.3): answers in {5, 6, 7} of the 1–7 agreement scale."""
    c = _scale_counts(counts, 1, 7)
    easy = c.get(5, 0) + c.get(6, 0) + c.get(7, 0)
    return proportion(easy, sum(c.values()), reason=NO_RESPONSES, n_min=n_min)


def ces_mean(counts: Mapping[int, int], *, n_min: int = N_MIN) -> Mean:
    """CES 2.0 mean on 1–7 (higher is easier); never averaged with CES 1.0 answers."""
    return mean_score(_scale_counts(counts, 1, 7), n_min=n_min)


@dataclass(frozen=True)
class Nps:
    """Net Promoter Score in points with its normal-approximation SE and 95 % CI (metrics.md §6.2)."""

    value: float | None
    promoters: int
    passives: int
    detractors: int
    n: int
    se: float | None
    ci: tuple[float, float] | None
    reason: str = ""
    low_sample: bool = False
    counts_only: bool = False


def nps(promoters: int, passives: int, detractors: int, *, n_min: int = N_MIN) -> Nps:
    """NPS = (P − D) / n × 100, passives in n (metrics.md §3.2); SE and CI from §6.2, clipped to ±100."""
    _check_counts(promoters, passives, detractors)
    n = promoters + passives + detractors
    if n == 0:
        return Nps(None, 0, 0, 0, 0, None, None, NO_RESPONSES, low_sample=True, counts_only=True)
    p, d = promoters / n, detractors / n
    value = (p - d) * 100
    se = 100 * math.sqrt(max(0.0, (p + d - (p - d) ** 2) / n))
    ci = (max(-100.0, value - Z95 * se), min(100.0, value + Z95 * se))
    return Nps(
        value,
        promoters,
        passives,
        detractors,
        n,
        se,
        ci,
        low_sample=n < n_min,
        counts_only=n < MIN_SAMPLE,
    )


def nps_from_counts(counts: Mapping[int, int], *, n_min: int = N_MIN) -> Nps:
    """NPS from {0–10 score: count}: promoters 9–10, passives 7–8, detractors 0–6."""
    c = _scale_counts(counts, 0, 10)
    promoters = sum(v for s, v in c.items() if s >= 9)
    passives = sum(v for s, v in c.items() if 7 <= s <= 8)
    detractors = sum(v for s, v in c.items() if s <= 6)
    return nps(promoters, passives, detractors, n_min=n_min)


# ------------------------------------------------------------------ comparing periods and segments

INCREASE = "increase"
DECREASE = "decrease"
NO_SIGNIFICANT_CHANGE = "no_significant_change"


@dataclass(frozen=True)
class Change:
    """A difference current − previous with its 95 % CI (metrics.md §6.3).

    `delta` is in percentage points for proportions (×100) and in points for NPS. `significant` only
    when the CI excludes 0; a screen then says "change", otherwise "no significant change" (`verdict`).
    """

    delta: float | None
    ci: tuple[float, float] | None
    significant: bool
    reason: str = ""

    @property
    def verdict(self) -> str:
        """increase | decrease | no_significant_change | the reason there is nothing to compare."""
        if self.delta is None:
            return self.reason or NO_DATA
        if not self.significant:
            return NO_SIGNIFICANT_CHANGE
        return INCREASE if self.delta > 0 else DECREASE


def _excludes_zero(ci: tuple[float, float]) -> bool:
    return ci[0] > 0 or ci[1] < 0


def newcombe(p1: float, ci1: tuple[float, float], p2: float, ci2: tuple[float, float]) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 − p2 ("method 10") from the two Wilson intervals."""
    (l1, u1), (l2, u2) = ci1, ci2
    diff = p1 - p2
    lower = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (max(-1.0, lower), min(1.0, upper))


def proportion_change(current: Proportion, previous: Proportion) -> Change:
    """current − previous in percentage points, Newcombe CI (metrics.md §6.3, §6.4 "MoM Δ in pp")."""
    if current.value is None or current.ci is None:
        return Change(None, None, False, current.reason or NO_DATA)
    if previous.value is None or previous.ci is None:
        return Change(None, None, False, previous.reason or NO_PREVIOUS)
    lo, hi = newcombe(current.value, current.ci, previous.value, previous.ci)
    ci = (lo * 100, hi * 100)
    return Change((current.value - previous.value) * 100, ci, _excludes_zero(ci))


def nps_change(current: Nps, previous: Nps) -> Change:
    """NPS difference of independent samples in points: SE = √(SE1² + SE2²), CI = Δ ± z·SE."""
    if current.value is None or current.se is None:
        return Change(None, None, False, current.reason or NO_DATA)
    if previous.value is None or previous.se is None:
        return Change(None, None, False, previous.reason or NO_PREVIOUS)
    delta = current.value - previous.value
    half = Z95 * math.sqrt(current.se**2 + previous.se**2)
    ci = (max(-200.0, delta - half), min(200.0, delta + half))
    return Change(delta, ci, _excludes_zero(ci))


def mean_change(current: Mean, previous: Mean) -> Change:
    """Difference of two mean scores with a normal-approximation CI: SE = √(sd1²/n1 + sd2²/n2).

    Needs at least two answers on each side (a standard deviation); otherwise no comparison.
    """
    if current.value is None or current.sd is None:
        return Change(None, None, False, current.reason or NO_DATA)
    if previous.value is None or previous.sd is None:
        return Change(None, None, False, previous.reason or NO_PREVIOUS)
    delta = current.value - previous.value
    half = Z95 * math.sqrt(current.sd**2 / current.n + previous.sd**2 / previous.n)
    ci = (delta - half, delta + half)
    return Change(delta, ci, _excludes_zero(ci))


def relative_change(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / previous as a fraction (0.1 = +10 %), for counts and costs (§6.4).

    None when either is missing or previous is 0 (no base to be relative to).
    """
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def recovery_paradox_gap(recovered: Proportion, no_failure: Proportion) -> Change:
    """Service recovery paradox (metrics.md §3.14): CSAT(recovered failures) − CSAT(no failure), in pp.

    Same period and case type on both sides; Newcombe CI. A judge of recovery quality, never a reason
    to tolerate failures.
    """
    return proportion_change(recovered, no_failure)


@dataclass(frozen=True)
class CountChange:
    """A count or a cost against a base period: absolute difference and relative change (§6.4)."""

    current: float | None
    previous: float | None
    delta: float | None
    relative: float | None  # fraction; None without a non-zero base


def count_change(current: float | None, previous: float | None) -> CountChange:
    delta = None if current is None or previous is None else current - previous
    return CountChange(current, previous, delta, relative_change(current, previous))


@dataclass(frozen=True)
class PeriodComparison:
    """A figure for a period beside the previous period (MoM) and the same period a year earlier (YoY)."""

    current: Any
    previous: Any
    last_year: Any
    vs_previous: Change | CountChange
    vs_last_year: Change | CountChange


def compare(current: Any, previous: Any) -> Change | CountChange:
    """The right comparison for the figure's type (metrics.md §6.3, §6.4).

    Proportions: Newcombe, in pp. NPS: independent-sample SE, in points. Means: normal approximation.
    A `Ratio` (e.g. owner continuity, reopens per case) compares its values and a duration `Summary` its
    medians, without a significance test; plain numbers (counts, costs) likewise, with a relative change.
    """
    if type(current) is not type(previous) and not (_is_number(current) and _is_number(previous)):
        raise TypeError(f"cannot compare {type(current).__name__} with {type(previous).__name__}")
    if isinstance(current, Proportion):
        return proportion_change(current, previous)
    if isinstance(current, Nps):
        return nps_change(current, previous)
    if isinstance(current, Mean):
        return mean_change(current, previous)
    if isinstance(current, Ratio):
        return count_change(current.value, previous.value)
    if isinstance(current, Summary):
        return count_change(current.median, previous.median)
    return count_change(current, previous)


def _is_number(x: Any) -> bool:
    return x is None or (isinstance(x, int | float) and not isinstance(x, bool))


def period_comparison(current: Any, previous: Any, last_year: Any) -> PeriodComparison:
    """Month-over-month (or period-over-period) and year-over-year in one go (metrics.md §6.4)."""
    return PeriodComparison(
        current, previous, last_year, compare(current, previous), compare(current, last_year)
    )


# ------------------------------------------------------------------ pooled windows and p-chart


def rolling_pool(series: Sequence[Sequence[int]], window: int) -> list[tuple[int, ...] | None]:
    """Sum each period's counts with the `window − 1` before it (metrics.md §6.4: pool, never average).

    `series` holds one tuple of counts per period, oldest first (e.g. (k, n) or (P, passives, D)).
    The first `window − 1` periods have no complete window: None.
    """
    if window < 1:
        raise ValueError("window must be 1 or more")
    out: list[tuple[int, ...] | None] = []
    for t in range(len(series)):
        if t < window - 1:
            out.append(None)
            continue
        chunk = series[t - window + 1 : t + 1]
        out.append(tuple(sum(col) for col in zip(*chunk, strict=True)))
    return out


def rolling_proportions(
    series: Sequence[tuple[int, int]], window: int, *, reason: str = NO_DATA, n_min: int = N_MIN
) -> list[Proportion]:
    """Rolling 3- or 12-month proportions from pooled (k, n) counts."""
    out = []
    for pooled in rolling_pool(series, window):
        if pooled is None:
            out.append(Proportion(None, 0, 0, None, INCOMPLETE_WINDOW, low_sample=True, counts_only=True))
        else:
            out.append(proportion(pooled[0], pooled[1], reason=reason, n_min=n_min))
    return out


def rolling_nps(series: Sequence[tuple[int, int, int]], window: int, *, n_min: int = N_MIN) -> list[Nps]:
    """Rolling NPS from pooled (promoters, passives, detractors) counts."""
    out = []
    for pooled in rolling_pool(series, window):
        if pooled is None:
            out.append(
                Nps(None, 0, 0, 0, 0, None, None, INCOMPLETE_WINDOW, low_sample=True, counts_only=True)
            )
        else:
            out.append(nps(pooled[0], pooled[1], pooled[2], n_min=n_min))
    return out


@dataclass(frozen=True)
class PChartPoint:
    k: int
    n: int
    value: float | None
    lower: float | None
    upper: float | None

    @property
    def out_of_control(self) -> bool:
        if self.value is None or self.lower is None or self.upper is None:
            return False
        return self.value < self.lower or self.value > self.upper


@dataclass(frozen=True)
class PChart:
    centre: float | None  # p̄ = Σk / Σn over every period
    points: list[PChartPoint]
    reason: str = ""


def p_chart(series: Sequence[tuple[int, int]], *, sigmas: float = 3.0) -> PChart:
    """p-chart limits p̄ ± 3·√(p̄(1 − p̄)/n_t), floored at 0 and capped at 1 (metrics.md §6.3)."""
    for k, n in series:
        _check_counts(k, n)
        if k > n:
            raise ValueError("k cannot exceed n")
    total_k = sum(k for k, _ in series)
    total_n = sum(n for _, n in series)
    if total_n == 0:
        return PChart(None, [PChartPoint(k, n, None, None, None) for k, n in series], NO_DATA)
    centre = total_k / total_n
    points = []
    for k, n in series:
        if n == 0:
            points.append(PChartPoint(k, n, None, None, None))
            continue
        half = sigmas * math.sqrt(centre * (1 - centre) / n)
        points.append(PChartPoint(k, n, k / n, max(0.0, centre - half), min(1.0, centre + half)))
    return PChart(centre, points)


# ------------------------------------------------------------------ case outcomes (§3.4–§3.9)


def fcr_outcome(
    *,
    inbound_contacts_before_resolution: int,
    reopened: bool,
    new_contact_within_window: bool,
    resolved_at: datetime,
    now: datetime,
    window_days: int = FCR_WINDOW_DAYS,
) -> str:
    """Steward's operational FCR for one resolved case (metrics.md §3.4): "fcr" | "not_fcr" | "pending".

    FCR when it had exactly one inbound customer contact before resolution, was never reopened, and the
    customer made no new contact on the same need within `window_days` of resolution. Until that window
    has closed the case is "pending", whatever happened so far: it leaves numerator AND denominator, so
    early failures do not bias a young period downwards.
    """
    if inbound_contacts_before_resolution < 0:
        raise ValueError("a contact count cannot be negative")
    if window_days < 0:
        raise ValueError("window_days must be 0 or more")
    if now < resolved_at + timedelta(days=window_days):
        return PENDING
    if inbound_contacts_before_resolution == 1 and not reopened and not new_contact_within_window:
        return FCR
    return NOT_FCR


@dataclass(frozen=True)
class FcrRate:
    rate: Proportion  # fcr / (fcr + not_fcr)
    pending: int  # resolved cases still inside their window, in neither side


def fcr_rate(outcomes: Iterable[str], *, n_min: int = N_MIN) -> FcrRate:
    """Share of first-contact resolutions among resolved cases whose window has closed."""
    tally = {FCR: 0, NOT_FCR: 0, PENDING: 0}
    for o in outcomes:
        if o not in tally:
            raise ValueError(f"unknown FCR outcome {o!r}")
        tally[o] += 1
    return fcr_rate_from_counts(tally[FCR], tally[NOT_FCR], tally[PENDING], n_min=n_min)


def fcr_rate_from_counts(fcr: int, not_fcr: int, pending: int, *, n_min: int = N_MIN) -> FcrRate:
    """`fcr_rate` of outcomes already counted (the dashboard's SQL counts): no list of a year's cases."""
    if min(fcr, not_fcr, pending) < 0:
        raise ValueError("an outcome count cannot be negative")
    return FcrRate(proportion(fcr, fcr + not_fcr, reason=NO_RESOLVED_CASES, n_min=n_min), pending)


def repeat_contact_rate(repeat_contacts: int, inbound_contacts: int, *, n_min: int = N_MIN) -> Proportion:
    """Repeat contacts / inbound contacts (metrics.md §3.5); automated messages excluded by the caller."""
    return proportion(repeat_contacts, inbound_contacts, reason=NO_CONTACTS, n_min=n_min)


@dataclass(frozen=True)
class RepeatExplanation:
    exposed: Proportion  # exposed cases with ≥ 1 repeat-explanation event / exposed cases
    all_cases: Proportion  # cases with ≥ 1 repeat-explanation event / all cases


def repeat_explanation_rates(
    *, flagged_exposed: int, exposed: int, flagged: int, cases: int, n_min: int = N_MIN
) -> RepeatExplanation:
    """Repeat-explanation rate (metrics.md §3.6), over exposed cases and over all cases.

    Exposed: ≥ 2 inbound contacts or ≥ 1 handoff. `flagged_exposed` counts the exposed cases with an
    event (adviser flag or survey "explained more than once"), `flagged` every case with one.
    """
    if flagged_exposed > flagged:
        raise ValueError("flagged exposed cases are a subset of flagged cases")
    if exposed > cases:
        raise ValueError("exposed cases are a subset of all cases")
    return RepeatExplanation(
        exposed=proportion(flagged_exposed, exposed, reason=NO_CASES, n_min=n_min),
        all_cases=proportion(flagged, cases, reason=NO_CASES, n_min=n_min),
    )


def handoff_without_summary_rate(without_summary: int, handoffs: int, *, n_min: int = N_MIN) -> Proportion:
    """Handoffs lacking a summary / handoffs (metrics.md §3.6)."""
    return proportion(without_summary, handoffs, reason=NO_HANDOFFS, n_min=n_min)


def owner_continuity(owner_changes: int, cases: int) -> Ratio:
    """1 − owner changes / cases (metrics.md §3.6). numerator = owner changes, denominator = cases.

    Not a proportion: it goes below 0 when cases change owner more than once on average.
    """
    _check_counts(owner_changes, cases)
    if cases == 0:
        return Ratio(None, owner_changes, 0, NO_CASES)
    return Ratio(1 - owner_changes / cases, owner_changes, cases)


@dataclass(frozen=True)
class ReopenRates:
    rate: Proportion  # cases reopened ≥ 1 time / cases resolved in the period
    per_case: Ratio  # Σ reopens / resolved cases (Zendesk `reopens`)


def reopen_rates(
    *, reopened_cases: int, reopens: int, resolved_cases: int, n_min: int = N_MIN
) -> ReopenRates:
    """Reopen rate and reopens per case, by the cases' resolved_at cohort (metrics.md §3.7)."""
    _check_counts(reopens)
    if reopens < reopened_cases:
        raise ValueError("every reopened case has at least one reopen")
    return ReopenRates(
        rate=proportion(reopened_cases, resolved_cases, reason=NO_CLOSED_CASES, n_min=n_min),
        per_case=ratio(reopens, resolved_cases, reason=NO_CLOSED_CASES),
    )


def promise_kept_rate(kept_on_time: int, due: int, *, n_min: int = N_MIN) -> Proportion:
    """Commitments fulfilled by their due time / commitments due in the period (metrics.md §3.9).

    Commitments the customer cancelled are left out of both counts by the caller.
    """
    return proportion(kept_on_time, due, reason=NO_COMMITMENTS, n_min=n_min)


def confirmed_solution_rate(confirmed: int, closed: int, *, n_min: int = N_MIN) -> Proportion:
    """Cases closed with the customer's confirmation / cases closed (metrics.md §3.9).

    A closure by timeout or by a manager without confirmation is in `closed` only: it is never a
    confirmation.
    """
    return proportion(confirmed, closed, reason=NO_CLOSED_CASES, n_min=n_min)


# ------------------------------------------------------------------ durations (§0, §3.8)


@dataclass(frozen=True)
class DurationSummary:
    """Median, p90 and mean of durations in seconds; negative ones are rejected and counted (§0)."""

    summary: Summary
    rejected: int

    @property
    def n(self) -> int:
        return self.summary.n


def duration_summary(values: Iterable[float | None]) -> DurationSummary:
    """Summarise durations, skipping None (not measured) and rejecting negatives (clock skew, bad import)."""
    kept: list[float] = []
    rejected = 0
    for v in values:
        if v is None:
            continue
        if v < 0 or not math.isfinite(v):
            rejected += 1
        else:
            kept.append(float(v))
    return DurationSummary(summarize(kept), rejected)
