"""The manager dashboard (issue 5): service figures, breakdowns, trends, cases at risk, drill-down, CSV.

Managers and executives only (analytics/permissions.py); anyone else gets a 404, as on every analysis
page. Views parse the filter form, call `service_figures` and render; the CSV exports stream.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from steward.cases.models import Case
from steward.core import timeutil
from steward.core.charts import Chart, chart

from . import service_figures as sf
from .exports import _Line
from .forms import ServiceFilterForm
from .permissions import analysis_reader
from .service_display import Shown, show, show_change

PAGE_SIZE = 25

# The figures in the order the page shows them, by the question they answer.
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    (
        "customers",
        (
            "csat",
            "ces",
            "nps",
            "solved",
            "knew_owner_and_next_step",
            "explained_more_than_once",
            "solved_first_contact",
        ),
    ),
    ("outcomes", ("fcr", "confirmed", "reopen", "repeat_contact", "promise_kept")),
    (
        "work",
        (
            "first_response",
            "requester_wait",
            "resolution",
            "repeat_explanation",
            "handoff_summary",
            "owner_continuity",
        ),
    ),
]
BREAKDOWN_KEYS = ("csat", "nps", "fcr", "confirmed", "reopen", "promise_kept", "first_response", "resolution")
TREND_CHARTS: list[tuple[str, tuple[str, ...], str]] = [
    ("satisfaction", ("csat", "ces", "fcr", "confirmed"), "%"),
    ("failures", ("reopen", "repeat_contact", "repeat_explanation", "promise_kept"), "%"),
    ("nps", ("nps",), ""),
    ("times", ("first_response", "requester_wait", "resolution"), "h"),
]
TREND_KEYS = tuple(dict.fromkeys(k for _name, keys, _unit in TREND_CHARTS for k in keys))


def _section_title(name: str) -> str:
    return {
        "customers": _("What customers tell us"),
        "outcomes": _("Outcomes"),
        "work": _("How we work"),
    }[name]


def _chart_title(name: str) -> str:
    return {
        "satisfaction": _("Satisfaction and resolution by month (%)"),
        "failures": _("Service failures and promises by month (%)"),
        "nps": _("NPS by month (points)"),
        "times": _("Median first response, requester wait and resolution time by month (hours)"),
    }[name]


def _risk_title(name: str) -> str:
    return {
        "overdue": _("Next step overdue"),
        "uncovered": _("Owner away, no backup covering"),
        "waiting": _("Waiting on us longest"),
    }[name]


def _parse(request: HttpRequest) -> tuple[ServiceFilterForm, bool]:
    form = ServiceFilterForm(request.GET or None)
    return form, (not request.GET) or form.is_valid()


def _filters_query(request: HttpRequest, *drop: str) -> str:
    """The query string of the filters alone (no page numbers, no drill-down keys)."""
    q: QueryDict = request.GET.copy()
    for key in list(q):
        if key.endswith("_page") or key in ("page", "key", "part", *drop):
            q.pop(key)
    return q.urlencode()


def _label(figure_key: str) -> str:
    return str(sf.FIGURES[figure_key].label)


def _part_label(figure_key: str, part: str) -> str:
    return str(dict(sf.FIGURES[figure_key].drill)[part])


def _month(month: Any) -> str:
    return formats.date_format(month, "YEAR_MONTH_FORMAT")


def trend_charts(trends: dict[str, list[sf.TrendPoint]]) -> list[Chart]:
    """One chart (and its table) per group of figures; months with too few answers are gaps."""
    out = []
    for name, keys, unit in TREND_CHARTS:
        months = [p.month for p in trends[keys[0]]]
        series = {_label(k): [show(p.figure).number for p in trends[k]] for k in keys}
        out.append(
            chart(
                "line",
                [_month(m) for m in months],
                series,
                title=_chart_title(name),
                unit=unit,
                label_heading=_("Month"),
                chart_id=f"trend-{name}",
            )
        )
    return out


def _risk_pages(request: HttpRequest, scope: sf.Scope, now: datetime) -> list[tuple[str, str, Page]]:
    return [
        (
            name,
            _risk_title(name),
            Paginator(sf.risk_page_source(name, scope, now=now), PAGE_SIZE).get_page(
                request.GET.get(f"{name}_page")
            ),
        )
        for name in sf.RISK_LISTS
    ]


def _risk_page(request: HttpRequest, name: str, scope: sf.Scope, now: datetime) -> Page:
    source = sf.risk_page_source(name, scope, now=now)
    return Paginator(source, PAGE_SIZE).get_page(request.GET.get(f"{name}_page"))


def service_dashboard(request: HttpRequest) -> HttpResponse:
    """Figures with n, CI and sample flags; a breakdown; 12-month trends; cases at risk.

    An htmx request for one page of a risk list (``?risk=overdue&overdue_page=2``) gets that list alone.
    """
    analysis_reader(request)
    form, ok = _parse(request)
    context: dict[str, Any] = {"form": form, "query": _filters_query(request, "risk")}
    if not ok:
        return render(request, "analytics/service.html", context, status=400)
    now = timeutil.now()
    risk = request.GET.get("risk", "")
    if request.htmx and risk in sf.RISK_LISTS:  # type: ignore[attr-defined]
        page = _risk_page(request, risk, form.scope(), now)
        context.update(name=risk, title=_risk_title(risk), page=page, now=now)
        return render(request, "analytics/service.html#risk", context)
    today = timezone.localdate(now, sf.org_tz())
    period, scope, by = form.period_of(today), form.scope(), form.dimension()
    dash = sf.figures(period, scope, now=now)
    previous = sf.previous_period(form.period_choice(), period)
    changes = sf.compare(dash, sf.figures(previous, scope, now=now))
    shown = {k: show(f) for k, f in dash.figures.items()}
    sections = [
        (
            _section_title(name),
            [(dash.figures[k], shown[k], show_change(dash.figures[k], changes[k])) for k in keys],
        )
        for name, keys in SECTIONS
    ]
    rows = sf.breakdown(by, period, scope, now=now, keys=BREAKDOWN_KEYS)
    breakdown_rows = [(r.group, [(r.figures[k], show(r.figures[k])) for k in BREAKDOWN_KEYS]) for r in rows]
    context.update(
        period=period,
        previous=previous,
        scope=scope,
        by=by,
        by_label=sf.DIMENSIONS[by],
        sections=sections,
        breakdown_heads=[_label(k) for k in BREAKDOWN_KEYS],
        breakdown_rows=breakdown_rows,
        charts=trend_charts(sf.trends(TREND_KEYS, scope, now=now)),
        risks=_risk_pages(request, scope, now),
        now=now,
    )
    return render(request, "analytics/service.html", context)


def service_cases(request: HttpRequest, key: str, part: str) -> HttpResponse:
    """The cases behind one figure (its denominator, numerator or another part) for the same filters."""
    user = analysis_reader(request)
    d = sf.FIGURES.get(key)
    if d is None or part not in dict(d.drill):
        raise Http404
    form, ok = _parse(request)
    context: dict[str, Any] = {"form": form, "figure": d, "part_label": _part_label(key, part), "key": key}
    if not ok:
        return render(request, "analytics/service_cases.html", context, status=400)
    now = timeutil.now()
    period = form.period_of(timezone.localdate(now, sf.org_tz()))
    ids = sf.cases_behind(key, part, period, form.scope(), now=now).values("pk")
    cases = Case.objects.visible_to(user).filter(pk__in=ids).for_list().order_by("-created_at", "-id")
    context.update(
        period=period,
        part=part,
        page_obj=Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page")),
        query=_filters_query(request),
        now=now,
    )
    return render(request, "analytics/service_cases.html", context)


# ------------------------------------------------------------------ CSV

EXPORTS = ("figures", "breakdown", "trend", "cases", *sf.RISK_LISTS)


def _shown_columns(s: Shown) -> list[Any]:
    return [s.number if s.number is not None else "", s.text, s.detail, s.n, s.flag]


FIGURE_COLUMNS = ["value", "shown", "interval_or_p90", "n", "flag"]


def _figure_lines(dash: sf.Dashboard) -> Iterator[list[Any]]:
    yield ["figure", "label", *FIGURE_COLUMNS, "k", "period_start", "period_end"]
    for key, f in dash.figures.items():
        yield [
            key,
            _label(key),
            *_shown_columns(show(f)),
            f.counts.get("k", ""),
            dash.period.first.isoformat(),
            dash.period.last.isoformat(),
        ]


def _breakdown_lines(by: str, rows: list[sf.BreakdownRow]) -> Iterator[list[Any]]:
    yield ["dimension", "group_key", "group", "figure", *FIGURE_COLUMNS, "k"]
    for r in rows:
        for key, f in r.figures.items():
            yield [by, r.group.key, r.group.label, key, *_shown_columns(show(f)), f.counts.get("k", "")]


def _trend_lines(trends: dict[str, list[sf.TrendPoint]]) -> Iterator[list[Any]]:
    yield ["month", "figure", *FIGURE_COLUMNS, "k"]
    for key, points in trends.items():
        for p in points:
            yield [p.month.isoformat(), key, *_shown_columns(show(p.figure)), p.figure.counts.get("k", "")]


def _case_lines(cases: Iterable[Case], now: datetime) -> Iterator[list[Any]]:
    yield [
        "case",
        "subject",
        "customer",
        "owner",
        "status",
        "kind",
        "channel",
        "created",
        "next_step",
        "next_step_due",
    ]
    for c in cases:
        due = getattr(c, "next_step_due", None)
        yield [
            c.pk,
            _cell(c.subject),
            _cell(c.customer.name),
            _cell(c.owner.display_name),
            c.status,
            c.kind,
            c.channel,
            c.created_at.isoformat(),
            _cell(getattr(c, "next_step_text", None) or ""),
            due.isoformat() if due else "",
        ]


def _cell(value: Any) -> Any:
    """Text a customer wrote (a subject, a name) must not run as a spreadsheet formula when opened."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _stream(lines: Iterable[list[Any]], name: str) -> StreamingHttpResponse:
    writer = csv.writer(_Line())
    response = StreamingHttpResponse(
        (writer.writerow(line) for line in lines), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime(timeutil.now()).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="steward-{name}-{stamp}.csv"'
    return response


def service_export(request: HttpRequest, table: str) -> HttpResponse | StreamingHttpResponse:
    """Every table of the dashboard as CSV, streamed, for the same filters."""
    user = analysis_reader(request)
    if table not in EXPORTS:
        raise Http404
    form, ok = _parse(request)
    if not ok:
        return render(request, "analytics/service.html", {"form": form, "query": ""}, status=400)
    now = timeutil.now()
    period, scope = form.period_of(timezone.localdate(now, sf.org_tz())), form.scope()
    lines: Iterable[list[Any]]
    if table == "figures":
        lines = _figure_lines(sf.figures(period, scope, now=now))
    elif table == "breakdown":
        by = form.dimension()
        lines = _breakdown_lines(by, sf.breakdown(by, period, scope, now=now, keys=BREAKDOWN_KEYS))
    elif table == "trend":
        lines = _trend_lines(sf.trends(TREND_KEYS, scope, now=now))
    elif table == "cases":
        key, part = request.GET.get("key", ""), request.GET.get("part", "")
        d = sf.FIGURES.get(key)
        if d is None or part not in dict(d.drill):
            raise Http404
        ids = sf.cases_behind(key, part, period, scope, now=now).values("pk")
        cases = Case.objects.visible_to(user).filter(pk__in=ids).for_list().order_by("-created_at", "-id")
        lines = _case_lines(cases.iterator(chunk_size=2000), now)
        table = f"{key}-{part}"
    else:
        lines = _case_lines(sf.risk_list(table, scope, now=now).iterator(chunk_size=2000), now)
    return _stream(lines, f"service-{table}")
