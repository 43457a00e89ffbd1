"""Value-chain reads: SQL aggregates over the case event log, shaped for the analysis screens.

The database does the grouping and the window functions (LAG over PARTITION BY case ORDER BY at, id)
on both engines; PostgreSQL also computes the percentiles with `percentile_cont`. SQLite has no
`percentile_cont`, so there the same percentiles come from `metrics.percentile`, which interpolates
the same way (metrics.md §4.4). Tests run the same hand-built logs on both and expect one answer.
Every function issues a fixed number of queries whatever the number of cases.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, IntegerField, Max, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from steward.accounts.models import Role, User
from steward.cases.models import Case, CaseEvent
from steward.core.business_calendar import business_minutes_between
from steward.sectors.models import Distance, Sector

from . import metrics, rollups
from .metrics import (
    TASK_CANCELLED,
    TASK_COMPLETED,
    TASK_CREATED,
    TASK_KINDS,
    TASK_RETURNED,
    TASK_TAKEN,
    TASK_WORK_LOGGED,
    EventRow,
    TaskFacts,
)
from .models import CaseFlow, FlowStep, SectorTime, TaskFact

# Rounding of seconds in every figure, so both engines' float arithmetic gives one answer.
DIGITS = 3


@dataclass(frozen=True)
class Selection:
    """Which cases an analysis covers: kind, category, opened in [date_from, date_to], or given ids."""

    kind: str = ""
    category: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    case_ids: tuple[int, ...] | None = None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def selected_cases(selection: Selection) -> QuerySet[Case]:
    qs = Case.objects.all()
    if selection.case_ids is not None:
        qs = qs.filter(pk__in=selection.case_ids)
    if selection.kind:
        qs = qs.filter(kind=selection.kind)
    if selection.category:
        qs = qs.filter(category_id=selection.category)
    if selection.date_from:
        qs = qs.filter(created_at__gte=_start_of(selection.date_from))
    if selection.date_to:
        qs = qs.filter(created_at__lt=_start_of(selection.date_to + timedelta(days=1)))
    return qs


def _cases_sql(selection: Selection) -> tuple[str, tuple[Any, ...]]:
    try:
        sql, params = selected_cases(selection).values("pk").order_by().query.sql_with_params()
    except EmptyResultSet:  # e.g. an empty list of case ids: a subquery that selects no case
        return "SELECT 0 WHERE 1 = 0", ()
    return sql, tuple(params)


def uses_rollups(selection: Selection) -> bool:
    """A period / kind / category selection reads the rollups (steward.analytics.models), maintained as
    the events arrive; an explicit list of cases (a review, a test) reads its events directly."""
    return selection.case_ids is None


def rollup_filter(selection: Selection) -> Q:
    """The rows of the selected cases in a rollup table (each row carries its case's `opened_at`)."""
    q = Q()
    if selection.kind:
        q &= Q(case__kind=selection.kind)
    if selection.category:
        q &= Q(case__category_id=selection.category)
    if selection.date_from:
        q &= Q(opened_at__gte=_start_of(selection.date_from))
    if selection.date_to:
        q &= Q(opened_at__lt=_start_of(selection.date_to + timedelta(days=1)))
    return q


def _sql_of(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    try:
        sql, params = qs.query.sql_with_params()
    except EmptyResultSet:
        return "SELECT NULL WHERE 1 = 0", ()
    return sql, tuple(params)


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), DIGITS)


def _rounded(s: metrics.Summary) -> metrics.Summary:
    return metrics.Summary(s.n, _r(s.median), _r(s.p90), _r(s.mean), _r(s.max))


def _as_dt(value: Any) -> datetime:
    """A timestamp from a raw cursor: PostgreSQL gives datetimes, SQLite text in UTC."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


# ------------------------------------------------------------------ sectors


def sectors_by_id() -> dict[int, Sector]:
    return {s.pk: s for s in Sector.objects.all()}


# ------------------------------------------------------------------ sector tasks


def task_facts(selection: Selection) -> list[TaskFacts]:
    """One row per sector task of the selected cases: from the rollups (one query over the selection's
    task rows), or for a list of cases folded from their events by one GROUP BY query."""
    if uses_rollups(selection):
        rows = (
            TaskFact.objects.filter(rollup_filter(selection))
            .order_by("created_at", "task")
            .values_list(
                "task",
                "case_id",
                "sector_id",
                "created_at",
                "target_minutes",
                "due_at",
                "taken_at",
                "ended_at",
                "end_kind",
                "work_seconds",
                "returns",
            )
        )
        return [TaskFacts(*r) for r in rows.iterator(chunk_size=5000)]
    return _fold_tasks(CaseEvent.objects.filter(case__in=selected_cases(selection)))


def sector_task_facts(sector_ids: Iterable[int], *, start: datetime, end: datetime) -> list[TaskFacts]:
    """Tasks of these sectors created in [start, end), whatever their case: before/after comparisons."""
    ids = set(sector_ids)
    created = CaseEvent.objects.filter(
        kind=TASK_CREATED, sector_id__in=ids, at__gte=start, at__lt=end
    ).annotate(tid=KeyTextTransform("task", "data"))
    events = CaseEvent.objects.annotate(tid=KeyTextTransform("task", "data")).filter(
        kind__in=TASK_KINDS, tid__in=created.values("tid")
    )
    return [t for t in _fold_tasks(events) if t.sector in ids and start <= t.created_at < end]


def _fold_tasks(events: QuerySet[CaseEvent]) -> list[TaskFacts]:

    def jint(key: str) -> Cast:
        return Cast(KeyTextTransform(key, "data"), IntegerField())

    def kind(k: str) -> Q:
        return Q(kind=k)

    rows = (
        events.filter(kind__in=TASK_KINDS)
        .annotate(task_id=jint("task"))
        .filter(task_id__isnull=False)
        .values("task_id")
        .annotate(
            case_id_=Min("case_id"),
            sector_=Min("sector_id", filter=kind(TASK_CREATED)),
            created=Min("at", filter=kind(TASK_CREATED)),
            target=Max(jint("target_minutes"), filter=kind(TASK_CREATED)),
            due=Max(KeyTextTransform("due_at", "data"), filter=kind(TASK_CREATED)),
            taken=Min("at", filter=kind(TASK_TAKEN)),
            completed=Max("at", filter=kind(TASK_COMPLETED)),
            returned=Max("at", filter=kind(TASK_RETURNED)),
            cancelled=Max("at", filter=kind(TASK_CANCELLED)),
            returns=Count("id", filter=kind(TASK_RETURNED)),
            minutes=Sum(jint("minutes"), filter=kind(TASK_WORK_LOGGED)),
        )
        .filter(created__isnull=False)
        .order_by("created", "task_id")
    )
    return [_task_from_aggregate(r) for r in rows]


def _task_from_aggregate(r: Mapping[str, Any]) -> TaskFacts:
    """A task from its aggregated events (the GROUP BY above, or rollups.fold_task_events)."""
    ends = [
        (at, k == TASK_COMPLETED, k)
        for at, k in (
            (r["completed"], TASK_COMPLETED),
            (r["returned"], TASK_RETURNED),
            (r["cancelled"], TASK_CANCELLED),
        )
        if at is not None
    ]
    # The latest end wins; on a tie in time a completion counts (as the PostgreSQL query does).
    ended_at, _, end_kind = max(ends) if ends else (None, False, "")
    return TaskFacts(
        task=r["task_id"],
        case=r["case_id_"],
        sector=r["sector_"],
        created_at=r["created"],
        target_minutes=r["target"],
        due_at=metrics.parse_instant(r["due"]) if r["due"] else None,
        taken_at=r["taken"],
        ended_at=ended_at,
        end_kind=end_kind,
        work_seconds=float((r["minutes"] or 0) * 60),
        returns=r["returns"],
    )


_PG_TASK_PERCENTILES = """
WITH ev AS (
  SELECT e.case_id, e.sector_id, e.kind, e.at, (e.data ->> 'task')::int AS task,
         (e.data ->> 'minutes')::int AS minutes, (e.data ->> 'target_minutes')::int AS target,
         CASE WHEN e.kind = 'task_created' THEN (e.data ->> 'due_at')::timestamptz END AS due
  FROM {events} e
  WHERE e.kind IN ({kinds}) AND (e.data ->> 'task') IS NOT NULL AND e.case_id IN ({cases})
), t AS (
  SELECT task,
         min(sector_id) FILTER (WHERE kind = 'task_created') AS sector,
         min(at) FILTER (WHERE kind = 'task_created') AS created,
         max(target) FILTER (WHERE kind = 'task_created') AS target,
         max(due) AS due,
         min(at) FILTER (WHERE kind = 'task_taken') AS taken,
         max(at) FILTER (WHERE kind = 'task_completed') AS completed,
         max(at) FILTER (WHERE kind IN ('task_returned', 'task_cancelled')) AS other_end,
         coalesce(sum(minutes) FILTER (WHERE kind = 'task_work_logged'), 0) * 60.0 AS work
  FROM ev GROUP BY task
), m AS (
  SELECT sector,
         extract(epoch FROM taken - created)::float8 AS queue,
         CASE WHEN completed IS NOT NULL OR other_end IS NOT NULL THEN work END AS work,
         CASE WHEN completed IS NOT NULL AND (other_end IS NULL OR completed >= other_end)
              THEN extract(epoch FROM completed - created)::float8 END AS elapsed,
         CASE WHEN completed IS NOT NULL AND (other_end IS NULL OR completed >= other_end)
              THEN extract(epoch FROM completed - due)::float8 END AS past_due
  FROM t WHERE created IS NOT NULL
)
SELECT sector,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY queue), percentile_cont(0.9) WITHIN GROUP (ORDER BY queue),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY work), percentile_cont(0.9) WITHIN GROUP (ORDER BY work),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY elapsed), percentile_cont(0.9) WITHIN GROUP (ORDER BY elapsed),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN past_due IS NOT NULL THEN greatest(0, past_due) END),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY CASE WHEN past_due IS NOT NULL THEN greatest(0, past_due) END)
FROM m GROUP BY sector
"""


def _pg_task_percentiles(selection: Selection) -> dict[int | None, dict[str, tuple[Any, Any]]]:
    cases, params = _cases_sql(selection)
    sql = _PG_TASK_PERCENTILES.format(
        events=connection.ops.quote_name(CaseEvent._meta.db_table),
        kinds=", ".join(["%s"] * len(TASK_KINDS)),
        cases=cases,
    )
    with connection.cursor() as cur:
        cur.execute(sql, (*TASK_KINDS, *params))
        rows = cur.fetchall()
    names = ("queue", "work", "elapsed", "lateness")
    return {r[0]: {n: (r[1 + 2 * i], r[2 + 2 * i]) for i, n in enumerate(names)} for r in rows}


@dataclass(frozen=True)
class SectorRow:
    sector: Sector | None
    stats: metrics.SectorStats
    share_of_waiting: metrics.Ratio
    is_bottleneck: bool
    attributed_seconds: float  # lead time attributed to the sector (1/k while k sectors hold the case)
    utilisation: metrics.Ratio  # Σ work logged / (members × business time of the tasks' window)
    near_capacity: bool  # utilisation ≥ metrics.UTILISATION_ALERT


@dataclass(frozen=True)
class SectorTable:
    rows: list[SectorRow]
    bottleneck: metrics.Bottleneck
    cases: int
    resolved_cases: int
    lead: metrics.Summary  # lead time of resolved cases
    front_line_seconds: float
    customer_seconds: float
    total_lead_seconds: float


def attributions(selection: Selection, *, now: datetime) -> list[metrics.Attribution]:
    """Lead-time attribution of every selected case, from one ordered read of the events that matter."""
    kinds = (
        "opened",
        "status",
        "message_out",
        "solution_proposed",
        "reopened",
        *metrics.CLOSING_KINDS,
        *TASK_KINDS,
    )
    rows = (
        CaseEvent.objects.filter(case__in=selected_cases(selection), kind__in=kinds)
        .order_by("case_id", "at", "id")
        .values_list("case_id", "id", "at", "kind", "sector_id", "data")
    )
    by_case: dict[int, list[EventRow]] = defaultdict(list)
    for case_id, pk, at, kind, sector, data in rows.iterator(chunk_size=5000):
        by_case[case_id].append(EventRow(case_id, pk, at, kind, sector, data or {}))
    out = []
    for evs in by_case.values():
        a = metrics.lead_time_attribution(evs, now=now)
        if a is not None:
            out.append(a)
    return out


@dataclass(frozen=True)
class LeadTotals:
    """The lead-time attribution of a selection, summed over its cases."""

    cases: int
    resolved_cases: int
    lead: metrics.Summary  # lead time of the resolved cases (unrounded)
    total_seconds: float  # Σ lead, open cases counted to `now`
    front_line_seconds: float
    customer_seconds: float
    attributed: dict[int | None, float]  # sector -> seconds


def lead_totals(selection: Selection, *, now: datetime) -> LeadTotals:
    """From the rollups (4 queries, whatever the number of cases), or from the events of a case list."""
    if not uses_rollups(selection):
        atts = attributions(selection, now=now)
        attributed: dict[int | None, float] = defaultdict(float)
        for a in atts:
            for s, v in a.sectors.items():
                attributed[s] += float(v)
        resolved = [float(a.lead) for a in atts if a.resolved]
        return LeadTotals(
            cases=len(atts),
            resolved_cases=len(resolved),
            lead=metrics.summarize(resolved),
            total_seconds=float(sum((a.lead for a in atts), start=0)),
            front_line_seconds=float(sum((a.front_line for a in atts), start=0)),
            customer_seconds=float(sum((a.customer for a in atts), start=0)),
            attributed=dict(attributed),
        )
    us = 1_000_000
    flows = CaseFlow.objects.filter(rollup_filter(selection))
    tails: list[tuple[str, int]]
    if connection.vendor == "postgresql":
        # One aggregate per holder after the last event: resolved cases have none (tail ""), so that
        # group's percentiles are the resolved lead times'; an open case's time runs on to `now`.
        cols = ("resolved", "lead_us", "front_us", "customer_us", "start_at", "last_at", "tail")
        sql, params = _sql_of(flows.values(*cols).order_by())
        with connection.cursor() as cur:
            r = "FILTER (WHERE resolved)"
            cur.execute(
                f"SELECT tail, count(*), count(*) {r}, sum(lead_us), sum(front_us), sum(customer_us), "
                f"sum(lead_us) {r}, max(lead_us) {r}, "
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY lead_us::float8 / 1000000) {r}, "
                f"percentile_cont(0.9) WITHIN GROUP (ORDER BY lead_us::float8 / 1000000) {r}, "
                "sum(greatest(0, extract(epoch FROM %s - greatest(last_at, start_at)) * 1000000)) "
                "FILTER (WHERE NOT resolved) "
                f"FROM ({sql}) f GROUP BY tail",
                (now, *params),
            )
            groups = cur.fetchall()
        n = sum(g[1] for g in groups)
        n_resolved = sum(g[2] for g in groups)
        lead_us = sum(int(g[3] or 0) for g in groups)
        front_us = sum(int(g[4] or 0) for g in groups)
        customer_us = sum(int(g[5] or 0) for g in groups)
        done = [g for g in groups if g[2]]
        resolved_sum, resolved_max, median, p90 = done[0][6:10] if done else (0, None, None, None)
        tails = [(g[0], int(g[10] or 0)) for g in groups if g[10] is not None]
    else:
        # SQLite (tests, small installs): one read of the selection's rows, summed here.
        rows = list(
            flows.values_list("resolved", "lead_us", "front_us", "customer_us", "start_at", "last_at", "tail")
        )
        leads = [r[1] for r in rows if r[0]]
        n, n_resolved = len(rows), len(leads)
        lead_us = sum(r[1] for r in rows)
        front_us = sum(r[2] for r in rows)
        customer_us = sum(r[3] for r in rows)
        resolved_sum, resolved_max = sum(leads), max(leads, default=None)
        median = metrics.percentile([x / us for x in leads], 0.5)
        p90 = metrics.percentile([x / us for x in leads], 0.9)
        tails = []
        for _resolved, _lead, _front, _cust, start_at, last_at, tail in (r for r in rows if not r[0]):
            delta = max(now, start_at) - max(last_at, start_at)
            tails.append((tail, max(0, delta.days * 86400 * us + delta.seconds * us + delta.microseconds)))
    n_resolved = int(n_resolved or 0)
    lead_us, front_us, customer_us = int(lead_us or 0), int(front_us or 0), int(customer_us or 0)
    sector_tails: dict[int | None, Fraction] = defaultdict(Fraction)
    # Open cases: from their last event to `now` the time goes to whoever holds them then.
    for tail, t in tails:
        lead_us += t
        if tail == rollups.FRONT:
            front_us += t
        elif tail.startswith("s:"):
            holders = rollups.tail_sectors(tail)
            for s in holders:
                sector_tails[s] += Fraction(t, us * len(holders))
        else:
            customer_us += t
    attributed = {
        s: float(v or 0.0)
        for s, v in SectorTime.objects.filter(rollup_filter(selection))
        .values_list("sector_id")
        .annotate(v=Sum("seconds"))
        .values_list("sector_id", "v")
    }
    for s, v in sector_tails.items():
        attributed[s] = attributed.get(s, 0.0) + float(v)
    return LeadTotals(
        cases=int(n or 0),
        resolved_cases=n_resolved,
        lead=metrics.Summary(
            n_resolved,
            median,
            p90,
            float(Fraction(int(resolved_sum), us * n_resolved)) if n_resolved else None,
            int(resolved_max) / us if n_resolved and resolved_max is not None else None,
        ),
        total_seconds=float(Fraction(lead_us, us)),
        front_line_seconds=float(Fraction(front_us, us)),
        customer_seconds=float(Fraction(customer_us, us)),
        attributed=attributed,
    )


def _utilisation(facts: list[metrics.TaskFacts], *, now: datetime) -> dict[int | None, metrics.Ratio]:
    """Per sector: work logged on the selected tasks over its members' business time in their window.

    One query (active members per sector). With a kind or category filter this is the selection's
    share of the sector's capacity, not the sector's whole load.
    """
    work: dict[int | None, float] = defaultdict(float)
    for t in facts:
        work[t.sector] += t.work_seconds
    return _utilisation_of(work, metrics.activity_window(facts, now=now))


def _utilisation_of(
    work: dict[int | None, float], window: tuple[datetime, datetime] | None
) -> dict[int | None, metrics.Ratio]:
    if window is None:
        return {}
    available = 60.0 * max(0, business_minutes_between(*window))
    staff = dict(
        User.objects.filter(is_active=True, role=Role.SECTOR_MEMBER, sector__isnull=False)
        .values_list("sector_id")
        .annotate(n=Count("pk"))
        .values_list("sector_id", "n")
    )
    return {
        s: metrics.utilisation(
            work_seconds=w, staff=staff.get(s, 0) if s is not None else 0, available_seconds=available
        )
        for s, w in work.items()
    }


_PG_SECTOR_STATS = """
SELECT sector_id, count(*), count(*) FILTER (WHERE completed), count(*) FILTER (WHERE ended_at IS NULL),
  coalesce(sum(returns), 0), count(past_due), count(*) FILTER (WHERE past_due <= 0),
  {queue}, {work}, {elapsed}, {lateness}, {target},
  sum(waiting), percentile_cont(0.9) WITHIN GROUP (ORDER BY past_due),
  sum(work_seconds), min(created_at), max(coalesce(ended_at, %s))
FROM (
  SELECT sector_id, returns, created_at, ended_at, work_seconds, completed,
    extract(epoch FROM taken_at - created_at)::float8 AS queue,
    CASE WHEN ended_at IS NOT NULL THEN work_seconds END AS work,
    CASE WHEN completed THEN extract(epoch FROM ended_at - created_at)::float8 END AS elapsed,
    CASE WHEN completed THEN extract(epoch FROM ended_at - due_at)::float8 END AS past_due,
    CASE WHEN completed AND due_at IS NOT NULL
      THEN greatest(0, extract(epoch FROM ended_at - due_at)::float8) END AS lateness,
    target_minutes * 60.0::float8 AS target,
    greatest(0, extract(epoch FROM coalesce(taken_at, ended_at, %s) - created_at)::float8) AS waiting
  FROM (SELECT *, (end_kind = 'task_completed' AND ended_at IS NOT NULL) AS completed FROM ({tasks}) t0) t
) x GROUP BY sector_id
"""


def _pg_summary_sql(col: str) -> str:
    return (
        f"count({col}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {col}), "
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {col}), avg({col}), max({col})"
    )


def _rollup_sector_stats(
    selection: Selection, *, now: datetime
) -> tuple[dict[int | None, metrics.SectorStats], dict[int | None, float], tuple[datetime, datetime] | None]:
    """PostgreSQL: metrics.sector_stats over the selection's task rollups in one GROUP BY, with the
    work per sector and the activity window the utilisation needs."""
    tasks = TaskFact.objects.filter(rollup_filter(selection)).values(
        "sector_id",
        "returns",
        "created_at",
        "ended_at",
        "end_kind",
        "work_seconds",
        "taken_at",
        "due_at",
        "target_minutes",
    )
    sql, params = _sql_of(tasks.order_by())
    names = ("queue", "work", "elapsed", "lateness", "target")
    query = _PG_SECTOR_STATS.format(tasks=sql, **{n: _pg_summary_sql(n) for n in names})
    with connection.cursor() as cur:
        cur.execute(query, (now, now, *params))
        rows = cur.fetchall()
    stats: dict[int | None, metrics.SectorStats] = {}
    work: dict[int | None, float] = {}
    starts, ends = [], []
    for r in rows:
        sector, n, completed, n_open, returns, judged, on_time = r[:7]
        summaries = []
        for i in range(len(names)):
            k, med, p90, mean, mx = r[7 + 5 * i : 12 + 5 * i]
            summaries.append(
                metrics.Summary(int(k), med, p90, float(mean), mx)
                if k
                else metrics.Summary(0, None, None, None, None)
            )
        waiting, p90_over, work_total, first, last = r[7 + 5 * len(names) :]
        stats[sector] = metrics.SectorStats(
            sector=sector,
            tasks=int(n),
            completed=int(completed),
            open=int(n_open),
            returns=int(returns),
            on_time=metrics.ratio(int(on_time), int(judged), reason="no_completed_tasks"),
            queue=summaries[0],
            work=summaries[1],
            elapsed=summaries[2],
            lateness=summaries[3],
            target=summaries[4],
            waiting_total=float(waiting or 0.0),
            p90_over_target=p90_over is not None and p90_over > 0,
        )
        work[sector] = float(work_total or 0.0)
        starts.append(first)
        ends.append(last)
    window = (min(starts), max(min(starts), max(ends))) if starts else None
    return stats, work, window


def sector_table(selection: Selection, *, now: datetime) -> SectorTable:
    """Per sector: tasks, on-time rate, queue / work / elapsed (median, p90), lateness, returns."""
    rho: dict[int | None, metrics.Ratio]
    if connection.vendor == "postgresql" and uses_rollups(selection):
        stats, work, window = _rollup_sector_stats(selection, now=now)
        rho = _utilisation_of(work, window)
    else:
        facts = task_facts(selection)
        stats = metrics.sector_stats(facts, now=now)
        rho = _utilisation(facts, now=now)
    if connection.vendor == "postgresql" and not uses_rollups(selection):
        # On the rollups the Python interpolation (metrics.percentile, the same formula as
        # percentile_cont) runs over the task rows already read: one query fewer.
        pct = _pg_task_percentiles(selection)
        for sector, st in list(stats.items()):
            p = pct.get(sector, {})

            def with_pg(s: metrics.Summary, key: str, p: dict[str, tuple[Any, Any]] = p) -> metrics.Summary:
                med, p90 = p.get(key, (None, None))
                return dataclasses.replace(s, median=med, p90=p90) if s.n else s

            stats[sector] = dataclasses.replace(
                st,
                queue=with_pg(st.queue, "queue"),
                work=with_pg(st.work, "work"),
                elapsed=with_pg(st.elapsed, "elapsed"),
                lateness=with_pg(st.lateness, "lateness"),
            )
    # Σ waiting to the millisecond like every other figure, so summation order never shows.
    stats = {
        s: dataclasses.replace(st, waiting_total=round(st.waiting_total, DIGITS)) for s, st in stats.items()
    }
    lead = lead_totals(selection, now=now)
    total_lead = lead.total_seconds
    attributed = lead.attributed
    neck = metrics.bottleneck(stats, total_lead_seconds=total_lead)
    sectors = sectors_by_id()
    rows = [
        SectorRow(
            sector=sectors.get(s) if s is not None else None,
            stats=dataclasses.replace(
                st,
                queue=_rounded(st.queue),
                work=_rounded(st.work),
                elapsed=_rounded(st.elapsed),
                lateness=_rounded(st.lateness),
                target=_rounded(st.target),
            ),
            share_of_waiting=neck.shares[s],
            is_bottleneck=neck.sector == s,
            attributed_seconds=round(attributed.get(s, 0.0), DIGITS),
            utilisation=rho.get(s, metrics.ratio(0, 0, reason="no_staff")),
            near_capacity=metrics.is_near_capacity(rho.get(s, metrics.ratio(0, 0))),
        )
        for s, st in stats.items()
    ]
    rows.sort(key=lambda r: (r.sector.distance if r.sector else 99, r.sector.name if r.sector else ""))
    return SectorTable(
        rows=rows,
        bottleneck=neck,
        cases=lead.cases,
        resolved_cases=lead.resolved_cases,
        lead=_rounded(lead.lead),
        front_line_seconds=round(lead.front_line_seconds, DIGITS),
        customer_seconds=round(lead.customer_seconds, DIGITS),
        total_lead_seconds=round(total_lead, DIGITS),
    )


# ------------------------------------------------------------------ directly-follows graph


_DFG_STEPS = """
SELECT prev_sector, sector_id, prev_at, at FROM (
  SELECT e.sector_id, e.at,
         LAG(e.sector_id) OVER w AS prev_sector,
         LAG(e.at) OVER w AS prev_at
  FROM {events} e
  WHERE e.sector_id IS NOT NULL AND e.case_id IN ({cases})
  WINDOW w AS (PARTITION BY e.case_id ORDER BY e.at, e.id)
) s WHERE prev_sector IS NOT NULL AND prev_sector <> sector_id
"""

_PG_DFG = """
SELECT prev_sector, sector_id, count(*),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY wait), percentile_cont(0.9) WITHIN GROUP (ORDER BY wait),
  avg(wait), max(wait)
FROM (SELECT prev_sector, sector_id, extract(epoch FROM at - prev_at)::float8 AS wait
      FROM ({steps}) d) w
GROUP BY prev_sector, sector_id ORDER BY prev_sector, sector_id
"""


def dfg_edges(selection: Selection) -> list[metrics.Edge]:
    """Sector-to-sector directly-follows edges with count and wait (median, p90, mean, max)."""
    if uses_rollups(selection):
        return _rollup_dfg_edges(selection)
    cases, params = _cases_sql(selection)
    steps = _DFG_STEPS.format(events=connection.ops.quote_name(CaseEvent._meta.db_table), cases=cases)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(_PG_DFG.format(steps=steps), params)
            return [
                metrics.Edge(a, b, n, metrics.Summary(n, _r(med), _r(p90), _r(mean), _r(mx)))
                for a, b, n, med, p90, mean, mx in cur.fetchall()
            ]
        cur.execute(steps, params)
        waits: dict[tuple[int, int], list[float]] = defaultdict(list)
        for a, b, prev_at, at in cur.fetchall():
            waits[(a, b)].append((_as_dt(at) - _as_dt(prev_at)).total_seconds())
    return [dataclasses.replace(e, wait=_rounded(e.wait)) for e in metrics.edges_from_waits(waits)]


# ------------------------------------------------------------------ handoffs and ping-pong

_RUNS = """
WITH seq AS (
  SELECT e.case_id, e.sector_id, e.at, e.id,
         LAG(e.sector_id) OVER (PARTITION BY e.case_id ORDER BY e.at, e.id) AS prev
  FROM {events} e
  WHERE e.sector_id IS NOT NULL AND e.case_id IN ({cases})
), runs AS (
  SELECT case_id, sector_id, LAG(sector_id, 1) OVER w AS p1, LAG(sector_id, 2) OVER w AS p2
  FROM seq WHERE prev IS NULL OR prev <> sector_id
  WINDOW w AS (PARTITION BY case_id ORDER BY at, id)
)
"""


def handoff_summary(selection: Selection) -> metrics.HandoffSummary:
    """Handoffs between sectors (collapsed sequence) and A → B → A ping-pong, per sector pair.

    Same answers as metrics.handoff_summary(sequences, round_trips_from=<front-line sectors>).
    """
    if uses_rollups(selection):
        return _rollup_handoff_summary(selection)
    cases, params = _cases_sql(selection)
    head = _RUNS.format(events=connection.ops.quote_name(CaseEvent._meta.db_table), cases=cases)
    # A → B → A is a ping-pong unless A is the front line (metrics.ping_pongs says why).
    sectors = connection.ops.quote_name(Sector._meta.db_table)
    pp = (
        f"p2 = sector_id AND sector_id IN (SELECT id FROM {sectors} WHERE distance > {Distance.FRONT_LINE:d})"
    )
    with connection.cursor() as cur:
        # Per step B → A: how many, and how many of them closed an A → B → A.
        cur.execute(
            head + f"SELECT p1, sector_id, count(*), sum(CASE WHEN {pp} THEN 1 ELSE 0 END) "
            "FROM runs WHERE p1 IS NOT NULL GROUP BY p1, sector_id",
            params,
        )
        steps = cur.fetchall()
        cur.execute(
            head + "SELECT count(DISTINCT case_id), "
            f"count(DISTINCT CASE WHEN {pp} THEN case_id END) FROM runs",
            params,
        )
        n_cases, with_pp = cur.fetchone()
    pp_by_pair = {(a_to, b_from): int(pp) for b_from, a_to, _n, pp in steps}  # closing step b → a
    pairs = [
        metrics.PairStats(
            a, b, int(n), pp_by_pair.get((a, b), 0), metrics.ratio(pp_by_pair.get((a, b), 0), n)
        )
        for a, b, n, _pp in sorted(steps)
    ]
    total = sum(int(n) for _a, _b, n, _pp in steps)
    return metrics.HandoffSummary(
        cases=int(n_cases),
        handoffs=total,
        cases_with_ping_pong=int(with_pp),
        ping_pong_rate=metrics.ratio(int(with_pp), int(n_cases), reason="no_cases"),
        handoffs_per_case=metrics.ratio(total, int(n_cases), reason="no_cases"),
        pairs=pairs,
    )


def _rollup_dfg_edges(selection: Selection) -> list[metrics.Edge]:
    """The edges from the rollup steps: one aggregate over the selection's steps."""
    steps = FlowStep.objects.filter(rollup_filter(selection))
    if connection.vendor == "postgresql":
        sql, params = _sql_of(steps.values("source", "target", "wait").order_by())
        with connection.cursor() as cur:
            cur.execute(
                "SELECT source, target, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY wait), "
                "percentile_cont(0.9) WITHIN GROUP (ORDER BY wait), avg(wait), max(wait) "
                f"FROM ({sql}) w GROUP BY source, target ORDER BY source, target",
                params,
            )
            return [
                metrics.Edge(a, b, n, metrics.Summary(n, _r(med), _r(p90), _r(mean), _r(mx)))
                for a, b, n, med, p90, mean, mx in cur.fetchall()
            ]
    waits: dict[tuple[int, int], list[float]] = defaultdict(list)
    for a, b, w in steps.order_by("id").values_list("source", "target", "wait"):
        waits[(a, b)].append(w)
    return [dataclasses.replace(e, wait=_rounded(e.wait)) for e in metrics.edges_from_waits(waits)]


def _rollup_handoff_summary(selection: Selection) -> metrics.HandoffSummary:
    """Handoffs and ping-pong from the rollup steps: three aggregates, whatever the number of cases."""
    q = rollup_filter(selection)
    steps = FlowStep.objects.filter(q)
    behind = Sector.objects.filter(distance__gt=Distance.FRONT_LINE).values("pk")
    pp = Q(before=F("target"), target__in=behind)
    rows = sorted(
        steps.values_list("source", "target")
        .annotate(n=Count("pk"), n_pp=Count("pk", filter=pp))
        .values_list("source", "target", "n", "n_pp")
        .order_by()
    )
    n_cases = CaseFlow.objects.filter(q, has_sector=True).count()
    with_pp = steps.filter(pp).values("case_id").distinct().count()
    pp_by_pair = {(a_to, b_from): int(n_pp) for b_from, a_to, _n, n_pp in rows}
    pairs = [
        metrics.PairStats(
            a, b, int(n), pp_by_pair.get((a, b), 0), metrics.ratio(pp_by_pair.get((a, b), 0), n)
        )
        for a, b, n, _pp in rows
    ]
    total = sum(int(n) for _a, _b, n, _pp in rows)
    return metrics.HandoffSummary(
        cases=n_cases,
        handoffs=total,
        cases_with_ping_pong=with_pp,
        ping_pong_rate=metrics.ratio(with_pp, n_cases, reason="no_cases"),
        handoffs_per_case=metrics.ratio(total, n_cases, reason="no_cases"),
        pairs=pairs,
    )


# ------------------------------------------------------------------ event log export


@dataclass(frozen=True)
class ExportRow:
    case: int
    event: int
    kind: str
    at: datetime
    resource: str
    group: str
    lifecycle: str
    case_kind: str
    category: str


LIFECYCLE = {
    TASK_CREATED: "assign",
    TASK_TAKEN: "start",
    TASK_COMPLETED: "complete",
    TASK_RETURNED: "ate_abort",
    TASK_CANCELLED: "withdraw",
}


def export_rows(selection: Selection, *, chunk_size: int = 2000) -> Iterable[ExportRow]:
    """The selected cases' events in log order, streamed from a server-side cursor."""
    rows = (
        CaseEvent.objects.filter(case__in=selected_cases(selection))
        .order_by("case_id", "at", "id")
        .values_list(
            "case_id",
            "id",
            "kind",
            "at",
            "actor__username",
            "sector__name",
            "case__kind",
            "case__category__name",
        )
    )
    for case_id, pk, kind, at, username, sector, case_kind, category in rows.iterator(chunk_size=chunk_size):
        yield ExportRow(
            case=case_id,
            event=pk,
            kind=kind,
            at=at,
            resource=username or "",
            group=sector or "",
            lifecycle=LIFECYCLE.get(kind, "complete"),
            case_kind=case_kind,
            category=category or "",
        )


# ------------------------------------------------------------------ the whole analysis of a selection


@dataclass(frozen=True)
class EdgeRow:
    source: Sector
    target: Sector
    edge: metrics.Edge
    into_bottleneck: bool


@dataclass(frozen=True)
class Analysis:
    table: SectorTable
    edges: list[EdgeRow]
    handoffs: metrics.HandoffSummary
    pairs: list[tuple[Sector, Sector, metrics.PairStats]]
    dot: str

    @property
    def bottleneck(self) -> Sector | None:
        return next((r.sector for r in self.table.rows if r.is_bottleneck), None)


def analysis(selection: Selection, *, now: datetime) -> Analysis:
    """Sector table, process map (DOT and edge table) and handoffs of one selection: a fixed query count."""
    from .processmap import Node, build_dot

    table = sector_table(selection, now=now)
    edges = dfg_edges(selection)
    handoffs = handoff_summary(selection)
    sectors = sectors_by_id()
    neck = table.bottleneck.sector
    nodes = {pk: Node(pk, s.name, s.distance) for pk, s in sectors.items()}
    edge_rows = [
        EdgeRow(sectors[e.source], sectors[e.target], e, e.target == neck)
        for e in edges
        if e.source in sectors and e.target in sectors
    ]
    edge_rows.sort(key=lambda r: (r.source.distance, r.source.name, r.target.distance, r.target.name))
    pairs = [
        (sectors[p.source], sectors[p.target], p)
        for p in handoffs.pairs
        if p.source in sectors and p.target in sectors
    ]
    dot = build_dot(nodes=nodes, edges=edges, bottleneck=neck)
    return Analysis(table=table, edges=edge_rows, handoffs=handoffs, pairs=pairs, dot=dot)
