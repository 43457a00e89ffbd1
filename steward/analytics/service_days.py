"""The service dashboard's families read from the day rollups (models.ServiceDay, SurveyDay, CaseContacts).

`service_figures.family_counts`, `family_breakdown`, `family_trend` and the duration summaries come
here first for the families "opened", "resolved", "handoff" and "survey" (SurveyDay, survey_rollup);
what this module cannot answer exactly it
declines (None) and the straight query on the cases answers (it stays the reference, see
`service_figures.straight`):

- a scope of one field, or none, is a set of ServiceDay rows (`dim`, `key`); two fields or more (or a
  breakdown by another field than the one filtered on) decline;
- a period must be whole days of the organisation (every period of the dashboard is);
- the days still inside the FCR window are read from the CaseContacts copies of the cases closed then
  (at most a week of them, through the closed_at index), because whether a case is pending depends
  on `now`: `tail_aggregates` are the straight query's conditions on the copy's columns.

Durations read every value of the period (exact medians and p90 cannot be summed from days) from
CaseContacts, through a partial index per duration that holds only the measured cases.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from . import survey_rollup
from .models import CaseContacts, ServiceDay, SurveyDay
from .service_rollup import COUNTERS, HANDOFF, OPENED, RESOLVED, local_day

if TYPE_CHECKING:
    from .service_figures import Counts, Group, Period, Scope

FAMILIES = {"opened": OPENED, "resolved": RESOLVED, "handoff": HANDOFF}
SURVEY = "survey"  # its own table, SurveyDay
ANSWERED = {*FAMILIES, SURVEY}
ALL_CASES_ONLY = {"handoff"}  # kept for all cases only (models.ServiceDay)
SCOPE_FIELDS = ("team", "owner", "category", "channel", "kind")


def _counts(family: str, s: dict[str, Any]) -> Counts:
    """The family's counts (the keys of service_figures._aggregates) from summed ServiceDay columns."""
    if family == SURVEY:
        return {
            k: int(s.get(f"s_{c}") or 0)
            for k, c in zip(survey_rollup.KEYS, survey_rollup.COLUMNS, strict=True)
        }
    v = {c: int(s.get(f"s_{c}") or 0) for c in COUNTERS}
    rows = v["rows"]
    if family == "handoff":
        return {"rows": rows, "handoff_summary.n": rows, "handoff_summary.k": v["short_summary"]}
    if family == "opened":
        return {
            "rows": rows,
            "repeat_contact.n": rows,
            "repeat_contact.k": v["repeat_contact"],
            "unanswered.n": rows,
            "unanswered.k": v["unanswered"],
        }
    return {
        "rows": rows,
        "fcr.n": rows,  # the window's days (the only pending ones) are added from the cases
        "fcr.k": v["fcr_k"],
        "fcr.pending": 0,
        "reopen.n": rows,
        "reopen.k": v["reopened"],
        "confirmed.n": rows,
        "confirmed.k": v["confirmed"],
        "repeat_explanation.n": v["exposed"],
        "repeat_explanation.k": v["exposed_flagged"],
        "repeat_explanation_all.n": rows,
        "repeat_explanation_all.k": v["flagged"],
        "owner_continuity.n": rows,
        "owner_continuity.k": v["changed_owner"],
        "reopen.reopens": v["reopens"],
        "owner_continuity.changes": v["owner_changes"],
    }


def _add(a: Counts, b: Counts) -> Counts:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def _selection(family: str, scope: Scope, dimension: str | None) -> tuple[str, str | None] | None:
    """The ServiceDay rows of a scope (dim, key; key None = every value), or None when the rows cannot
    say (two scope fields, or a breakdown by another field than the one filtered on)."""
    if family in ALL_CASES_ONLY and (dimension or not scope.is_all):
        return None
    filters = [(n, getattr(scope, n)) for n in SCOPE_FIELDS if getattr(scope, n)]
    if family == SURVEY and survey_rollup.NO_CASE in (scope.channel, scope.kind):
        return None  # the key of the answers without a case: no case has it (the straight query says 0)
    if not filters:
        return dimension or "", (None if dimension else "")
    if len(filters) == 1 and dimension in (None, filters[0][0]):
        return filters[0][0], str(filters[0][1])
    return None


def _days(period: Period) -> tuple[date, date] | None:
    """[first day, day after the last) when the period is whole days of the organisation, else None."""
    from .service_figures import _midnight

    first, after = period.first, period.last + timedelta(days=1)
    if period.start != _midnight(first) or period.end != _midnight(after):
        return None
    return first, after


def _split(family: str, period: Period, *, now: Any) -> tuple[tuple[date, date], Period | None] | None:
    """The days read from ServiceDay and the tail read from the cases (the FCR window's days)."""
    from .service_figures import Period as P
    from .service_figures import _midnight, fcr_window

    days = _days(period)
    if days is None:
        return None
    first, after = days
    if family != "resolved":  # only a resolved case's counts depend on now (the FCR window)
        return (first, after), None
    cut = local_day(now - fcr_window())  # days before it are past the window for every case
    if cut >= after:
        return (first, after), None
    tail = P(_midnight(max(first, cut)), period.end)
    return (first, max(first, cut)), tail


def _rows(family: str, sel: tuple[str, str | None], first: date, after: date) -> QuerySet[Any]:
    dim, key = sel
    if family == SURVEY:
        qs: QuerySet[Any] = SurveyDay.objects.filter(dim=dim, day__gte=first, day__lt=after)
    else:
        qs = ServiceDay.objects.filter(family=FAMILIES[family], dim=dim, day__gte=first, day__lt=after)
    return qs if key is None else qs.filter(key=key)


_SUMS = {f"s_{c}": Sum(c) for c in COUNTERS}
_SURVEY_SUMS = {f"s_{c}": Sum(c) for c in survey_rollup.COLUMNS}


def _sums(family: str) -> dict[str, Sum]:
    return _SURVEY_SUMS if family == SURVEY else _SUMS


def tail_aggregates(now: Any) -> dict[str, Any]:
    """The resolved family's counts (service_figures._resolved_parts) on CaseContacts columns."""
    from .service_figures import fcr_window

    window = fcr_window()
    pending = Q(closed_at__gt=now - window)
    came_back = Q(first_follow_up_at__lte=F("closed_at") + window)
    exposed = Q(inbound_before_close__gte=2) | Q(owner_changes__gte=1)
    flagged = Q(repeat_flagged=True)
    changed = Q(owner_changes__gte=1)
    return {
        "rows": Count("pk"),
        "fcr.n": Count("pk", filter=~pending),
        "fcr.k": Count("pk", filter=~pending & Q(inbound_before_close=1, reopen_count=0) & ~came_back),
        "fcr.pending": Count("pk", filter=pending),
        "reopen.n": Count("pk"),
        "reopen.k": Count("pk", filter=Q(reopen_count__gte=1)),
        "confirmed.n": Count("pk"),
        "confirmed.k": Count("pk", filter=Q(confirmed=True)),
        "repeat_explanation.n": Count("pk", filter=exposed),
        "repeat_explanation.k": Count("pk", filter=exposed & flagged),
        "repeat_explanation_all.n": Count("pk"),
        "repeat_explanation_all.k": Count("pk", filter=flagged),
        "owner_continuity.n": Count("pk"),
        "owner_continuity.k": Count("pk", filter=changed),
        "reopen.reopens": Sum("reopen_count"),
        "owner_continuity.changes": Sum("owner_changes"),
    }


def _tail_rows(tail: Period, scope: Scope) -> QuerySet[CaseContacts]:
    return CaseContacts.objects.filter(closed_at__gte=tail.start, closed_at__lt=tail.end).filter(scope.q())


def _clean(row: dict[str, Any], keys: Any) -> Counts:
    return {k: int(row.get(k) or 0) for k in keys}  # an annotation may not take a field's name


def counts(family: str, period: Period, scope: Scope, *, now: Any) -> Counts | None:
    """service_figures.family_counts from the day rows (plus the window's days from the cases)."""
    sel, split = _selection(family, scope, None), _split(family, period, now=now)
    if family not in ANSWERED or sel is None or split is None:
        return None
    (first, after), tail = split
    out = _counts(family, _rows(family, sel, first, after).order_by().aggregate(**_sums(family)))
    if tail is not None:
        aggs = tail_aggregates(now)
        out = _add(out, _clean(_tail_rows(tail, scope).aggregate(**aggs), aggs))
    return out


def breakdown(
    family: str,
    dimension: str,
    period: Period,
    scope: Scope,
    *,
    now: Any,
) -> list[tuple[Group, Counts]] | None:
    """service_figures.family_breakdown from the day rows of the dimension (groups with a row only)."""
    from .service_figures import _DIMENSION_FIELDS, Group, _dimension_label

    sel, split = _selection(family, scope, dimension), _split(family, period, now=now)
    if family not in ANSWERED or sel is None or split is None or dimension not in _DIMENSION_FIELDS:
        return None
    (first, after), tail = split
    fields = _DIMENSION_FIELDS[dimension]
    # Grouped on the key alone, its label columns (one value per key) taken with MAX: a hash of a few
    # hundred groups instead of sorting a year of wide day rows by key and label (the owner breakdown).
    labels = {f"l_{i}": Max(name) for i, name in enumerate(fields[1:])}
    rows = (
        _rows(family, sel, first, after)
        .order_by()
        .values(fields[0])
        .annotate(**_sums(family), **labels)
        .filter(s_rows__gt=0)  # HAVING: a group every case has left (a handoff) is no group
    )
    groups: dict[Any, Group] = {}
    by: dict[Any, Counts] = {}
    for r in rows:
        r |= {name: r[f"l_{i}"] for i, name in enumerate(fields[1:])}
        g = Group(r[fields[0]], _dimension_label(dimension, r, ""))
        groups[g.key], by[g.key] = g, _counts(family, r)
    if tail is not None:
        aggs = tail_aggregates(now)
        for r in _tail_rows(tail, scope).order_by().values(*fields).annotate(**aggs):
            g = Group(r[fields[0]], _dimension_label(dimension, r, ""))
            groups.setdefault(g.key, g)
            by[g.key] = _add(by.get(g.key, {}), _clean(r, aggs))
    out = [(groups[k], by[k]) for k in groups]
    out.sort(key=lambda g: (g[0].key is None, g[0].label.lower()))
    return out


def by_month(family: str, period: Period, scope: Scope, *, now: Any) -> dict[date, Counts] | None:
    """The family's counts per month of a period of whole months (service_figures.family_trend)."""
    sel, split = _selection(family, scope, None), _split(family, period, now=now)
    if family not in ANSWERED or sel is None or split is None:
        return None
    (first, after), tail = split
    rows = (
        _rows(family, sel, first, after)
        .order_by()
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(**_sums(family))
    )
    out = {_first_of(r["month"]): _counts(family, dict(r)) for r in rows}
    if tail is not None:
        aggs = tail_aggregates(now)
        tail_rows = _tail_rows(tail, scope).order_by().annotate(month=month_of("resolved")).values("month")
        for r in tail_rows.annotate(**aggs):
            month = _first_of(_local(r["month"]))
            out[month] = _add(out.get(month, {}), _clean(dict(r), aggs))
    return out


def _local(value: Any) -> Any:
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value, timezone.get_default_timezone())
    return value


def _first_of(value: Any) -> date:
    if hasattr(value, "date"):
        value = value.date()
    return value.replace(day=1)


# ------------------------------------------------------------------ durations

DATE_FIELD = {"opened": "opened_at", "resolved": "closed_at"}


def duration_rows(family: str, field: str, period: Period, scope: Scope) -> QuerySet[CaseContacts]:
    """The measured cases of a duration in a period and scope, through its partial index."""
    date_field = DATE_FIELD[family]
    return CaseContacts.objects.filter(
        Q(**{f"{date_field}__gte": period.start, f"{date_field}__lt": period.end}),
        scope.q(),
        **{f"{field}__isnull": False},
    )


def month_of(family: str) -> TruncMonth:
    return TruncMonth(F(DATE_FIELD[family]), tzinfo=timezone.get_default_timezone())
