"""Economics reads: cost of quality, cost of a complaint, loyalty economics, sector scorecards.

Every figure is aggregated by the database: sums over the costs ledger (`steward.costs.selectors.
ledger_lines`, wrapped in an outer GROUP BY), conditional counts over customers, cases, sector tasks and
survey responses. Python only applies the pure formulas of `economics.py` to the handful of totals that
come back. Every function issues a fixed number of queries whatever the number of rows.

Definitions (Steward-defined where metrics.md leaves a choice):
- A period is [start, end) of whole days; money is booked by `incurred_on`.
- Customer acquired on: `acquired_on`, else the earlier of its first case and its record.
- Customer lost on: `churned_on`, else (when STEWARD_CHURN_INACTIVITY_DAYS > 0) the day the configured
  number of days without a new case ran out.
- A dissatisfied customer in a period: one with a complaint case opened in it, or a case survey
  answered in it with satisfaction 1 or 2 of 5.
- Staff cost: ledger lines from logged work, replies, notes and handoffs (minutes × loaded rate).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Cast, Coalesce, ExtractYear, Least, TruncDate
from django.utils import timezone

from steward.cases.models import Case, Kind, SectorTask, TaskState
from steward.core.compiled import Compiled
from steward.costs.models import Compensation, CompensationState, CostCategory, CostDay, LineSource
from steward.costs.selectors import ledger_queryset
from steward.customers.models import Customer, EconomicsInputs
from steward.sectors.models import Sector
from steward.surveys.models import SurveyKind, SurveyResponse

from . import economics as ec
from . import metrics

CATEGORIES = (
    CostCategory.PREVENTION.value,
    CostCategory.APPRAISAL.value,
    CostCategory.INTERNAL_FAILURE.value,
    CostCategory.EXTERNAL_FAILURE.value,
)
STAFF_SOURCES = (
    LineSource.WORK_LOG.value,
    LineSource.REPLY.value,
    LineSource.NOTE.value,
    LineSource.HANDOFF.value,
)
REVIEW_SOURCES = (LineSource.REVIEW.value,)
COMPENSATION_SOURCES = (LineSource.COMPENSATION.value,)
DISSATISFIED_CSAT_MAX = 2


# ------------------------------------------------------------------ periods


@dataclass(frozen=True)
class Period:
    """[start, end) in whole days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def months(self) -> list[date]:
        return month_starts(self.start, self.end)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        """The same span just before (a year before for a calendar year)."""
        if self.start.day == 1 and self.end.day == 1:
            n = len(self.months)
            return Period(add_months(self.start, -n), self.start)
        return Period(self.start - (self.end - self.start), self.start)


def add_months(day: date, n: int) -> date:
    y, m = divmod(day.month - 1 + n, 12)
    return date(day.year + y, m + 1, 1)


def month_starts(start: date, end: date) -> list[date]:
    out, m = [], start.replace(day=1)
    while m < end:
        if m >= start.replace(day=1):
            out.append(m)
        m = add_months(m, 1)
    return out


def default_period(today: date, months: int = 12) -> Period:
    """The last `months` complete months (trends use complete periods only)."""
    end = today.replace(day=1)
    return Period(add_months(end, -months), end)


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month_label(value: Any) -> str:
    """'YYYY-MM' from whatever the engine gave back for a month."""
    if isinstance(value, (date, datetime)):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def _month_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%%Y-%%m', {column})"


# ------------------------------------------------------------------ the ledger, wrapped in SQL


def _ledger_sql(period: Period) -> tuple[str, tuple[Any, ...]]:
    """The costs ledger's UNION ALL of the period's lines, with the contract's column names."""
    qs = ledger_queryset(period.start, period.last_day).order_by()  # the ledger's period is inclusive
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    wrapped = (
        "SELECT u.ln_source AS source, u.ln_source_id AS source_id, u.ln_case AS case_id, "
        "u.ln_sector AS sector_id, u.ln_day AS incurred_on, u.ln_minutes AS minutes, "
        "u.ln_amount AS amount_minor, u.ln_currency AS currency, u.ln_category AS category, "
        f"u.ln_rule AS rule, u.ln_overridden AS overridden FROM ({sql}) u"
    )
    return wrapped, tuple(params)


def _fetch(sql: str, params: Iterable[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, tuple(params))
        return list(cur.fetchall())


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)  # only module constants, never user input


@dataclass(frozen=True)
class CategoryTotal:
    category: str
    amount_minor: int
    lines: int
    unknown_lines: int  # lines whose cost is unknown (rate_missing): left out of the amount, never 0


@dataclass(frozen=True)
class CostOfQualityReport:
    period: Period
    currency: str
    coq: ec.CostOfQuality
    categories: dict[str, CategoryTotal]
    unknown_lines: int
    revenue_months: int  # months of the period with revenue entered
    months: int


def _costday_sql() -> str:
    return connection.ops.quote_name(CostDay._meta.db_table)


def category_totals(period: Period) -> dict[str, CategoryTotal]:
    """Σ amount per cost-of-quality category booked in the period, from the CostDay rollup (one query
    over at most a few thousand rows; `category_totals_ledger` is the straight query it equals)."""
    rows = _fetch(
        "SELECT d.category, COALESCE(SUM(d.amount_minor), 0), COALESCE(SUM(d.lines), 0), "
        f"COALESCE(SUM(d.unknown_lines), 0) FROM {_costday_sql()} d "
        f"WHERE d.day >= %s AND d.day < %s AND d.category IN ({_in(CATEGORIES)}) GROUP BY d.category",
        (period.start, period.end),
    )
    found = {c: CategoryTotal(c, int(a), int(n), int(u or 0)) for c, a, n, u in rows}
    return {c: found.get(c, CategoryTotal(c, 0, 0, 0)) for c in CATEGORIES}


def category_totals_ledger(period: Period) -> dict[str, CategoryTotal]:
    """The reference: the same sums straight over the ledger lines (a full scan: tests only)."""
    sql, params = _ledger_sql(period)
    rows = _fetch(
        "SELECT l.category, COALESCE(SUM(l.amount_minor), 0), COUNT(*), "
        "SUM(CASE WHEN l.amount_minor IS NULL THEN 1 ELSE 0 END) "
        f"FROM ({sql}) l WHERE l.category IN ({_in(CATEGORIES)}) GROUP BY l.category",
        params,
    )
    found = {c: CategoryTotal(c, int(a), int(n), int(u or 0)) for c, a, n, u in rows}
    return {c: found.get(c, CategoryTotal(c, 0, 0, 0)) for c in CATEGORIES}


@dataclass(frozen=True)
class Inputs:
    """The economics inputs of a period, folded: sums where money adds up, the latest for assumptions."""

    months: int
    currency: str
    revenue_minor: int | None  # None unless every month of the period has revenue entered
    revenue_months: int
    sales_marketing_minor: int | None
    sales_marketing_months: int
    account_management_minor: int
    margin_per_customer_minor: int | None
    discount_rate_annual: Decimal | None
    churn_uplift_prior: Decimal | None


def inputs_for(period: Period) -> Inputs:
    """One query; at most one row per month of the period comes back."""
    qs: Any = EconomicsInputs.objects.filter(month__gte=period.start.replace(day=1), month__lt=period.end)
    rows: list[dict[str, Any]] = list(
        qs.order_by("month").values(
            "currency",
            "revenue_minor",
            "sales_marketing_minor",
            "account_management_minor",
            "margin_per_customer_minor",
            "discount_rate_annual",
            "churn_uplift_prior",
        )
    )
    months = len(period.months)

    def total(key: str) -> tuple[int | None, int]:
        vals = [r[key] for r in rows if r[key] is not None]
        return (sum(vals) if vals else None), len(vals)

    def latest(key: str) -> Any:
        vals = [r[key] for r in rows if r[key] is not None]
        return vals[-1] if vals else None

    revenue, rev_n = total("revenue_minor")
    sales, sales_n = total("sales_marketing_minor")
    account, _n = total("account_management_minor")
    return Inputs(
        months=months,
        currency=latest("currency") or settings.STEWARD_CURRENCY,
        revenue_minor=revenue if rev_n == months and months else None,
        revenue_months=rev_n,
        sales_marketing_minor=sales if sales_n == months and months else None,
        sales_marketing_months=sales_n,
        account_management_minor=account or 0,
        margin_per_customer_minor=latest("margin_per_customer_minor"),
        discount_rate_annual=latest("discount_rate_annual"),
        churn_uplift_prior=latest("churn_uplift_prior"),
    )


def cost_of_quality(period: Period, *, expected_churn_loss: int | None = None) -> CostOfQualityReport:
    cats = category_totals(period)
    inputs = inputs_for(period)
    coq = ec.cost_of_quality(
        prevention=cats[CostCategory.PREVENTION].amount_minor,
        appraisal=cats[CostCategory.APPRAISAL].amount_minor,
        internal_failure=cats[CostCategory.INTERNAL_FAILURE].amount_minor,
        external_failure=cats[CostCategory.EXTERNAL_FAILURE].amount_minor,
        revenue=inputs.revenue_minor,
        expected_churn_loss=expected_churn_loss,
    )
    return CostOfQualityReport(
        period=period,
        currency=inputs.currency,
        coq=coq,
        categories=cats,
        unknown_lines=sum(c.unknown_lines for c in cats.values()),
        revenue_months=inputs.revenue_months,
        months=inputs.months,
    )


@dataclass(frozen=True)
class CoqComparison:
    """This period against the one just before (same length): booked amounts per category, their
    relative change (§6.4: counts and costs), and the prevention ROI over the two (§1.5)."""

    current: CostOfQualityReport
    previous: CostOfQualityReport
    changes: dict[str, float | None]  # category → relative change; "total" too
    prevention_roi: ec.Share


def coq_comparison(period: Period, *, expected_churn_loss: int | None = None) -> CoqComparison:
    cur = cost_of_quality(period, expected_churn_loss=expected_churn_loss)
    prev = cost_of_quality(period.previous())
    changes: dict[str, float | None] = {
        c: metrics.relative_change(cur.categories[c].amount_minor, prev.categories[c].amount_minor)
        for c in CATEGORIES
    }
    changes["total"] = metrics.relative_change(cur.coq.total, prev.coq.total)
    if not any(t.lines for t in prev.categories.values()):
        # Nothing booked before (no data, not a measured 0): a return against it would be invented.
        roi = ec.Share(None, 0, 0, "no_previous_costs")
    else:
        roi = ec.prevention_roi(
            prevention_before=prev.coq.prevention,
            prevention_after=cur.coq.prevention,
            failure_before=prev.coq.nonconformance,
            failure_after=cur.coq.nonconformance,
        )
    return CoqComparison(cur, prev, changes, roi)


@dataclass(frozen=True)
class MonthCoq:
    month: str
    amounts: dict[str, int]
    total: int
    failure_share: ec.Share

    @property
    def ordered(self) -> list[int]:
        return [self.amounts[c] for c in CATEGORIES]


def coq_trend(period: Period) -> list[MonthCoq]:
    """Cost of quality per month and category, from the CostDay rollup (one query); months without a
    line show 0 booked. `coq_trend_ledger` is the straight query it equals."""
    rows = _fetch(
        f"SELECT {_month_sql('d.day')} AS m, d.category, COALESCE(SUM(d.amount_minor), 0) "
        f"FROM {_costday_sql()} d WHERE d.day >= %s AND d.day < %s AND d.category IN ({_in(CATEGORIES)}) "
        "GROUP BY m, d.category ORDER BY m",
        (period.start, period.end),
    )
    return _trend(period, rows)


def coq_trend_ledger(period: Period) -> list[MonthCoq]:
    """The reference: the trend straight over the ledger lines (a full scan: tests only)."""
    sql, params = _ledger_sql(period)
    rows = _fetch(
        f"SELECT {_month_sql('l.incurred_on')} AS m, l.category, COALESCE(SUM(l.amount_minor), 0) "
        f"FROM ({sql}) l WHERE l.category IN ({_in(CATEGORIES)}) GROUP BY m, l.category ORDER BY m",
        params,
    )
    return _trend(period, rows)


def _trend(period: Period, rows: list[tuple[Any, ...]]) -> list[MonthCoq]:
    by_month: dict[str, dict[str, int]] = defaultdict(dict)
    for m, cat, amount in rows:
        by_month[_month_label(m)][cat] = int(amount)
    out = []
    for m in period.months:
        key = m.strftime("%Y-%m")
        amounts = {c: by_month.get(key, {}).get(c, 0) for c in CATEGORIES}
        total = sum(amounts.values())
        failure = amounts[CostCategory.INTERNAL_FAILURE] + amounts[CostCategory.EXTERNAL_FAILURE]
        out.append(MonthCoq(key, amounts, total, ec.share(failure, total, reason="no_cost")))
    return out


@dataclass(frozen=True)
class LedgerLine:
    source: str
    source_id: int
    case_id: int | None
    sector_id: int | None
    incurred_on: date
    minutes: int | None
    amount_minor: int | None
    currency: str
    category: str | None
    rule: str
    overridden: bool


LINE_COLUMNS = (
    "source",
    "source_id",
    "case_id",
    "sector_id",
    "incurred_on",
    "minutes",
    "amount_minor",
    "currency",
    "category",
    "rule",
    "overridden",
)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _line(row: tuple[Any, ...]) -> LedgerLine:
    d = dict(zip(LINE_COLUMNS, row, strict=True))
    return LedgerLine(
        source=d["source"],
        source_id=int(d["source_id"]),
        case_id=d["case_id"],
        sector_id=d["sector_id"],
        incurred_on=_as_date(d["incurred_on"]),
        minutes=d["minutes"],
        amount_minor=d["amount_minor"],
        currency=d["currency"],
        category=d["category"],
        rule=d["rule"] or "",
        overridden=bool(d["overridden"]),
    )


def _line_filter(*, category: str = "", month: str = "", case_id: int | None = None) -> tuple[str, list[Any]]:
    where: list[str] = [f"l.category IN ({_in(CATEGORIES)})"]
    params: list[Any] = []
    if category:
        where.append("l.category = %s")
        params.append(category)
    if month:
        where.append(f"{_month_sql('l.incurred_on')} = %s")
        params.append(month)
    if case_id is not None:
        where.append("l.case_id = %s")
        params.append(case_id)
    return " AND ".join(where), params


def coq_lines(
    period: Period, *, category: str = "", month: str = "", offset: int = 0, limit: int = 50
) -> tuple[list[LedgerLine], int]:
    """The lines behind a figure (drill-down), a page at a time, and how many there are (two queries)."""
    sql, params = _ledger_sql(period)
    where, wparams = _line_filter(category=category, month=month)
    cols = ", ".join(f"l.{c}" for c in LINE_COLUMNS)
    count = _fetch(f"SELECT COUNT(*) FROM ({sql}) l WHERE {where}", (*params, *wparams))[0][0]
    rows = _fetch(
        f"SELECT {cols} FROM ({sql}) l WHERE {where} "
        "ORDER BY l.incurred_on, l.source, l.source_id LIMIT %s OFFSET %s",
        (*params, *wparams, limit, offset),
    )
    return [_line(r) for r in rows], int(count)


def all_coq_lines(period: Period, *, category: str = "", month: str = "") -> Iterable[LedgerLine]:
    """Every line (CSV export), fetched in one query and streamed."""
    sql, params = _ledger_sql(period)
    where, wparams = _line_filter(category=category, month=month)
    cols = ", ".join(f"l.{c}" for c in LINE_COLUMNS)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {cols} FROM ({sql}) l WHERE {where} ORDER BY l.incurred_on, l.source, l.source_id",
            (*params, *wparams),
        )
        while chunk := cur.fetchmany(2000):
            for r in chunk:
                yield _line(r)


# ------------------------------------------------------------------ customers: acquired, lost


def inactivity_days() -> int:
    return max(0, int(getattr(settings, "STEWARD_CHURN_INACTIVITY_DAYS", 0) or 0))


def customers_dated() -> QuerySet[Customer]:
    """Customers annotated with `acquired` (date) and `last_activity` (instant of the latest case)."""
    cases = Case.objects.filter(customer=OuterRef("pk")).order_by()
    first = Subquery(cases.order_by("created_at").values("created_at")[:1], output_field=DateTimeField())
    last = Subquery(cases.order_by("-created_at").values("created_at")[:1], output_field=DateTimeField())
    return Customer.objects.annotate(
        acquired=Coalesce(
            "acquired_on",
            Cast(TruncDate(Least(Coalesce(first, "created_at"), "created_at")), DateField()),
            output_field=DateField(),
        ),
        last_activity=Coalesce(last, "created_at", output_field=DateTimeField()),
    )


def lost_before(day: date) -> Q:
    """The customer was lost before `day` began (an explicit date, or the inactivity rule)."""
    q = Q(churned_on__lt=day)
    days = inactivity_days()
    if days:
        q |= Q(churned_on__isnull=True, last_activity__lt=_at(day - timedelta(days=days)))
    return q


def lost_within(period: Period) -> Q:
    return lost_before(period.end) & ~lost_before(period.start)


def active_on(day: date) -> Q:
    """Acquired before `day` began and not lost before it."""
    return Q(acquired__lt=day) & ~lost_before(day)


@dataclass(frozen=True)
class CustomerBase:
    at_start: int  # S
    new: int  # N
    at_end: int  # E
    lost: int  # lost in the period among those at start
    churn: ec.Share
    retention: ec.Share


def customer_base(period: Period) -> CustomerBase:
    """S, N, E and losses for the period (one query), with churn and retention (§3.10)."""
    agg = customers_dated().aggregate(
        s=Count("pk", filter=active_on(period.start)),
        n=Count("pk", filter=Q(acquired__gte=period.start, acquired__lt=period.end)),
        e=Count("pk", filter=active_on(period.end)),
        lost=Count("pk", filter=active_on(period.start) & lost_within(period)),
    )
    s, n, e, lost = agg["s"], agg["n"], agg["e"], agg["lost"]
    return CustomerBase(
        at_start=s,
        new=n,
        at_end=e,
        lost=lost,
        churn=ec.churn_rate(lost=lost, at_start=s),
        retention=ec.retention_rate(at_end=e, new=n, at_start=s),
    )


@dataclass(frozen=True)
class CohortRow:
    year: int
    customers: int
    active: tuple[int | None, ...]  # still active at the end of each year shown (None before the cohort)
    retention: tuple[ec.Share | None, ...]


@dataclass(frozen=True)
class Cohorts:
    years: tuple[int, ...]
    rows: list[CohortRow]


def cohorts(years: Iterable[int], *, as_of: date | None = None) -> Cohorts:
    """Customers by year acquired, and how many were active at the end of each later year (one query).

    A year not over yet is judged on `as_of` (today), so the inactivity rule never loses anyone in the future.
    """
    ys = tuple(sorted(set(years)))
    if not ys:
        return Cohorts((), [])

    def year_end(y: int) -> date:
        end = date(y + 1, 1, 1)
        return min(end, as_of) if as_of else end

    counts = {f"y{y}": Count("pk", filter=~lost_before(year_end(y))) for y in ys}
    dated: Any = customers_dated()
    rows: Iterable[dict[str, Any]] = (
        dated.annotate(year=ExtractYear("acquired"))
        .filter(year__gte=ys[0], year__lte=ys[-1])
        .values("year")
        .annotate(customers=Count("pk"), **counts)
        .order_by("year")
    )
    out = []
    for r in rows:
        active = tuple(r[f"y{y}"] if y >= r["year"] else None for y in ys)
        out.append(
            CohortRow(
                year=r["year"],
                customers=r["customers"],
                active=active,
                retention=tuple(
                    None if a is None else ec.share(a, r["customers"], reason="no_customers_at_start")
                    for a in active
                ),
            )
        )
    return Cohorts(ys, out)


# ------------------------------------------------------------------ dissatisfied customers


def dissatisfied_case_q(period: Period) -> Q:
    """A case that makes its customer dissatisfied in the period (a complaint or a low CSAT)."""
    low = SurveyResponse.objects.filter(
        case=OuterRef("pk"),
        kind=SurveyKind.CASE,
        csat__lte=DISSATISFIED_CSAT_MAX,
        responded_at__gte=_at(period.start),
        responded_at__lt=_at(period.end),
    )
    return Q(kind=Kind.COMPLAINT, created_at__gte=_at(period.start), created_at__lt=_at(period.end)) | Q(
        Exists(low)
    )


def dissatisfied_cases(period: Period) -> QuerySet[Case]:
    return Case.objects.filter(dissatisfied_case_q(period))


@dataclass(frozen=True)
class UpliftCounts:
    dissatisfied: int
    dissatisfied_lost: int
    comparable: int
    comparable_lost: int


def uplift_counts(period: Period) -> UpliftCounts:
    """Among customers active at the start: lost in the period, with and without a dissatisfied case."""
    has = Exists(dissatisfied_cases(period).filter(customer=OuterRef("pk")))
    agg = (
        customers_dated()
        .annotate(dissatisfied=has)
        .filter(active_on(period.start))
        .aggregate(
            d=Count("pk", filter=Q(dissatisfied=True)),
            dl=Count("pk", filter=Q(dissatisfied=True) & lost_within(period)),
            c=Count("pk", filter=Q(dissatisfied=False)),
            cl=Count("pk", filter=Q(dissatisfied=False) & lost_within(period)),
        )
    )
    return UpliftCounts(agg["d"], agg["dl"], agg["c"], agg["cl"])


# ------------------------------------------------------------------ loyalty economics


@dataclass(frozen=True)
class Loyalty:
    period: Period
    currency: str
    base: CustomerBase
    inputs: Inputs
    margin_minor: int | None  # mean monthly margin of the active customers (own margin or assumption)
    retention_monthly: float | None
    discount_monthly: float | None
    clv: ec.Clv
    clv_incl_current: ec.Clv
    one_point: ec.Amount  # ΔCLV per customer for +1 point of MONTHLY retention
    cac: ec.Amount
    service_cost_minor: int  # booked service cost on existing customers' cases + account management
    service_unknown_lines: int
    cts: ec.Amount
    cac_to_cts: ec.Share
    uplift: ec.ChurnUplift
    expected_loss_per_dissatisfied: ec.Amount  # estimate


def _monthly(rate: float | None, months: int) -> float | None:
    """A retention rate over `months` months as a monthly rate (a power, never a division by 12)."""
    if rate is None or months <= 0 or rate < 0:
        return None
    return rate ** (1 / months)


def mean_margin(period: Period, assumption: int | None) -> int | None:
    """Mean monthly margin over customers active at the end of the period (own margin, else assumption)."""
    from django.db.models import Avg, Value

    margin = (
        Coalesce("monthly_margin_minor", Value(assumption))
        if assumption is not None
        else F("monthly_margin_minor")
    )
    agg = customers_dated().filter(active_on(period.end)).aggregate(m=Avg(margin))
    return None if agg["m"] is None else ec.round_minor(Decimal(str(agg["m"])))


def service_cost(period: Period) -> tuple[int, int]:
    """Booked cost on cases of customers acquired before the period (their cost to serve), one query."""
    sql, params = _ledger_sql(period)
    existing = (
        Case.objects.filter(customer__in=customers_dated().filter(Q(acquired__lt=period.start)).values("pk"))
        .values("pk")
        .order_by()
    )
    esql, eparams = existing.query.sql_with_params()
    row = _fetch(
        "SELECT COALESCE(SUM(l.amount_minor), 0), SUM(CASE WHEN l.amount_minor IS NULL THEN 1 ELSE 0 END) "
        f"FROM ({sql}) l WHERE l.case_id IN ({esql})",
        (*params, *eparams),
    )[0]
    return int(row[0]), int(row[1] or 0)


@dataclass(frozen=True)
class ChurnEstimate:
    """The part of the loyalty economics behind the expected churn loss of a dissatisfied customer
    (Δp_churn × CLV, §1.4): what the case panel and the cost-of-quality page show."""

    inputs: Inputs
    base: CustomerBase
    margin_minor: int | None
    retention_monthly: float | None
    discount_monthly: float | None
    clv: ec.Clv
    uplift: ec.ChurnUplift
    expected_loss_per_dissatisfied: ec.Amount  # estimate


def churn_estimate(period: Period) -> ChurnEstimate:
    """Four queries (inputs, customer base, mean margin, uplift counts): `loyalty` without the cost to
    serve, whose scan of every booked line of the period the estimate does not need."""
    inputs = inputs_for(period)
    base = customer_base(period)
    months = len(period.months) or max(1, round(period.days / 30.4375))
    r_month = _monthly(base.retention.value, months)
    d_month = (
        None
        if inputs.discount_rate_annual is None
        else float(1 + inputs.discount_rate_annual) ** (1 / 12) - 1
    )
    margin = mean_margin(period, inputs.margin_per_customer_minor)
    value = ec.clv(margin_minor=margin, retention=r_month, discount=d_month)
    counts = uplift_counts(period)
    prior = None if inputs.churn_uplift_prior is None else float(inputs.churn_uplift_prior)
    up = ec.churn_uplift(
        dissatisfied_lost=counts.dissatisfied_lost,
        dissatisfied=counts.dissatisfied,
        comparable_lost=counts.comparable_lost,
        comparable=counts.comparable,
        prior=prior,
    )
    return ChurnEstimate(
        inputs=inputs,
        base=base,
        margin_minor=margin,
        retention_monthly=r_month,
        discount_monthly=d_month,
        clv=value,
        uplift=up,
        expected_loss_per_dissatisfied=ec.expected_churn_loss(up.value, value.minor),
    )


def loyalty(period: Period) -> Loyalty:
    est = churn_estimate(period)
    inputs, base, margin, value = est.inputs, est.base, est.margin_minor, est.clv
    r_month, d_month = est.retention_monthly, est.discount_monthly
    value_now = ec.clv(margin_minor=margin, retention=r_month, discount=d_month, include_current=True)
    cac = ec.cac(sales_marketing_minor=inputs.sales_marketing_minor, new_customers=base.new)
    served, unknown = service_cost(period)
    served += inputs.account_management_minor
    # The existing customers served in the period: those active at its start (some may leave during it).
    cts = ec.cost_to_serve(service_cost_minor=served, active_customers=base.at_start)
    return Loyalty(
        period=period,
        currency=inputs.currency,
        base=base,
        inputs=inputs,
        margin_minor=margin,
        retention_monthly=r_month,
        discount_monthly=d_month,
        clv=value,
        clv_incl_current=value_now,
        one_point=ec.value_of_one_retention_point(margin_minor=margin, retention=r_month, discount=d_month),
        cac=cac,
        service_cost_minor=served,
        service_unknown_lines=unknown,
        cts=cts,
        cac_to_cts=ec.acquisition_to_retention_ratio(cac, cts),
        uplift=est.uplift,
        expected_loss_per_dissatisfied=est.expected_loss_per_dissatisfied,
    )


# ------------------------------------------------------------------ cost of a complaint


@dataclass(frozen=True)
class SectorCost:
    sector: Sector | None
    minutes: int
    amount_minor: int
    unknown_lines: int


@dataclass(frozen=True)
class ComplaintCostReport:
    period: Period
    currency: str
    complaints: int
    dissatisfied_customers: int
    by_sector: list[SectorCost]
    total: ec.ComplaintCost  # all complaints of the period together
    per_complaint: ec.Amount  # booked
    per_dissatisfied_customer: ec.Amount  # booked, over every dissatisfied case
    expected_loss: ec.Amount  # estimate per dissatisfied customer (Δp_churn × CLV)
    uplift: ec.ChurnUplift
    clv: ec.Clv


def _case_costs(
    period: Period, cases: QuerySet[Case], *, ledger: tuple[str, tuple[Any, ...]] | None = None
) -> list[tuple[Any, ...]]:
    """Per (kind of line, sector): minutes, amount, unknown lines over the ledger lines of these cases.

    The ledger is a materialised CTE: filtering its UNION ALL by `case_id IN (...)` made PostgreSQL
    re-plan the union per case (3.8 s for 2,000 complaints on an EMPTY ledger, against 24 ms
    materialised). `ledger` lets a caller pass SQL it compiled once (the decision assessment).
    """
    sql, params = ledger or _ledger_sql(period)
    csql, cparams = cases.values("pk").order_by().query.sql_with_params()
    hint = "MATERIALIZED " if connection.vendor == "postgresql" else ""
    return _fetch(
        f"WITH l AS {hint}({sql}) SELECT CASE "
        f"WHEN l.source IN ({_in(STAFF_SOURCES)}) THEN 'staff' "
        f"WHEN l.source IN ({_in(COMPENSATION_SOURCES)}) THEN 'compensation' "
        f"WHEN l.source IN ({_in(REVIEW_SOURCES)}) THEN 'review' ELSE 'other' END AS part, "
        "l.sector_id, COALESCE(SUM(l.minutes), 0), COALESCE(SUM(l.amount_minor), 0), "
        "SUM(CASE WHEN l.amount_minor IS NULL THEN 1 ELSE 0 END), "
        "COALESCE(SUM(CASE WHEN l.amount_minor IS NULL THEN l.minutes ELSE 0 END), 0) "
        f"FROM l WHERE l.case_id IN ({csql}) GROUP BY part, l.sector_id",
        (*params, *cparams),
    )


def _fold_costs(
    rows: list[tuple[Any, ...]], sectors: dict[int, Sector]
) -> tuple[ec.ComplaintCost, list[SectorCost]]:
    staff = minutes = comp = review = missing = 0
    by_sector: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])
    for part, sector, mins, amount, unknown, unknown_minutes in rows:
        mins, amount, unknown, unknown_minutes = (
            int(mins),
            int(amount),
            int(unknown or 0),
            int(unknown_minutes),
        )
        if part == "staff":
            staff += amount
            minutes += mins
            missing += unknown_minutes
            acc = by_sector[sector]
            acc[0] += mins
            acc[1] += amount
            acc[2] += unknown
        elif part == "compensation":
            comp += amount
        else:
            review += amount
    cost = ec.complaint_cost(
        staff_minor=staff,
        staff_minutes=minutes,
        compensation_minor=comp,
        review_minor=review,
        rate_missing_minutes=missing,
    )
    rows_out = [
        SectorCost(sectors.get(s) if s is not None else None, v[0], v[1], v[2]) for s, v in by_sector.items()
    ]
    rows_out.sort(key=lambda r: (r.sector.distance if r.sector else 99, r.sector.name if r.sector else ""))
    return cost, rows_out


def complaint_cost(period: Period, *, loyalty_figures: Loyalty | None = None) -> ComplaintCostReport:
    """Cost of the period's complaints (booked: staff time by sector, compensation, review) and, apart,
    the expected churn loss of a dissatisfied customer (an estimate)."""
    figures = loyalty_figures or loyalty(period)
    complaints = complaints_in(period)
    sectors = {s.pk: s for s in Sector.objects.all()}
    total, by_sector = _fold_costs(_case_costs(period, complaints), sectors)
    n = complaints.count()
    dis_cases = dissatisfied_cases(period)
    dis_total, _rows = _fold_costs(_case_costs(period, dis_cases), sectors)
    dis_customers = dis_cases.values("customer_id").distinct().count()
    return ComplaintCostReport(
        period=period,
        currency=figures.currency,
        complaints=n,
        dissatisfied_customers=dis_customers,
        by_sector=by_sector,
        total=total,
        per_complaint=ec.per_unit(total.booked_minor, n, reason="no_complaints"),
        per_dissatisfied_customer=ec.per_unit(
            dis_total.booked_minor, dis_customers, reason="no_dissatisfied_customers"
        ),
        expected_loss=figures.expected_loss_per_dissatisfied,
        uplift=figures.uplift,
        clv=figures.clv,
    )


def complaints_in(period: Period) -> QuerySet[Case]:
    return Case.objects.filter(
        kind=Kind.COMPLAINT, created_at__gte=_at(period.start), created_at__lt=_at(period.end)
    ).order_by("created_at", "pk")


@dataclass(frozen=True)
class CaseCostRow:
    case: Case
    cost: ec.ComplaintCost


def case_cost_rows(period: Period, cases: Iterable[Case]) -> list[CaseCostRow]:
    """The booked cost of each of these cases (a page of the complaints behind a figure), one query."""
    cases = list(cases)
    if not cases:
        return []
    sql, params = _ledger_sql(period)
    ids = [c.pk for c in cases]
    marks = ", ".join(["%s"] * len(ids))
    rows = _fetch(
        "SELECT l.case_id, "
        f"COALESCE(SUM(CASE WHEN l.source IN ({_in(STAFF_SOURCES)}) THEN l.minutes END), 0), "
        f"COALESCE(SUM(CASE WHEN l.source IN ({_in(STAFF_SOURCES)}) THEN l.amount_minor END), 0), "
        f"COALESCE(SUM(CASE WHEN l.source IN ({_in(STAFF_SOURCES)}) AND l.amount_minor IS NULL "
        "THEN l.minutes END), 0), "
        f"COALESCE(SUM(CASE WHEN l.source IN ({_in(COMPENSATION_SOURCES)}) THEN l.amount_minor END), 0), "
        f"COALESCE(SUM(CASE WHEN l.source IN ({_in(REVIEW_SOURCES)}) THEN l.amount_minor END), 0) "
        f"FROM ({sql}) l WHERE l.case_id IN ({marks}) GROUP BY l.case_id",
        (*params, *ids),
    )
    by_case = {r[0]: r[1:] for r in rows}
    out = []
    for c in cases:
        mins, staff, unknown, comp, review = (int(x) for x in by_case.get(c.pk, (0, 0, 0, 0, 0)))
        cost = ec.complaint_cost(
            staff_minor=staff,
            staff_minutes=mins,
            compensation_minor=comp,
            review_minor=review,
            rate_missing_minutes=unknown,
        )
        out.append(CaseCostRow(c, cost))
    return out


@dataclass(frozen=True)
class CaseEstimate:
    """The expected churn loss of one case's customer: an estimate, shown apart from the booked cost."""

    dissatisfied: bool
    expected_loss: ec.Amount
    uplift: ec.ChurnUplift | None
    clv: ec.Clv | None
    currency: str
    period: Period


def case_expected_loss(case: Case, *, today: date, answered: bool | None = None) -> CaseEstimate:
    """For the case cost panel: Δp_churn × CLV over the last 12 complete months when the case is a
    complaint or got a low satisfaction answer (one query otherwise: nothing is expected from it).

    `answered` False: the caller knows the case has no survey answer (its event log has none; every
    answer is written with its event), so that query is skipped."""
    period = default_period(today)
    if case.kind != Kind.COMPLAINT and (answered is False or not _low_answer(case.pk)):
        return CaseEstimate(False, ec.Amount(None, "not_dissatisfied", estimate=True), None, None, "", period)
    f = churn_figures(period)
    return CaseEstimate(True, f.expected_loss, f.uplift, f.clv, f.currency, period)


# Does the case have a low satisfaction answer? Compiled once per process (steward/core/compiled.py): the
# case page asks it for every case that is not a complaint.
_low_answer = Compiled(
    SurveyResponse,
    lambda case_id: (
        SurveyResponse.objects.filter(case_id=case_id, kind=SurveyKind.CASE, csat__lte=DISSATISFIED_CSAT_MAX)
        .order_by()
        .values_list("pk", flat=True)[:1]
    ),
)


@dataclass(frozen=True)
class ChurnFigures:
    """The population figures behind the expected churn loss (estimates): per dissatisfied customer,
    and how many customers were dissatisfied in the period."""

    expected_loss: ec.Amount
    uplift: ec.ChurnUplift
    clv: ec.Clv
    currency: str
    dissatisfied_customers: int

    @property
    def at_risk_minor(self) -> int | None:
        per = self.expected_loss.minor
        return None if per is None else per * self.dissatisfied_customers


def churn_figures(period: Period) -> ChurnFigures:
    """The population figures behind every case's churn estimate and the cost-of-quality page's
    (every customer of the period: seconds at a million cases), computed once per period and kept in
    the cache for STEWARD_CASE_CHURN_CACHE_SECONDS, so a complaint's case page and the cost-of-quality
    page do not recompute them (issue 9). Estimates, labelled as such: they may be that old."""
    key = f"steward:case-churn:v2:{period.start.isoformat()}:{period.end.isoformat()}"
    seconds = settings.STEWARD_CASE_CHURN_CACHE_SECONDS
    cached = cache.get(key) if seconds else None
    if not isinstance(cached, ChurnFigures):
        est = churn_estimate(period)
        cached = ChurnFigures(
            expected_loss=est.expected_loss_per_dissatisfied,
            uplift=est.uplift,
            clv=est.clv,
            currency=est.inputs.currency,
            dissatisfied_customers=dissatisfied_cases(period).values("customer_id").distinct().count(),
        )
        if seconds:
            cache.set(key, cached, seconds)
    return cached


# ------------------------------------------------------------------ sector scorecards (§2.1)


@dataclass(frozen=True)
class Scorecard:
    sector: Sector
    # internal efficiency
    tasks: int
    completed: int
    on_time: ec.Share
    staff_minutes: int
    staff_cost_minor: int
    unknown_cost_lines: int
    cost_per_task: ec.Amount
    cost_per_resolved_case: ec.Amount
    # external effectiveness of the cases the sector touched
    cases: int
    resolved_cases: int
    csat: metrics.Proportion  # share answering 4 or 5 of 5, with its Wilson interval
    csat_answers: int
    fcr: metrics.Proportion  # share saying "solved at the first contact"
    reopened: metrics.Proportion
    compensation_minor: int


def _touched(period: Period) -> QuerySet[SectorTask]:
    return SectorTask.objects.filter(created_at__gte=_at(period.start), created_at__lt=_at(period.end))


def scorecards(period: Period) -> list[Scorecard]:
    """Per sector, for tasks handed over in the period: efficiency (tasks, on time, the cost of the work
    logged on tasks in the period) beside the effectiveness of the same cases (metrics.md §2.1: never one
    without the other). Seven queries whatever the data."""
    sectors = list(Sector.objects.all())
    tasks = {
        r["sector_id"]: r
        for r in _touched(period)
        .values("sector_id")
        .annotate(
            n=Count("pk"),
            done=Count("pk", filter=Q(state=TaskState.DONE)),
            on_time=Count("pk", filter=Q(state=TaskState.DONE, completed_at__lte=F("due_at"))),
        )
        .order_by()
    }
    window = Q(sector_tasks__created_at__gte=_at(period.start), sector_tasks__created_at__lt=_at(period.end))
    cases = {
        r["sid"]: r
        for r in Case.objects.filter(window)
        .values(sid=F("sector_tasks__sector_id"))
        .annotate(
            n=Count("pk", distinct=True),
            closed=Count("pk", distinct=True, filter=Q(closed_at__isnull=False)),
            reopened=Count("pk", distinct=True, filter=Q(closed_at__isnull=False, reopen_count__gt=0)),
        )
        .order_by()
    }
    rwindow = Q(
        case__sector_tasks__created_at__gte=_at(period.start),
        case__sector_tasks__created_at__lt=_at(period.end),
    )
    answers = {
        r["sid"]: r
        for r in SurveyResponse.objects.filter(rwindow, kind=SurveyKind.CASE)
        .values(sid=F("case__sector_tasks__sector_id"))
        .annotate(
            csat_n=Count("pk", distinct=True, filter=Q(csat__isnull=False)),
            csat_top=Count("pk", distinct=True, filter=Q(csat__gte=4)),
            fcr_n=Count("pk", distinct=True, filter=Q(solved_first_contact__isnull=False)),
            fcr_yes=Count("pk", distinct=True, filter=Q(solved_first_contact=True)),
        )
        .order_by()
    }
    pairs_sql, pairs_params = (
        _touched(period).values("case_id", "sector_id").distinct().order_by().query.sql_with_params()
    )
    comp_table = connection.ops.quote_name(Compensation._meta.db_table)
    compensation = {
        sid: int(total)
        for sid, total in _fetch(
            f"SELECT p.sector_id, COALESCE(SUM(c.amount_minor), 0) FROM {comp_table} c "
            f"JOIN ({pairs_sql}) p ON p.case_id = c.case_id WHERE c.state = %s GROUP BY p.sector_id",
            (*pairs_params, CompensationState.APPROVED.value),
        )
    }
    lsql, lparams = _ledger_sql(period)
    staff = {
        sid: (int(mins), int(amount), int(unknown or 0))
        for sid, mins, amount, unknown in _fetch(
            "SELECT l.sector_id, COALESCE(SUM(l.minutes), 0), COALESCE(SUM(l.amount_minor), 0), "
            "SUM(CASE WHEN l.amount_minor IS NULL THEN 1 ELSE 0 END) "
            f"FROM ({lsql}) l WHERE l.source = '{LineSource.WORK_LOG.value}' AND l.sector_id IS NOT NULL "
            "GROUP BY l.sector_id",
            lparams,
        )
    }
    out = []
    for s in sectors:
        t = tasks.get(s.pk, {"n": 0, "done": 0, "on_time": 0})
        c = cases.get(s.pk, {"n": 0, "closed": 0, "reopened": 0})
        a = answers.get(s.pk, {"csat_n": 0, "csat_top": 0, "fcr_n": 0, "fcr_yes": 0})
        mins, cost, unknown = staff.get(s.pk, (0, 0, 0))
        if not (t["n"] or mins or cost):
            continue
        out.append(
            Scorecard(
                sector=s,
                tasks=t["n"],
                completed=t["done"],
                on_time=ec.share(t["on_time"], t["done"], reason="no_completed_tasks"),
                staff_minutes=mins,
                staff_cost_minor=cost,
                unknown_cost_lines=unknown,
                cost_per_task=ec.per_unit(cost, t["done"], reason="no_completed_tasks"),
                cost_per_resolved_case=ec.per_unit(cost, c["closed"], reason="no_resolved_cases"),
                cases=c["n"],
                resolved_cases=c["closed"],
                csat=metrics.proportion(a["csat_top"], a["csat_n"], reason="no_responses"),
                csat_answers=a["csat_n"],
                fcr=metrics.proportion(a["fcr_yes"], a["fcr_n"], reason="no_responses"),
                reopened=metrics.proportion(c["reopened"], c["closed"], reason="no_resolved_cases"),
                compensation_minor=compensation.get(s.pk, 0),
            )
        )
    return out


# ------------------------------------------------------------------ executive view


@dataclass(frozen=True)
class ExecutiveMonth:
    month: str
    resolved_cases: int
    staff_cost_minor: int
    cost_per_resolved_case: ec.Amount  # internal efficiency
    on_time: ec.Share
    csat: metrics.Proportion  # external effectiveness
    reopened: metrics.Proportion
    coq_minor: int
    failure_minor: int


@dataclass(frozen=True)
class Executive:
    period: Period
    currency: str
    months: list[ExecutiveMonth]
    coq: CostOfQualityReport
    dissatisfied_customers: int
    value_at_risk: ec.Amount  # estimate: dissatisfied customers × expected loss each
    loyalty: Loyalty


def executive(period: Period) -> Executive:
    """Internal efficiency against external effectiveness month by month, cost of quality, value at risk."""
    lsql, lparams = _ledger_sql(period)
    money = {
        _month_label(m): (int(staff), int(coq), int(failure))
        for m, staff, coq, failure in _fetch(
            f"SELECT {_month_sql('l.incurred_on')} AS m, "
            f"COALESCE(SUM(CASE WHEN l.source IN ({_in(STAFF_SOURCES)}) THEN l.amount_minor END), 0), "
            f"COALESCE(SUM(CASE WHEN l.category IN ({_in(CATEGORIES)}) THEN l.amount_minor END), 0), "
            "COALESCE(SUM(CASE WHEN l.category IN ('internal_failure', 'external_failure') "
            "THEN l.amount_minor END), 0) "
            f"FROM ({lsql}) l GROUP BY m",
            lparams,
        )
    }
    from django.db.models.functions import TruncMonth

    closed = {
        _month_label(r["m"]): r
        for r in Case.objects.filter(closed_at__gte=_at(period.start), closed_at__lt=_at(period.end))
        .annotate(m=TruncMonth("closed_at"))
        .values("m")
        .annotate(n=Count("pk"), reopened=Count("pk", filter=Q(reopen_count__gt=0)))
        .order_by()
    }
    done = {
        _month_label(r["m"]): r
        for r in SectorTask.objects.filter(
            state=TaskState.DONE, completed_at__gte=_at(period.start), completed_at__lt=_at(period.end)
        )
        .annotate(m=TruncMonth("completed_at"))
        .values("m")
        .annotate(n=Count("pk"), on_time=Count("pk", filter=Q(completed_at__lte=F("due_at"))))
        .order_by()
    }
    csat = {
        _month_label(r["m"]): r
        for r in SurveyResponse.objects.filter(
            kind=SurveyKind.CASE,
            csat__isnull=False,
            responded_at__gte=_at(period.start),
            responded_at__lt=_at(period.end),
        )
        .annotate(m=TruncMonth("responded_at"))
        .values("m")
        .annotate(n=Count("pk"), top=Count("pk", filter=Q(csat__gte=4)))
        .order_by()
    }
    months = []
    for m in period.months:
        key = m.strftime("%Y-%m")
        staff, coq, failure = money.get(key, (0, 0, 0))
        c = closed.get(key, {"n": 0, "reopened": 0})
        d = done.get(key, {"n": 0, "on_time": 0})
        s = csat.get(key, {"n": 0, "top": 0})
        months.append(
            ExecutiveMonth(
                month=key,
                resolved_cases=c["n"],
                staff_cost_minor=staff,
                cost_per_resolved_case=ec.per_unit(staff, c["n"], reason="no_resolved_cases"),
                on_time=ec.share(d["on_time"], d["n"], reason="no_completed_tasks"),
                csat=metrics.proportion(s["top"], s["n"], reason="no_responses"),
                reopened=metrics.proportion(c["reopened"], c["n"], reason="no_resolved_cases"),
                coq_minor=coq,
                failure_minor=failure,
            )
        )
    figures = loyalty(period)
    dissatisfied = dissatisfied_cases(period).values("customer_id").distinct().count()
    per = figures.expected_loss_per_dissatisfied
    at_risk = (
        ec.Amount(per.minor * dissatisfied, estimate=True)
        if per.minor is not None
        else ec.Amount(None, per.reason, True)
    )
    return Executive(
        period=period,
        currency=figures.currency,
        months=months,
        coq=cost_of_quality(period, expected_churn_loss=at_risk.minor),
        dissatisfied_customers=dissatisfied,
        value_at_risk=at_risk,
        loyalty=figures,
    )


__all__ = [
    "Period",
    "cost_of_quality",
    "coq_trend",
    "coq_lines",
    "customer_base",
    "cohorts",
    "loyalty",
    "complaint_cost",
    "case_expected_loss",
    "scorecards",
    "executive",
]
