"""Service figures for the manager dashboard (issue 5; metrics.md §0, §3, §6): SQL counts, pure formulas.

Three layers, each usable on its own (a loyalty review page can reuse any of them):

1. **Counts, in SQL.** Every figure belongs to a *family*: the rows it counts and the date that puts a
   row in a period (metrics.md §0 "period attribution").

   ============  ====================================  ==================
   family        rows                                  bucketed by
   ============  ====================================  ==================
   ``survey``    SurveyResponse                        ``responded_at``
   ``resolved``  closed cases                          ``closed_at``
   ``opened``    cases                                 ``created_at``
   ``handoff``   handoffs                              ``created_at``
   ``promise``   commitments not cancelled             ``due_at``
   ============  ====================================  ==================

   `family_counts(family, period, scope, now=…)` reads every count of the family in ONE query
   (``Count(filter=Q(…))``); `family_breakdown(…, by=<dimension>)` is the same query with a GROUP BY
   on team, owner, category, channel or kind; `family_trend(…)` GROUPs BY month (``TruncMonth`` in the
   organisation's time zone). Durations (first response, requester wait, full resolution) are the
   seconds the case services store on the case, calendar and business (steward.cases.durations):
   `duration_summary` and friends give n, median, p90, mean, max with ``percentile_cont`` on
   PostgreSQL and `metrics.percentile` (the same interpolation) over the fetched seconds on SQLite.

   A count is named ``"<figure>.<part>"``: ``"fcr.n"`` is the FCR denominator, ``"fcr.k"`` its
   numerator; survey score distributions are ``"csat=4"``, ``"nps=10"``.

2. **Figures.** `figures(period, scope, now=…)` applies the formulas of `metrics` (csat_top2, ces_easy,
   nps_from_counts, fcr_rate, reopen_rates, repeat_explanation_rates, owner_continuity, …) to the
   counts: every `Figure` carries its value (Proportion, Nps, Ratio or a duration Summary), the counts
   of its parts and companion values (`extra`). `breakdown(dimension, …)` recomputes them per group
   from the group's own counts, `trends(keys, …)` per complete month, `compare(current, previous)`
   against another period (`previous_period`) with `metrics.compare`. `FIGURES` describes each figure
   (family, label, help, unit, drill-down parts, whether lower is better).

3. **Drill-down.** `cases_behind(key, part, period, scope, now=…)` is the queryset of exactly the
   cases a count counted, built from the same Q objects as the counts (a test holds them equal).

4. **Cases at risk now.** `overdue_next_steps`, `owner_away_without_cover` (the accounts absence
   selector), `waiting_longest`: open-case querysets, one query each (plus one for who is away).

Scope filters (`Scope`) are on the case: a relationship survey answer (no case) counts only when no
scope filter is set. Nothing here writes; the presentation (value in words, flags) is in
service_display.py, the pages in service_views.py.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    F,
    FloatField,
    IntegerField,
    Max,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Length, TruncMonth
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThan
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from steward.cases import durations as case_durations
from steward.cases.models import (
    Case,
    Channel,
    Closure,
    Commitment,
    CommitmentState,
    Direction,
    Handoff,
    Kind,
    Message,
    Status,
)
from steward.cases.summaries import MIN_CHARS

from . import metrics

# ------------------------------------------------------------------ period and scope


def org_tz() -> Any:
    """The organisation's time zone: months and days of every period are cut in it."""
    return timezone.get_default_timezone()


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), org_tz())


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month (negative: before)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of aware datetimes; `first`/`last` are its calendar days."""

    start: datetime
    end: datetime

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        """Whole days `first`..`last` (inclusive) in the organisation's time zone."""
        return cls(_midnight(first), _midnight(last + timedelta(days=1)))

    @property
    def first(self) -> date:
        return timezone.localtime(self.start, org_tz()).date()

    @property
    def last(self) -> date:
        return timezone.localtime(self.end, org_tz()).date() - timedelta(days=1)


PERIOD_CHOICES = [
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("quarter", _("This quarter")),
    ("year", _("This year")),
    ("custom", _("Custom")),
]


def period_for(choice: str, *, today: date, first: date | None = None, last: date | None = None) -> Period:
    """The period a manager picked. "This month/quarter/year" run to the end of today."""
    month = today.replace(day=1)
    if choice == "last_month":
        start = add_months(month, -1)
        return Period.of_days(start, month - timedelta(days=1))
    if choice == "quarter":
        return Period.of_days(date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today)
    if choice == "year":
        return Period.of_days(date(today.year, 1, 1), today)
    if choice == "custom":
        if first is None or last is None or last < first:
            raise ValueError("a custom period needs a first and a last day, in order")
        return Period.of_days(first, last)
    return Period.of_days(month, today)


def previous_period(choice: str, period: Period) -> Period:
    """The period a figure is compared with: the same span one month, quarter or year earlier for the
    calendar choices (month to date against the previous month to the same day), else the same number
    of days just before."""
    first, last = period.first, period.last
    shift = {"this_month": 1, "last_month": 1, "quarter": 3, "year": 12}.get(choice)
    if shift is None:
        days = (last - first).days + 1
        return Period.of_days(first - timedelta(days=days), first - timedelta(days=1))

    def back(day: date) -> date:
        month = add_months(day, -shift)
        return month.replace(day=min(day.day, calendar.monthrange(month.year, month.month)[1]))

    if choice == "last_month":  # the whole month before
        start = add_months(first, -1)
        return Period.of_days(start, first - timedelta(days=1))
    return Period.of_days(back(first), back(last))


@dataclass(frozen=True)
class Scope:
    """Which cases a figure covers; any combination, empty = all cases."""

    team: int | None = None
    owner: int | None = None
    category: int | None = None
    channel: str = ""
    kind: str = ""

    @property
    def is_all(self) -> bool:
        return not (self.team or self.owner or self.category or self.channel or self.kind)

    def q(self, prefix: str = "") -> Q:
        """The filter on cases, through `prefix` ("case__" from a response, a handoff, a commitment)."""
        q = Q()
        for name, value in (
            ("team_id", self.team),
            ("owner_id", self.owner),
            ("category_id", self.category),
            ("channel", self.channel),
            ("kind", self.kind),
        ):
            if value:
                q &= Q(**{prefix + name: value})
        return q


Dimension = Literal["team", "owner", "category", "channel", "kind"]
DIMENSIONS: dict[str, Any] = {
    "team": _("Team"),
    "owner": _("Owner"),
    "category": _("Category"),
    "channel": _("Channel"),
    "kind": _("Kind"),
}
# Per dimension: the case field grouped on, then the fields its label is read from (same query).
_DIMENSION_FIELDS: dict[str, tuple[str, ...]] = {
    "team": ("team_id", "team__name"),
    "owner": ("owner_id", "owner__first_name", "owner__last_name", "owner__username"),
    "category": ("category_id", "category__name"),
    "channel": ("channel",),
    "kind": ("kind",),
}


def _dimension_label(dimension: str, row: Mapping[str, Any], prefix: str) -> str:
    def v(name: str) -> Any:
        return row[prefix + name]

    if dimension == "team":
        return str(v("team__name") or _("No team"))
    if dimension == "owner":
        full = f"{v('owner__first_name') or ''} {v('owner__last_name') or ''}".strip()
        return full or str(v("owner__username") or _("No case"))
    if dimension == "category":
        return str(v("category__name") or _("No category"))
    if dimension == "channel":
        return str(Channel(v("channel")).label) if v("channel") in Channel.values else str(_("No case"))
    return str(Kind(v("kind")).label) if v("kind") in Kind.values else str(_("No case"))


@dataclass(frozen=True)
class Group:
    """One row of a breakdown: the dimension's key (an id or a choice value) and its label."""

    key: int | str | None
    label: str


# ------------------------------------------------------------------ families: rows, parts, counts

FCR_WINDOW_DAYS = 7  # metrics.md §3.4: W


def fcr_window() -> timedelta:
    return timedelta(days=getattr(settings, "STEWARD_FCR_WINDOW_DAYS", FCR_WINDOW_DAYS))


def _count_per_case(qs: QuerySet[Any]) -> Coalesce:
    """How many rows of `qs` (already filtered on case=OuterRef("pk")) a case has, 0 for none."""
    sub = qs.order_by().values("case").annotate(c=Count("pk")).values("c")
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


# Owner changes, customer contacts up to the close and the first follow-up of every case are kept in
# steward.analytics.models.CaseContacts as the events arrive (rollups.refresh_contacts): one join here
# instead of correlated subqueries per closed case. A case without a row counts 0 / no follow-up.


def _owner_changes() -> Coalesce:
    return Coalesce(F("contacts_rollup__owner_changes"), Value(0))


def _inbound_before_close() -> Coalesce:
    """Customer contacts (inbound messages, automatic ones excluded) up to the close."""
    return Coalesce(F("contacts_rollup__inbound_before_close"), Value(0))


def _came_back() -> Q:
    """A follow-up case (same customer, same need) opened within the FCR window after the close."""
    return Q(contacts_rollup__first_follow_up_at__lte=F("closed_at") + fcr_window())


def _repeat_flagged() -> Q:
    """A repeat-explanation event: the adviser's flag, or the customer's "yes" in the case survey
    (kept per case in CaseContacts.repeat_flagged as the events arrive)."""
    return Q(contacts_rollup__repeat_flagged=True)


def _resolved_rows(now: datetime) -> QuerySet[Case]:
    return Case.objects.filter(status=Status.CLOSED)


@dataclass(frozen=True)
class Family:
    key: str
    model: type[Model]
    date_field: str
    case_prefix: str  # path from the row to its case ("" for cases)
    rows: Callable[[datetime], QuerySet[Any]]
    # figure -> part -> Q on the family's rows; "n" is the denominator, "k" the numerator.
    parts: Callable[[datetime], dict[str, dict[str, Q]]]
    extra: Callable[[], dict[str, Aggregate]] = lambda: {}


def _resolved_parts(now: datetime) -> dict[str, dict[str, Q]]:
    # Subqueries go in as lookups, not aliases, so one aggregate() or GROUP BY query does it all.
    pending = Q(closed_at__gt=now - fcr_window())
    inbound = _inbound_before_close()
    changes = _owner_changes()
    exposed = Q(GreaterThanOrEqual(inbound, 2)) | Q(GreaterThanOrEqual(changes, 1))
    return {
        "fcr": {
            "n": ~pending,
            "k": ~pending & Q(Exact(inbound, 1)) & Q(reopen_count=0) & ~_came_back(),
            "pending": pending,
        },
        "reopen": {"n": Q(), "k": Q(reopen_count__gte=1)},
        "confirmed": {"n": Q(), "k": Q(closure=Closure.CONFIRMED)},
        "repeat_explanation": {"n": exposed, "k": exposed & _repeat_flagged()},
        "repeat_explanation_all": {"n": Q(), "k": _repeat_flagged()},
        "owner_continuity": {"n": Q(), "k": Q(GreaterThanOrEqual(changes, 1))},
    }


def _survey_model() -> type[Model]:
    from steward.surveys.models import SurveyResponse

    return SurveyResponse


SURVEY_ITEMS = ("solved", "explained_more_than_once", "knew_owner_and_next_step", "solved_first_contact")
SCALES = {"csat": range(1, 6), "ces": range(1, 8), "nps": range(0, 11)}


def _survey_rows(now: datetime) -> QuerySet[Any]:
    return _survey_model()._default_manager.all()


def _five_point_csat() -> Q:
    """Answers given on a 5-point CSAT questionnaire (a subquery, not an extra query).

    A manager may move CSAT to a 7-point scale (a new questionnaire version); metrics.md §3 says never
    mix scales, so the CSAT figure, its mean and its distribution read the default 5-point answers
    only, and answers on another scale stay out of it rather than being counted on the wrong scale.
    """
    from steward.surveys.models import QuestionnaireVersion

    return Q(questionnaire_version__in=QuestionnaireVersion.objects.filter(csat_max=5).values("number"))


def _survey_parts(now: datetime) -> dict[str, dict[str, Q]]:
    five = _five_point_csat()
    parts: dict[str, dict[str, Q]] = {
        "csat": {"n": Q(csat__isnull=False) & five, "k": Q(csat__gte=4) & five},
        "ces": {"n": Q(ces__isnull=False), "k": Q(ces__gte=5)},
        "nps": {"n": Q(nps__isnull=False), "k": Q(nps__gte=9), "detractors": Q(nps__lte=6)},
    }
    for item in SURVEY_ITEMS:
        parts[item] = {"n": Q(**{f"{item}__isnull": False}), "k": Q(**{item: True})}
    return parts


def _survey_extra() -> dict[str, Aggregate]:
    """Score distributions, for the formulas that take one (csat_top2, ces_easy, nps, mean_score)."""
    five = _five_point_csat()
    return {
        f"{name}={score}": Count("pk", filter=Q(**{name: score}) & (five if name == "csat" else Q()))
        for name, scores in SCALES.items()
        for score in scores
    }


def _handoff_rows(now: datetime) -> QuerySet[Handoff]:
    return Handoff.objects.all()


def _promise_rows(now: datetime) -> QuerySet[Commitment]:
    # Commitments the customer cancelled are excluded (metrics.md §3.9).
    return Commitment.objects.exclude(state=CommitmentState.CANCELLED)


FAMILIES: dict[str, Family] = {
    "survey": Family(
        "survey",
        model=Model,  # replaced lazily: steward.surveys may load after analytics
        date_field="responded_at",
        case_prefix="case__",
        rows=_survey_rows,
        parts=_survey_parts,
        extra=_survey_extra,
    ),
    "resolved": Family(
        "resolved",
        model=Case,
        date_field="closed_at",
        case_prefix="",
        rows=_resolved_rows,
        parts=_resolved_parts,
        extra=lambda: {
            "reopen.reopens": Sum("reopen_count"),
            "owner_continuity.changes": Sum(_owner_changes()),
        },
    ),
    "opened": Family(
        "opened",
        model=Case,
        date_field="created_at",
        case_prefix="",
        rows=lambda now: Case.objects.all(),
        parts=lambda now: {
            "repeat_contact": {"n": Q(), "k": Q(is_repeat_contact=True)},
            "unanswered": {"n": Q(), "k": Q(first_response_at__isnull=True)},
        },
    ),
    "handoff": Family(
        "handoff",
        model=Handoff,
        date_field="created_at",
        case_prefix="case__",
        rows=_handoff_rows,
        parts=lambda now: {
            "handoff_summary": {
                "n": Q(),
                "k": Q(LessThan(Length("customer_need"), MIN_CHARS))
                | Q(LessThan(Length("done_so_far"), MIN_CHARS)),
            }
        },
    ),
    "promise": Family(
        "promise",
        model=Commitment,
        date_field="due_at",
        case_prefix="case__",
        rows=_promise_rows,
        parts=lambda now: {
            "promise_kept": {
                # Open commitments not yet due are pending: neither kept nor broken yet.
                "n": ~Q(state=CommitmentState.OPEN, due_at__gte=now),
                "k": Q(state=CommitmentState.KEPT, resolved_at__lte=F("due_at")),
                "pending": Q(state=CommitmentState.OPEN, due_at__gte=now),
            }
        },
    ),
}


def _in_period(family: Family, period: Period) -> Q:
    return Q(**{f"{family.date_field}__gte": period.start, f"{family.date_field}__lt": period.end})


def family_rows(family: str, period: Period, scope: Scope, *, now: datetime) -> QuerySet[Any]:
    """The rows a family counts in a period and scope (not yet narrowed to one figure's part)."""
    f = FAMILIES[family]
    if family == "survey":
        from steward.surveys.selectors import responses_in

        qs = responses_in(period.start, period.end).filter(scope.q(f.case_prefix))
        # A relationship answer has no case: it belongs to no team, owner or category.
        return qs if scope.is_all else qs.filter(case__isnull=False)
    return f.rows(now).filter(_in_period(f, period), scope.q(f.case_prefix))


Counts = dict[str, int]


def _aggregates(family: Family, now: datetime) -> dict[str, Aggregate]:
    out: dict[str, Aggregate] = {"rows": Count("pk")}
    for figure, parts in family.parts(now).items():
        n = parts.get("n", Q())
        for part, q in parts.items():
            # Every part but the denominator counts inside it (k of n); "pending" stands apart.
            cond = q if part in ("n", "pending") else n & q
            out[f"{figure}.{part}"] = Count("pk", filter=cond) if cond else Count("pk")
    out.update(family.extra())
    return out


def _clean(row: Mapping[str, Any], keys: Iterable[str]) -> Counts:
    return {k: int(row.get(k) or 0) for k in keys}


# ------------------------------------------------------------------ rollups or straight queries

# The families "opened", "resolved", "handoff" and "survey" and the durations are read from the day
# rollups (service_days: ServiceDay, SurveyDay) when they can answer exactly; the straight queries
# below stay as the reference.
_STRAIGHT = ContextVar("service_figures_straight", default=False)


@contextmanager
def straight() -> Iterator[None]:
    """Within it, every figure comes from the straight queries on the cases (the reference the tests
    compare the rollups with)."""
    token = _STRAIGHT.set(True)
    try:
        yield
    finally:
        _STRAIGHT.reset(token)


def _rollups() -> bool:
    return not _STRAIGHT.get()


def family_counts(family: str, period: Period, scope: Scope, *, now: datetime) -> Counts:
    """Every count of a family's figures for the period and scope: one query (a second one for the
    days still in the FCR window when the day rollups answer)."""
    if _rollups():
        from . import service_days

        out = service_days.counts(family, period, scope, now=now)
        if out is not None:
            return out
    return straight_family_counts(family, period, scope, now=now)


def straight_family_counts(family: str, period: Period, scope: Scope, *, now: datetime) -> Counts:
    """family_counts from the family's rows themselves: one query."""
    aggs = _aggregates(FAMILIES[family], now)
    row = family_rows(family, period, scope, now=now).aggregate(**aggs)
    return _clean(row, aggs)


def _group_fields(family: str, dimension: str) -> tuple[str, ...]:
    prefix = FAMILIES[family].case_prefix
    return tuple(prefix + name for name in _DIMENSION_FIELDS[dimension])


def family_breakdown(
    family: str, dimension: str, period: Period, scope: Scope, *, now: datetime
) -> list[tuple[Group, Counts]]:
    """The family's counts per team, owner, category, channel or kind: one GROUP BY query."""
    if dimension not in _DIMENSION_FIELDS:
        raise ValueError(f"unknown dimension {dimension!r}")
    if _rollups():
        from . import service_days

        out = service_days.breakdown(family, dimension, period, scope, now=now)
        if out is not None:
            return out
    return straight_family_breakdown(family, dimension, period, scope, now=now)


def straight_family_breakdown(
    family: str, dimension: str, period: Period, scope: Scope, *, now: datetime
) -> list[tuple[Group, Counts]]:
    """family_breakdown from the family's rows themselves: one GROUP BY query."""
    aggs = _aggregates(FAMILIES[family], now)
    fields = _group_fields(family, dimension)
    prefix = FAMILIES[family].case_prefix
    rows = (
        family_rows(family, period, scope, now=now)
        .order_by()
        .values(*fields)
        .annotate(**aggs)
        .order_by(*fields)
    )
    out = [(Group(r[fields[0]], _dimension_label(dimension, r, prefix)), _clean(r, aggs)) for r in rows]
    out.sort(key=lambda g: (g[0].key is None, g[0].label.lower()))
    return out


def complete_months(*, now: datetime, months: int = 12) -> list[date]:
    """The first days of the last `months` complete months before `now`'s month (organisation time)."""
    this_month = timezone.localtime(now, org_tz()).date().replace(day=1)
    return [add_months(this_month, -i) for i in range(months, 0, -1)]


def _month_key(value: Any) -> date:
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, org_tz())
        return value.date().replace(day=1)
    return value.replace(day=1)


def family_trend(family: str, scope: Scope, *, now: datetime, months: int = 12) -> list[tuple[date, Counts]]:
    """The family's counts per month over the last complete months: one query grouped by month.

    Months with no rows are there, with zero counts (the formulas then give None, never 0 %).
    """
    keys = complete_months(now=now, months=months)
    period = Period(_midnight(keys[0]), _midnight(add_months(keys[-1], 1)))
    by_month = None
    if _rollups():
        from . import service_days

        by_month = service_days.by_month(family, period, scope, now=now)
    if by_month is None:
        by_month = straight_by_month(family, period, scope, now=now)
    empty = dict.fromkeys(_aggregates(FAMILIES[family], now), 0)
    return [(m, by_month.get(m, dict(empty))) for m in keys]


def straight_by_month(family: str, period: Period, scope: Scope, *, now: datetime) -> dict[date, Counts]:
    """The family's counts per month (organisation time) from its rows: one query."""
    f = FAMILIES[family]
    aggs = _aggregates(f, now)
    rows = (
        family_rows(family, period, scope, now=now)
        .order_by()
        .annotate(month=TruncMonth(f.date_field, tzinfo=org_tz()))
        .values("month")
        .annotate(**aggs)
    )
    return {_month_key(r["month"]): _clean(r, aggs) for r in rows}


def case_ids_counted(
    family: str, figure: str, part: str, period: Period, scope: Scope, *, now: datetime
) -> QuerySet[Any]:
    """The ids of the cases behind one count (`figure.part`), as a subquery (no query of its own)."""
    f = FAMILIES[family]
    parts = f.parts(now)[figure]
    n = parts.get("n", Q())
    cond = parts[part] if part in ("n", "pending") else n & parts[part]
    rows = family_rows(family, period, scope, now=now).filter(cond)
    field_name = "pk" if f.model is Case else "case_id"
    return rows.filter(**{f"{field_name}__isnull": False}).values(field_name)


# ------------------------------------------------------------------ durations

# Stored on the case by the case services in calendar and business seconds (steward.cases.durations);
# empty = not measured (no human reply yet, opened by staff, open again after a reopen; a negative span
# is never stored). Each is bucketed by its family's date: first response by the opening, the others by
# the close. Open cases are right-censored: they are in no resolution time (the risk lists show them).
DURATIONS: dict[str, dict[str, Any]] = {
    "first_response": {"family": "opened", "fields": case_durations.FIRST_RESPONSE},
    "resolution": {"family": "resolved", "fields": case_durations.RESOLUTION},
    "requester_wait": {"family": "resolved", "fields": case_durations.REQUESTER_WAIT},
}


class PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Durations:
    """One duration figure's summaries: calendar seconds and business seconds of the same cases."""

    calendar: metrics.Summary
    business: metrics.Summary

    @property
    def n(self) -> int:
        return self.calendar.n


_NO_DURATIONS = Durations(metrics.summarize([]), metrics.summarize([]))


def _duration_rows(key: str, period: Period, scope: Scope, *, now: datetime) -> QuerySet[Any]:
    d = DURATIONS[key]
    return family_rows(d["family"], period, scope, now=now).filter(**{f"{d['fields'][0]}__isnull": False})


def _summaries(
    key: str, qs: QuerySet[Any], group: Sequence[str], keyfn: Callable[[Mapping[str, Any]], Any]
) -> dict[Any, Durations]:
    cal, biz = DURATIONS[key]["fields"]
    if connection.vendor == "postgresql":
        aggs: dict[str, Aggregate] = {"n": Count("pk")}
        for name, col in (("c", cal), ("b", biz)):
            aggs |= {
                f"{name}_median": PercentileCont(F(col), 0.5),
                f"{name}_p90": PercentileCont(F(col), 0.9),
                f"{name}_mean": Avg(col),
                f"{name}_max": Max(col),
                f"{name}_n": Count(col),
            }
        base = qs.order_by()
        rows: Iterable[Mapping[str, Any]] = (
            base.values(*group).annotate(**aggs) if group else [base.aggregate(**aggs)]
        )

        def summary(r: Mapping[str, Any], name: str) -> metrics.Summary:
            return metrics.Summary(
                int(r[f"{name}_n"] or 0),
                _rf(r[f"{name}_median"]),
                _rf(r[f"{name}_p90"]),
                _rf(r[f"{name}_mean"]),
                _rf(r[f"{name}_max"]),
            )

        return {keyfn(r): Durations(summary(r, "c"), summary(r, "b")) for r in rows if r["n"]}
    # SQLite has no percentile_cont: the same interpolation (metrics.percentile) over the fetched seconds.
    values: dict[Any, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for r in qs.order_by().values(*group, cal, biz).iterator(chunk_size=5000):
        c, b = values[keyfn(r)]
        c.append(float(r[cal]))
        if r[biz] is not None:
            b.append(float(r[biz]))
    return {
        k: Durations(rounded(metrics.summarize(c)), rounded(metrics.summarize(b)))
        for k, (c, b) in values.items()
    }


def _rf(x: Any) -> float | None:
    return None if x is None else round(float(x), 3)


def rounded(s: metrics.Summary) -> metrics.Summary:
    """A summary to the millisecond, so SQLite's Python percentiles and PostgreSQL's agree exactly."""
    return metrics.Summary(s.n, _rf(s.median), _rf(s.p90), _rf(s.mean), _rf(s.max))


def _measured(key: str, period: Period, scope: Scope, *, now: datetime) -> QuerySet[Any]:
    """The measured cases of a duration: their CaseContacts copies (a partial index per duration),
    or with `straight()` the cases themselves. Same rows, same columns."""
    if _rollups():
        from . import service_days

        d = DURATIONS[key]
        return service_days.duration_rows(d["family"], d["fields"][0], period, scope)
    return _duration_rows(key, period, scope, now=now)


def _month_of(key: str) -> Any:
    family = DURATIONS[key]["family"]
    if _rollups():
        from . import service_days

        return service_days.month_of(family)
    return TruncMonth(FAMILIES[family].date_field, tzinfo=org_tz())


def duration_summary(key: str, period: Period, scope: Scope, *, now: datetime) -> Durations:
    """n, median, p90, mean and max of a duration (seconds, calendar and business): one query."""
    out = _summaries(key, _measured(key, period, scope, now=now), (), lambda r: None)
    return out.get(None, _NO_DURATIONS)


def duration_breakdown(
    key: str, dimension: str, period: Period, scope: Scope, *, now: datetime
) -> dict[Any, Durations]:
    """A duration's summaries per group of a dimension (keys as in `family_breakdown`): one query."""
    if dimension not in _DIMENSION_FIELDS:
        raise ValueError(f"unknown dimension {dimension!r}")
    field = _DIMENSION_FIELDS[dimension][0]  # the key alone: the labels come with the families
    prefix = "" if _rollups() else FAMILIES[DURATIONS[key]["family"]].case_prefix
    return _summaries(
        key, _measured(key, period, scope, now=now), (prefix + field,), lambda r: r[prefix + field]
    )


def duration_trend(
    key: str, scope: Scope, *, now: datetime, months: int = 12
) -> list[tuple[date, Durations]]:
    """A duration's summaries per complete month: one query grouped by month."""
    keys = complete_months(now=now, months=months)
    period = Period(_midnight(keys[0]), _midnight(add_months(keys[-1], 1)))
    qs = _measured(key, period, scope, now=now).annotate(month=_month_of(key))
    by_month = _summaries(key, qs, ("month",), lambda r: _month_key(r["month"]))
    return [(m, by_month.get(m, _NO_DURATIONS)) for m in keys]


# ------------------------------------------------------------------ figures (formulas over counts)


Unit = Literal["percent", "points", "score", "seconds"]


@dataclass(frozen=True)
class FigureDef:
    key: str
    family: str
    label: Any
    help: Any
    unit: Unit
    # The parts a manager can open as a list of cases, with their labels.
    drill: tuple[tuple[str, Any], ...] = (("n", _("All counted")), ("k", _("Counted as yes")))
    lower_is_better: bool = False


FIGURES: dict[str, FigureDef] = {
    d.key: d
    for d in (
        FigureDef(
            "csat",
            "survey",
            _("CSAT (satisfied, 4–5 of 5)"),
            _("Share of answers of 4 or 5 on the 1–5 satisfaction question."),
            "percent",
            (("n", _("All answers")), ("k", _("Satisfied (4–5)"))),
        ),
        FigureDef(
            "ces",
            "survey",
            _("Easy to handle (CES 5–7 of 7)"),
            _("Share of answers of 5, 6 or 7 on 'made it easy for me' (CES 2.0)."),
            "percent",
            (("n", _("All answers")), ("k", _("Easy (5–7)"))),
        ),
        FigureDef(
            "nps",
            "survey",
            _("NPS"),
            _("Promoters (9–10) minus detractors (0–6), in points of all answers."),
            "points",
            (("n", _("All answers")), ("k", _("Promoters")), ("detractors", _("Detractors"))),
        ),
        FigureDef(
            "solved",
            "survey",
            _("Solved, says the customer"),
            _("Share of 'yes' to 'Is the issue solved?'."),
            "percent",
            (("n", _("All answers")), ("k", _("Yes"))),
        ),
        FigureDef(
            "solved_first_contact",
            "survey",
            _("Solved at the first contact (survey)"),
            _("Share of 'yes' to 'Was your issue resolved in your first contact?'."),
            "percent",
            (("n", _("All answers")), ("k", _("Yes"))),
        ),
        FigureDef(
            "knew_owner_and_next_step",
            "survey",
            _("Knew the owner and the next step"),
            _("Share of 'yes' to 'I knew who was handling my case and what came next'."),
            "percent",
            (("n", _("All answers")), ("k", _("Yes"))),
        ),
        FigureDef(
            "explained_more_than_once",
            "survey",
            _("Had to explain more than once (survey)"),
            _("Share of 'yes' to 'Did you have to explain your issue more than once?'."),
            "percent",
            (("n", _("All answers")), ("k", _("Yes"))),
            lower_is_better=True,
        ),
        FigureDef(
            "fcr",
            "resolved",
            _("First contact resolution"),
            _(
                "Closed cases with one customer contact before the close, no reopen and no follow-up "
                "within 7 days. Cases closed less than 7 days ago are pending and not counted."
            ),
            "percent",
            (("n", _("Counted")), ("k", _("Resolved at first contact")), ("pending", _("Pending"))),
        ),
        FigureDef(
            "reopen",
            "resolved",
            _("Reopen rate"),
            _("Closed cases that were reopened at least once."),
            "percent",
            (("n", _("Closed cases")), ("k", _("Reopened"))),
            lower_is_better=True,
        ),
        FigureDef(
            "confirmed",
            "resolved",
            _("Confirmed solution"),
            _("Closed cases the customer confirmed as solved; a close without confirmation does not count."),
            "percent",
            (("n", _("Closed cases")), ("k", _("Confirmed"))),
        ),
        FigureDef(
            "repeat_explanation",
            "resolved",
            _("Repeat explanation"),
            _(
                "Closed cases with two or more contacts or a handoff where the adviser recorded that the "
                "customer had to explain again."
            ),
            "percent",
            (("n", _("Exposed cases")), ("k", _("Explained again"))),
            lower_is_better=True,
        ),
        FigureDef(
            "owner_continuity",
            "resolved",
            _("Owner continuity"),
            _("Closed cases kept by one owner; beside it 1 − owner changes per closed case."),
            "percent",
            (("n", _("Closed cases")), ("k", _("Changed owner"))),
        ),
        FigureDef(
            "repeat_contact",
            "opened",
            _("Repeat contact"),
            _("New cases that follow up a need closed within the follow-up window."),
            "percent",
            (("n", _("Cases opened")), ("k", _("Repeat contacts"))),
            lower_is_better=True,
        ),
        FigureDef(
            "handoff_summary",
            "handoff",
            _("Handoff without a summary"),
            _("Handoffs whose written summary is missing or too short to spare the customer."),
            "percent",
            (("n", _("Handoffs")), ("k", _("Without a summary"))),
            lower_is_better=True,
        ),
        FigureDef(
            "promise_kept",
            "promise",
            _("Promise kept"),
            _("Next steps due in the period that were kept by their due time (cancelled ones excluded)."),
            "percent",
            (("n", _("Due")), ("k", _("Kept on time")), ("pending", _("Not yet due"))),
        ),
        FigureDef(
            "first_response",
            "opened",
            _("First response time"),
            _(
                "From the customer's first message to the first reply by a person; cases opened in the "
                "period by the customer (cases staff opened for a call or a visit have none)."
            ),
            "seconds",
            (("n", _("Answered")),),
            lower_is_better=True,
        ),
        FigureDef(
            "requester_wait",
            "resolved",
            _("Requester wait"),
            _(
                "Time a closed case waited on us (new, open, reopened, with a sector), not on the customer; "
                "cases closed in the period."
            ),
            "seconds",
            (("n", _("Closed cases")),),
            lower_is_better=True,
        ),
        FigureDef(
            "resolution",
            "resolved",
            _("Resolution time"),
            _("From opening to the last close, cases closed in the period."),
            "seconds",
            (("n", _("Closed cases")),),
            lower_is_better=True,
        ),
    )
}

SURVEY_FIGURES = tuple(k for k, d in FIGURES.items() if d.family == "survey")
RATE_FIGURES = tuple(k for k, d in FIGURES.items() if d.family != "survey" and d.unit != "seconds")
DURATION_FIGURES = tuple(k for k, d in FIGURES.items() if d.unit == "seconds")


@dataclass(frozen=True)
class Figure:
    """One figure: `value` is what its formula returned (metrics.Proportion, Nps, Ratio or Summary).

    `counts` are the counts of its drill-down parts ({"n": …, "k": …}); `extra` holds the companion
    values shown beside it: "mean" (metrics.Mean) for CSAT and CES, "per_case" (metrics.Ratio) for
    reopens, "all_cases" (Proportion) for repeat explanation, "changed_owner" (Proportion) for owner
    continuity, "pending" (int) for FCR and promises, "business" (metrics.Summary) for a duration, whose
    value is the calendar-time metrics.Summary.
    """

    key: str
    value: Any
    counts: Counts = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def definition(self) -> FigureDef:
        return FIGURES[self.key]

    @property
    def n(self) -> int:
        if "n" in self.counts:
            return self.counts["n"]
        return int(getattr(self.value, "n", 0) or 0)


def _distribution(counts: Counts, name: str) -> dict[int, int]:
    return {score: counts.get(f"{name}={score}", 0) for score in SCALES[name]}


def figure_from_counts(key: str, counts: Counts) -> Figure:
    """Apply the figure's formula (metrics.md §3, metrics.py) to the counts of its family."""
    n, k = counts.get(f"{key}.n", 0), counts.get(f"{key}.k", 0)
    parts = {p: counts.get(f"{key}.{p}", 0) for p, _label in FIGURES[key].drill}
    m = metrics
    if key == "csat":
        dist = _distribution(counts, "csat")
        return Figure(key, m.csat_top2(dist), parts, {"mean": m.mean_score(dist)})
    if key == "ces":
        dist = _distribution(counts, "ces")
        return Figure(key, m.ces_easy(dist), parts, {"mean": m.ces_mean(dist)})
    if key == "nps":
        return Figure(key, m.nps_from_counts(_distribution(counts, "nps")), parts)
    if key in SURVEY_ITEMS:
        return Figure(key, m.proportion(k, n, reason=m.NO_RESPONSES), parts)
    if key == "fcr":
        pending = counts.get("fcr.pending", 0)
        return Figure(key, m.fcr_rate_from_counts(k, n - k, pending).rate, parts, {"pending": pending})
    if key == "reopen":
        rr = m.reopen_rates(reopened_cases=k, reopens=counts.get("reopen.reopens", 0), resolved_cases=n)
        return Figure(key, rr.rate, parts, {"per_case": rr.per_case})
    if key == "confirmed":
        return Figure(key, m.confirmed_solution_rate(k, n), parts)
    if key == "repeat_explanation":
        r = m.repeat_explanation_rates(
            flagged_exposed=k,
            exposed=n,
            flagged=counts.get("repeat_explanation_all.k", 0),
            cases=counts.get("repeat_explanation_all.n", 0),
        )
        return Figure(key, r.exposed, parts, {"all_cases": r.all_cases})
    if key == "owner_continuity":
        changes = counts.get("owner_continuity.changes", 0)
        return Figure(
            key,
            m.owner_continuity(changes, n),
            parts,
            {"changed_owner": m.proportion(k, n, reason=m.NO_CLOSED_CASES)},
        )
    if key == "repeat_contact":
        return Figure(key, m.repeat_contact_rate(k, n), parts)
    if key == "handoff_summary":
        return Figure(key, m.handoff_without_summary_rate(k, n), parts)
    if key == "promise_kept":
        return Figure(
            key, m.promise_kept_rate(k, n), parts, {"pending": counts.get("promise_kept.pending", 0)}
        )
    raise KeyError(key)


def duration_figure(key: str, d: Durations) -> Figure:
    """A duration figure: the calendar-time summary, with the business-hours one beside it."""
    return Figure(key, d.calendar, {"n": d.n}, {"business": d.business})


def figures_from_counts(counts_by_family: Mapping[str, Counts], keys: Iterable[str]) -> dict[str, Figure]:
    return {k: figure_from_counts(k, counts_by_family[FIGURES[k].family]) for k in keys}


COUNT_FAMILIES = ("survey", "resolved", "opened", "handoff", "promise")


@dataclass(frozen=True)
class Dashboard:
    period: Period
    scope: Scope
    figures: dict[str, Figure]
    counts: dict[str, Counts]

    def get(self, key: str) -> Figure:
        return self.figures[key]


def figures(period: Period, scope: Scope, *, now: datetime) -> Dashboard:
    """Every figure of the dashboard for a period and scope: one query per family and per duration."""
    counts = {fam: family_counts(fam, period, scope, now=now) for fam in COUNT_FAMILIES}
    out = figures_from_counts(counts, [k for k in FIGURES if k not in DURATION_FIGURES])
    for key in DURATION_FIGURES:
        out[key] = duration_figure(key, duration_summary(key, period, scope, now=now))
    return Dashboard(period, scope, out, counts)


def compare(current: Dashboard, previous: Dashboard) -> dict[str, Any]:
    """Each figure against the previous period (metrics.compare): a metrics.Change for proportions and
    NPS (Newcombe / independent-sample CI, "significant" only when it excludes 0), a CountChange for
    owner continuity and the duration medians (no test)."""
    out: dict[str, Any] = {}
    for key, f in current.figures.items():
        now_v, before = f.value, previous.figures[key].value
        out[key] = metrics.compare(now_v, before)
    return out


@dataclass(frozen=True)
class BreakdownRow:
    group: Group
    figures: dict[str, Figure]


def breakdown(
    dimension: str, period: Period, scope: Scope, *, now: datetime, keys: Sequence[str] | None = None
) -> list[BreakdownRow]:
    """Figures per team / owner / category / channel / kind: one GROUP BY query per family and duration.

    Each group's figures are recomputed from its own counts (never an average of sub-group rates).
    """
    keys = list(keys or FIGURES)
    families = sorted({FIGURES[k].family for k in keys if k not in DURATION_FIGURES})
    groups: dict[Any, Group] = {}
    counts: dict[Any, dict[str, Counts]] = defaultdict(dict)
    for fam in families:
        for g, c in family_breakdown(fam, dimension, period, scope, now=now):
            groups.setdefault(g.key, g)
            counts[g.key][fam] = c
    durations = {
        k: duration_breakdown(k, dimension, period, scope, now=now) for k in keys if k in DURATION_FIGURES
    }
    rows = []
    for gkey, group in groups.items():
        fam_counts = {fam: counts[gkey].get(fam, {}) for fam in families}
        figs = figures_from_counts(fam_counts, [k for k in keys if k not in DURATION_FIGURES])
        for k, by_group in durations.items():
            figs[k] = duration_figure(k, by_group.get(gkey, _NO_DURATIONS))
        rows.append(BreakdownRow(group, figs))
    return rows


@dataclass(frozen=True)
class TrendPoint:
    month: date
    figure: Figure


def trend(key: str, scope: Scope, *, now: datetime, months: int = 12) -> list[TrendPoint]:
    """One figure per complete month (the last `months`): one query grouped by month."""
    d = FIGURES[key]
    if key in DURATION_FIGURES:
        return [
            TrendPoint(m, duration_figure(key, s))
            for m, s in duration_trend(key, scope, now=now, months=months)
        ]
    return [
        TrendPoint(m, figure_from_counts(key, c))
        for m, c in family_trend(d.family, scope, now=now, months=months)
    ]


def trends(
    keys: Sequence[str], scope: Scope, *, now: datetime, months: int = 12
) -> dict[str, list[TrendPoint]]:
    """Several figures per month with one query per family (and per duration), however many figures."""
    out: dict[str, list[TrendPoint]] = {}
    by_family: dict[str, list[tuple[date, Counts]]] = {}
    for key in keys:
        if key in DURATION_FIGURES:
            out[key] = trend(key, scope, now=now, months=months)
            continue
        fam = FIGURES[key].family
        if fam not in by_family:
            by_family[fam] = family_trend(fam, scope, now=now, months=months)
        out[key] = [TrendPoint(m, figure_from_counts(key, c)) for m, c in by_family[fam]]
    return out


# ------------------------------------------------------------------ drill-down


def cases_behind(key: str, part: str, period: Period, scope: Scope, *, now: datetime) -> QuerySet[Case]:
    """The cases counted in one part of a figure ("n" all counted, "k" the numerator, ...).

    Built from the same Q objects as the counts, so the list is exactly what the figure counted. A
    commitment or handoff figure counts rows, not cases: a case with two of them is listed once.
    """
    d = FIGURES.get(key)
    if d is None or part not in dict(d.drill):
        raise KeyError(f"{key}.{part}")
    if key in DURATION_FIGURES:
        ids = _duration_rows(key, period, scope, now=now).values("pk")
    else:
        ids = case_ids_counted(d.family, key, part, period, scope, now=now)
    return Case.objects.filter(pk__in=ids)


__all__ = [
    "DIMENSIONS",
    "FIGURES",
    "Dashboard",
    "Figure",
    "Period",
    "Scope",
    "breakdown",
    "cases_behind",
    "complete_months",
    "duration_summary",
    "family_breakdown",
    "family_counts",
    "family_trend",
    "figures",
    "period_for",
    "trend",
    "trends",
]


# ------------------------------------------------------------------ cases at risk (open cases, now)

# The case waits on us (not on the customer) in these statuses.
WAITING_ON_US = (Status.NEW, Status.OPEN, Status.REOPENED, Status.WAITING_SECTOR)
RISK_LISTS = ("overdue", "uncovered", "waiting")


def overdue_next_steps(scope: Scope, *, now: datetime) -> QuerySet[Case]:
    """Open cases whose next step (the earliest open commitment) is past due, most overdue first."""
    return (
        Case.objects.open()
        .next_step_overdue(now)
        .for_list()
        .filter(scope.q())
        .order_by(F("next_step_due").asc(), "id")
    )


def owner_away_without_cover(scope: Scope, *, now: datetime) -> QuerySet[Case]:
    """Open cases whose owner is away now and whose backup is missing, inactive or away too.

    Who is away comes from the accounts selector (one query); the cases from one more.
    """
    from steward.accounts.selectors import away_user_ids

    away = list(away_user_ids(at=now))
    uncovered = (
        Q(owner__backup__isnull=True) | Q(owner__backup__is_active=False) | Q(owner__backup_id__in=away)
    )
    return (
        Case.objects.open()
        .for_list()
        .filter(scope.q(), uncovered, owner_id__in=away)
        .order_by("created_at", "id")
    )


def waiting_longest(scope: Scope, *, now: datetime) -> QuerySet[Case]:
    """Open cases waiting on us, longest since the customer's last message first."""
    return (
        Case.objects.for_list()
        .filter(scope.q(), status__in=WAITING_ON_US)
        .annotate(waiting_since=_waiting_since())
        .order_by("waiting_since", "id")
    )


def _waiting_since() -> Any:
    """The customer's last (non-automatic) message, else the opening. The last message is kept on the
    case's CaseContacts row (rollups.refresh_contacts, at every customer message); with `straight()`
    it is read from the messages."""
    if _rollups():
        return Coalesce(F("contacts_rollup__last_inbound_at"), F("created_at"))
    last_in = (
        Message.objects.filter(case=OuterRef("pk"), direction=Direction.INBOUND, is_automatic=False)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(last_in), F("created_at"))


class _TwoStep:
    """A risk list for the Paginator, read in one query per page that picks the page's ids on the
    case table alone (narrow rows, sorted) before joining the customer, owner and next step of those
    ids only: sorting every waiting case with its joins was most of the page's time at 1M cases."""

    def __init__(self, narrow: QuerySet[Case], full: QuerySet[Case]) -> None:
        self.narrow, self.full = narrow, full

    def count(self) -> int:
        return self.narrow.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, k: slice) -> list[Case]:
        return list(self.full.filter(pk__in=self.narrow.values("pk")[k]))


def risk_page_source(name: str, scope: Scope, *, now: datetime) -> Any:
    """What the dashboard pages for a risk list (the same cases, in the same order, as `risk_list`)."""
    if name == "waiting":
        narrow = (
            Case.objects.filter(scope.q(), status__in=WAITING_ON_US)
            .annotate(waiting_since=_waiting_since())
            .order_by("waiting_since", "id")
        )
        return _TwoStep(narrow, waiting_longest(scope, now=now))
    return risk_list(name, scope, now=now)


def risk_list(name: str, scope: Scope, *, now: datetime) -> QuerySet[Case]:
    if name == "overdue":
        return overdue_next_steps(scope, now=now)
    if name == "uncovered":
        return owner_away_without_cover(scope, now=now)
    if name == "waiting":
        return waiting_longest(scope, now=now)
    raise KeyError(name)
