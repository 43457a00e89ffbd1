"""Economics pages: cost of quality, cost of a complaint, loyalty economics, sector scorecards and the
executive page. Money pages: managers and executives only (a 404 for anyone else). Read only.

Every table has a CSV export (`?export=csv`, same period). Estimates are labelled and kept apart from
booked costs on every page and in every export.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from steward.core import timeutil
from steward.core.charts import chart
from steward.costs.models import CostCategory, LineSource
from steward.costs.permissions import money_reader

from . import economics as ec
from . import economics_selectors as es
from .exports import _Line
from .forms_economics import EconomicsPeriodForm

# ------------------------------------------------------------------ helpers


def _period(request: HttpRequest) -> tuple[EconomicsPeriodForm, es.Period, int]:
    form = EconomicsPeriodForm(
        request.GET if ("date_from" in request.GET or "date_to" in request.GET) else None
    )
    today = timezone.localdate(timeutil.now())
    if form.is_bound and not form.is_valid():
        return form, es.default_period(today), 400
    return form, form.period(today), 200


def _query(request: HttpRequest) -> str:
    q = request.GET.copy()
    for key in ("export", "page"):
        q.pop(key, None)
    return q.urlencode()


def major(amount_minor: int | None, currency: str) -> float | None:
    """Minor units as major units for a chart (None stays a gap)."""
    if amount_minor is None:
        return None
    from steward.costs.money import exponent

    return amount_minor / (10 ** exponent(currency))


def _money(amount_minor: int | None, currency: str) -> str:
    """A CSV cell: major units with the currency's decimals, empty when unknown (never 0)."""
    if amount_minor is None:
        return ""
    from steward.costs.money import exponent

    exp = exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


def _percent(p: Any) -> float | None:
    """A proportion for a chart: a gap below 5 observations (counts only, §0), never a shaky percentage."""
    if p.value is None or getattr(p, "counts_only", False):
        return None
    return float(round(p.value * 100, 1))


def _share(v: Any) -> str:
    value = getattr(v, "value", None)
    return "" if value is None else f"{value:.4f}"


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    def lines() -> Iterator[str]:
        writer = csv.writer(_Line())
        yield writer.writerow(header)
        for r in rows:
            yield writer.writerow(r)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timeutil.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="steward-{filename}-{stamp}.csv"'
    return response


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int) -> HttpResponse:
    context.setdefault("query", _query(request))
    return render(request, template, context, status=status)


CATEGORY_LABELS = dict(CostCategory.choices)


# ------------------------------------------------------------------ cost of quality


def cost_of_quality(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Four categories, failure share, CoQ to revenue, COPQ with the estimate apart, trend by month."""
    money_reader(request)
    form, period, status = _period(request)
    # The estimate's population figures come from the cache the case page shares (one population
    # scan per period and hour, not per request); the booked figures from the CostDay rollup.
    figures = es.churn_figures(period)
    dissatisfied = figures.dissatisfied_customers
    per = figures.expected_loss
    comparison = es.coq_comparison(period, expected_churn_loss=figures.at_risk_minor)
    report = comparison.current
    trend = es.coq_trend(period)
    cur = report.currency
    if request.GET.get("export") == "csv":
        return csv_response(
            "cost-of-quality",
            [
                _("Month"),
                *(str(CATEGORY_LABELS[c]) for c in es.CATEGORIES),
                _("Total"),
                _("Failure share"),
                _("Currency"),
            ],
            (
                [
                    m.month,
                    *(_money(m.amounts[c], cur) for c in es.CATEGORIES),
                    _money(m.total, cur),
                    _share(m.failure_share),
                    cur,
                ]
                for m in trend
            ),
        )
    trend_chart = chart(
        "bar",
        [m.month for m in trend],
        {str(CATEGORY_LABELS[c]): [major(m.amounts[c], cur) for m in trend] for c in es.CATEGORIES},
        title=_("Cost of quality by month"),
        unit=cur,
        label_heading=_("Month"),
    )
    rows = [
        (
            c,
            CATEGORY_LABELS[c],
            report.categories[c],
            comparison.previous.categories[c],
            comparison.changes[c],
        )
        for c in es.CATEGORIES
    ]
    context = {
        "form": form,
        "period": period,
        "report": report,
        "comparison": comparison,
        "rows": rows,
        "trend": trend,
        "trend_chart": trend_chart,
        "currency": cur,
        "dissatisfied": dissatisfied,
        "per_dissatisfied": per,
        "uplift": figures.uplift,
    }
    return _page(request, "analytics/economics_quality.html", context, status)


def cost_lines(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The ledger lines behind a figure: one category and/or one month of the period."""
    money_reader(request)
    form, period, status = _period(request)
    category = request.GET.get("category", "")
    if category and category not in es.CATEGORIES:
        category, status = "", 400
    month = request.GET.get("month", "")
    if month and month not in {m.strftime("%Y-%m") for m in period.months}:
        month, status = "", 400
    if request.GET.get("export") == "csv" and status == 200:
        return csv_response(
            "cost-lines",
            [
                _("Date"),
                _("Source"),
                _("Line"),
                _("Case"),
                _("Sector"),
                _("Minutes"),
                _("Amount"),
                _("Currency"),
                _("Category"),
                _("Rule"),
                _("Reclassified"),
            ],
            (
                [
                    ln.incurred_on.isoformat(),
                    ln.source,
                    ln.source_id,
                    ln.case_id or "",
                    ln.sector_id or "",
                    "" if ln.minutes is None else ln.minutes,
                    _money(ln.amount_minor, ln.currency),
                    ln.currency,
                    ln.category or "",
                    ln.rule,
                    "yes" if ln.overridden else "",
                ]
                for ln in es.all_coq_lines(period, category=category, month=month)
            ),
        )
    size = settings.STEWARD_CASE_PAGE_SIZE
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    lines, total = es.coq_lines(
        period, category=category, month=month, offset=(number - 1) * size, limit=size
    )
    pages = max(1, -(-total // size))
    if number > pages:
        number = pages
        lines, total = es.coq_lines(
            period, category=category, month=month, offset=(number - 1) * size, limit=size
        )
    from steward.sectors.models import Sector

    sectors = Sector.objects.in_bulk({ln.sector_id for ln in lines if ln.sector_id})
    context = {
        "form": form,
        "period": period,
        "lines": [(ln, sectors.get(ln.sector_id) if ln.sector_id else None) for ln in lines],
        "total": total,
        "page": number,
        "pages": pages,
        "category": category,
        "category_label": CATEGORY_LABELS.get(category, ""),
        "month": month,
        "category_labels": CATEGORY_LABELS,
        "source_labels": dict(LineSource.choices),
    }
    return _page(request, "analytics/economics_lines.html", context, status)


# ------------------------------------------------------------------ cost of a complaint


def complaint_cost(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    money_reader(request)
    form, period, status = _period(request)
    report = es.complaint_cost(period)
    cur = report.currency
    if request.GET.get("export") == "csv":
        rows: list[list[Any]] = [
            [
                _("Booked"),
                str(s.sector) if s.sector else _("No sector"),
                s.minutes,
                _money(s.amount_minor, cur),
                cur,
            ]
            for s in report.by_sector
        ]
        rows += [
            [_("Booked"), _("Compensation"), "", _money(report.total.compensation_minor, cur), cur],
            [_("Booked"), _("Review meetings"), "", _money(report.total.review_minor, cur), cur],
            [
                _("Booked"),
                _("Total"),
                report.total.staff_minutes,
                _money(report.total.booked_minor, cur),
                cur,
            ],
            [_("Booked"), _("Per complaint"), "", _money(report.per_complaint.minor, cur), cur],
            [
                _("Booked"),
                _("Per dissatisfied customer"),
                "",
                _money(report.per_dissatisfied_customer.minor, cur),
                cur,
            ],
            [
                _("Estimate"),
                _("Expected churn loss per dissatisfied customer"),
                "",
                _money(report.expected_loss.minor, cur),
                cur,
            ],
        ]
        return csv_response(
            "complaint-cost", [_("Kind"), _("Item"), _("Minutes"), _("Amount"), _("Currency")], rows
        )
    page_obj = Paginator(
        es.complaints_in(period).select_related("customer"), settings.STEWARD_CASE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    case_rows = es.case_cost_rows(period, page_obj.object_list)
    context = {
        "form": form,
        "period": period,
        "report": report,
        "currency": cur,
        "page_obj": page_obj,
        "case_rows": case_rows,
    }
    return _page(request, "analytics/economics_complaints.html", context, status)


# ------------------------------------------------------------------ loyalty economics


def loyalty(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    money_reader(request)
    form, period, status = _period(request)
    figures = es.loyalty(period)
    last = period.last_day.year
    years = list(range(last - 4, last + 1))
    cohorts = es.cohorts(years, as_of=timezone.localdate(timeutil.now()))
    previous = es.loyalty(period.previous())
    cur = figures.currency
    if request.GET.get("export") == "csv":
        header = [
            _("Year acquired"),
            _("Customers"),
            *(f"{_('Retained at end of')} {y}" for y in cohorts.years),
        ]
        return csv_response(
            "loyalty-cohorts",
            header,
            (
                [r.year, r.customers, *("" if s is None else _share(s) for s in r.retention)]
                for r in cohorts.rows
            ),
        )
    context = {
        "form": form,
        "period": period,
        "f": figures,
        "prev": previous,
        "cohorts": cohorts,
        "currency": cur,
        "inactivity_days": es.inactivity_days(),
    }
    return _page(request, "analytics/economics_loyalty.html", context, status)


# ------------------------------------------------------------------ sector scorecards


def scorecards(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    money_reader(request)
    form, period, status = _period(request)
    cards = es.scorecards(period)
    cur = es.inputs_for(period).currency
    if request.GET.get("export") == "csv":
        return csv_response(
            "sector-scorecards",
            [
                _("Sector"),
                _("Tasks"),
                _("Completed"),
                _("On time"),
                _("Staff minutes"),
                _("Staff cost"),
                _("Cost per task"),
                _("Cost per resolved case"),
                _("Cases touched"),
                _("Resolved cases"),
                _("CSAT (4–5 of 5)"),
                _("CSAT answers"),
                _("Solved at first contact"),
                _("Reopened"),
                _("Compensation paid"),
                _("Currency"),
            ],
            (
                [
                    str(c.sector),
                    c.tasks,
                    c.completed,
                    _share(c.on_time),
                    c.staff_minutes,
                    _money(c.staff_cost_minor, cur),
                    _money(c.cost_per_task.minor, cur),
                    _money(c.cost_per_resolved_case.minor, cur),
                    c.cases,
                    c.resolved_cases,
                    _share(c.csat),
                    c.csat_answers,
                    _share(c.fcr),
                    _share(c.reopened),
                    _money(c.compensation_minor, cur),
                    cur,
                ]
                for c in cards
            ),
        )
    context = {"form": form, "period": period, "cards": cards, "currency": cur}
    return _page(request, "analytics/economics_scorecards.html", context, status)


# ------------------------------------------------------------------ executive


def executive(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    money_reader(request)
    form, period, status = _period(request)
    ex = es.executive(period)
    cur = ex.currency
    if request.GET.get("export") == "csv":
        return csv_response(
            "executive",
            [
                _("Month"),
                _("Resolved cases"),
                _("Staff cost"),
                _("Cost per resolved case"),
                _("Tasks on time"),
                _("CSAT (4–5 of 5)"),
                _("Reopened"),
                _("Cost of quality"),
                _("Failure cost"),
                _("Currency"),
            ],
            (
                [
                    m.month,
                    m.resolved_cases,
                    _money(m.staff_cost_minor, cur),
                    _money(m.cost_per_resolved_case.minor, cur),
                    _share(m.on_time),
                    _share(m.csat),
                    _share(m.reopened),
                    _money(m.coq_minor, cur),
                    _money(m.failure_minor, cur),
                    cur,
                ]
                for m in ex.months
            ),
        )
    labels = [m.month for m in ex.months]
    efficiency_chart = chart(
        "line",
        labels,
        {
            _("Cost per resolved case"): [major(m.cost_per_resolved_case.minor, cur) for m in ex.months],
        },
        title=_("Internal efficiency: cost per resolved case"),
        unit=cur,
        label_heading=_("Month"),
    )
    effectiveness_chart = chart(
        "line",
        labels,
        {
            _("CSAT (4–5 of 5)"): [_percent(m.csat) for m in ex.months],
            _("Reopened"): [_percent(m.reopened) for m in ex.months],
            _("Tasks on time"): [_percent(m.on_time) for m in ex.months],
        },
        title=_("External effectiveness: satisfaction, reopens, sector tasks on time"),
        unit="%",
        label_heading=_("Month"),
    )
    coq_chart = chart(
        "bar",
        labels,
        {
            _("Cost of quality"): [major(m.coq_minor, cur) for m in ex.months],
            _("Failure cost"): [major(m.failure_minor, cur) for m in ex.months],
        },
        title=_("Cost of quality by month"),
        unit=cur,
        label_heading=_("Month"),
    )
    context = {
        "form": form,
        "period": period,
        "ex": ex,
        "currency": cur,
        "efficiency_chart": efficiency_chart,
        "effectiveness_chart": effectiveness_chart,
        "coq_chart": coq_chart,
        "reasons": ec.REASONS,
    }
    return _page(request, "analytics/economics_executive.html", context, status)
