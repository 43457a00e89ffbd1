"""Value-chain formulas (metrics.md §4): pure functions over event rows, no database.

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
