"""Reads of the cost-of-quality ledger. Costing and aggregation happen in SQL.

A ledger line is one booked cost: a work log, a reply / note / handoff (standard handling time, an
estimate), one participant's time in a review meeting, an approved compensation, a cost entry. Staff
time is costed at the loaded rate of its sector in force on the day it was spent: a correlated subquery
picks the rate with the greatest effective_from on or before that day (metrics.md §1.3). No rate gives
amount None, reason "rate_missing": cost unknown, never 0.

All lines of a period are one UNION ALL query; totals wrap that query in one GROUP BY.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from steward.cases.models import Direction, Handoff, Message, Note, WorkLog
from steward.core import prepared
from steward.core.compiled import Compiled
from steward.sectors.models import Sector

from . import classification as rules
from .models import (
    ClassificationOverride,
    Compensation,
    CompensationState,
    CostEntry,
    LineSource,
    ReviewParticipant,
    SectorRate,
)
from .money import org_currency

RATE_MISSING = "rate_missing"
NO_TIME_LOGGED = "no_time_logged"

# The columns of every part of the union, in this order (the SQL aliases; LedgerLine maps them).
COLUMNS = (
    "ln_source",
    "ln_source_id",
    "ln_case",
    "ln_sector",
    "ln_day",
    "ln_minutes",
    "ln_rate",
    "ln_amount",
    "ln_currency",
    "ln_rule",
    "ln_category",
    "ln_overridden",
    "ln_estimated",
)


@dataclass(frozen=True)
class LedgerLine:
    """One booked cost line (the contract other apps read)."""

    source: str
    source_id: int
    case_id: int | None
    sector_id: int | None
    incurred_on: date
    minutes: int | None
    amount_minor: int | None  # None: cost unknown (reason "rate_missing"), never 0
    currency: str
    category: str | None  # None: ordinary service (rule SVC), not a cost of quality
    rule: str
    overridden: bool
    estimated: bool = False  # minutes from a standard handling time, not measured
    rate_minor: int | None = None

    @property
    def reason(self) -> str:
        return RATE_MISSING if self.amount_minor is None else ""

    @property
    def rule_label(self) -> str:
        rule = rules.RULES.get(self.rule)
        return f"{self.rule} · {rule.label}" if rule else self.rule


def _line(row: dict[str, Any]) -> LedgerLine:
    return LedgerLine(
        source=row["ln_source"],
        source_id=row["ln_source_id"],
        case_id=row["ln_case"],
        sector_id=row["ln_sector"],
        incurred_on=row["ln_day"],
        minutes=row["ln_minutes"],
        amount_minor=row["ln_amount"],
        currency=row["ln_currency"],
        category=row["ln_category"],
        rule=row["ln_rule"],
        overridden=bool(row["ln_overridden"]),
        estimated=bool(row["ln_estimated"]),
        rate_minor=row["ln_rate"],
    )


# ----------------------------------------------------------------------------------- settings


def contact_minutes() -> dict[str, int]:
    """STEWARD_CONTACT_MINUTES parsed strictly ("reply:6,note:2,handoff:5"); a missing kind is 0."""
    from django.core.exceptions import ImproperlyConfigured

    raw = str(getattr(settings, "STEWARD_CONTACT_MINUTES", "") or "")
    minutes = {LineSource.REPLY.value: 0, LineSource.NOTE.value: 0, LineSource.HANDOFF.value: 0}
    for item in raw.split(","):
        if not item.strip():
            continue
        kind, _sep, value = item.partition(":")
        kind = kind.strip()
        if kind not in minutes or not value.strip().isdigit() or int(value) > 240:
            raise ImproperlyConfigured(
                f"STEWARD_CONTACT_MINUTES must look like 'reply:6,note:2,handoff:5' (0-240), got {item!r}"
            )
        minutes[kind] = int(value)
    return minutes


def front_line_sector_id() -> int | None:
    """The sector whose rate costs contact time of people without a sector (one query)."""
    slug = str(getattr(settings, "STEWARD_FRONT_LINE_SECTOR", "") or "").strip()
    qs = Sector.objects.filter(slug=slug) if slug else Sector.objects.order_by("distance", "name")
    return qs.values_list("pk", flat=True).first()


# ----------------------------------------------------------------------------------- the parts


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """A period of days (inclusive) as an instant range in the organisation's time zone."""
    tz = timezone.get_current_timezone()
    lo = datetime.combine(start, time.min, tzinfo=tz)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return lo, hi


def _rate(sector_ref: str = "ln_sector", day_ref: str = "ln_day") -> Subquery:
    return Subquery(
        SectorRate.objects.filter(sector_id=OuterRef(sector_ref), effective_from__lte=OuterRef(day_ref))
        .order_by("-effective_from")
        .values("hourly_rate_minor")[:1],
        output_field=BigIntegerField(),
    )


def _cost() -> ExpressionWrapper:
    """minutes / 60 × rate, rounded half up to a minor unit; NULL when the rate is NULL."""
    return ExpressionWrapper(
        (Cast("ln_minutes", BigIntegerField()) * F("ln_rate") + Value(30)) / Value(60),
        output_field=BigIntegerField(),
    )


def _null_int() -> Value:
    return Value(None, output_field=BigIntegerField())


def _finish(qs: QuerySet[Any], source: str, *, hand_chosen: str | None = None) -> QuerySet[Any]:
    qs = qs.annotate(
        ln_source=Value(source, output_field=CharField()),
        ln_source_id=Cast("pk", BigIntegerField()),
        ln_category=rules.effective_category(source, "ln_rule", hand_chosen=hand_chosen),
        ln_overridden=Exists(ClassificationOverride.objects.filter(source=source, source_id=OuterRef("pk"))),
    )
    return qs.order_by().values(*COLUMNS)


def _staff_time(
    qs: QuerySet[Any],
    source: str,
    *,
    case: str,
    sector: Any,
    day: Any,
    minutes: Any,
    rule: Any,
    estimated: bool,
) -> QuerySet[Any]:
    qs = qs.annotate(
        ln_case=Cast(case, BigIntegerField()),
        ln_sector=Cast(sector, BigIntegerField()),
        ln_day=day,
        ln_minutes=Cast(minutes, BigIntegerField()),
        ln_currency=Value(org_currency(), output_field=CharField()),
        ln_rule=rule,
        ln_estimated=Value(estimated, output_field=BooleanField()),
    )
    qs = qs.annotate(ln_rate=_rate()).annotate(ln_amount=_cost())
    return _finish(qs, source)


@dataclass(frozen=True)
class Scope:
    """A period of days (inclusive) and/or one case."""

    start: date | None = None
    end: date | None = None
    case_id: int | None = None
    sources: frozenset[str] | None = None  # None: every source
    line_id: int | None = None  # one line (with a single source)
    # The front-line sector as a subquery in the SQL instead of a value read first: the rollup's
    # statements (rollup.py) are compiled once and must not cost a query per write.
    front_line_in_sql: bool = False

    def wants(self, source: str) -> bool:
        return self.sources is None or source in self.sources

    def narrow(self, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(pk=self.line_id) if self.line_id is not None else qs


# Sources costed from staff time at a sector's loaded rate.
STAFF_TIME_SOURCES = frozenset(
    {LineSource.WORK_LOG, LineSource.REPLY, LineSource.NOTE, LineSource.HANDOFF, LineSource.REVIEW}
)
CONTACT_SOURCES = frozenset({LineSource.REPLY, LineSource.NOTE, LineSource.HANDOFF})


def _parts(scope: Scope) -> list[QuerySet[Any]]:
    lo_hi = _bounds(scope.start, scope.end) if scope.start and scope.end else None
    parts: list[QuerySet[Any]] = []
    if scope.wants(LineSource.WORK_LOG):
        parts.append(_work_logs(scope, lo_hi))
    if any(scope.wants(s) for s in CONTACT_SOURCES):
        parts += _contacts(scope, lo_hi)
    if scope.wants(LineSource.REVIEW):
        parts.append(_review_time(scope))
    if scope.wants(LineSource.COMPENSATION):
        parts.append(_compensation(scope, lo_hi))
    if scope.wants(LineSource.ENTRY):
        parts.append(_entries(scope))
    return parts


Bounds = tuple[datetime, datetime] | None


def _work_logs(scope: Scope, lo_hi: Bounds) -> QuerySet[Any]:
    logs = scope.narrow(WorkLog.objects.all())
    if lo_hi:
        logs = logs.filter(logged_at__gte=lo_hi[0], logged_at__lt=lo_hi[1])
    if scope.case_id:
        logs = logs.filter(task__case_id=scope.case_id)
    return _staff_time(
        logs,
        LineSource.WORK_LOG,
        case="task__case_id",
        sector="task__sector_id",
        day=TruncDate("logged_at"),
        minutes="minutes",
        rule=rules.work_log_rule(),
        estimated=False,
    )


def _front_line_subquery() -> Subquery:
    """front_line_sector_id() as SQL (evaluated once per statement)."""
    slug = str(getattr(settings, "STEWARD_FRONT_LINE_SECTOR", "") or "").strip()
    qs = Sector.objects.filter(slug=slug) if slug else Sector.objects.order_by("distance", "name")
    return Subquery(qs.order_by("distance", "name", "pk").values("pk")[:1], output_field=IntegerField())


def _contacts(scope: Scope, lo_hi: Bounds) -> list[QuerySet[Any]]:
    front_line: Any = (
        _front_line_subquery()
        if scope.front_line_in_sql
        else Value(front_line_sector_id(), output_field=IntegerField())
    )
    standard = contact_minutes()
    parts: list[QuerySet[Any]] = []

    # Contacts: Steward does not time individual replies, notes or handoffs. Rather than ask the
    # adviser to type minutes on every reply (a burden, and guesses dressed as measurements), each
    # contact is costed at a configured STANDARD handling time (STEWARD_CONTACT_MINUTES) at the
    # author's sector rate (the front-line sector for people without one), and the line is marked
    # `estimated` everywhere it is shown.
    contacts: list[tuple[str, QuerySet[Any], str, str]] = [
        (
            LineSource.REPLY,
            Message.objects.filter(direction=Direction.OUTBOUND, is_automatic=False, author__isnull=False),
            "author__sector_id",
            "created_at",
        ),
        (LineSource.NOTE, Note.objects.all(), "author__sector_id", "created_at"),
        (LineSource.HANDOFF, Handoff.objects.all(), "by__sector_id", "created_at"),
    ]
    for source, qs, sector_field, at_field in contacts:
        if standard[source] <= 0 or not scope.wants(source):
            continue
        qs = scope.narrow(qs)
        if lo_hi:
            qs = qs.filter(**{f"{at_field}__gte": lo_hi[0], f"{at_field}__lt": lo_hi[1]})
        if scope.case_id:
            qs = qs.filter(case_id=scope.case_id)
        parts.append(
            _staff_time(
                qs,
                source,
                case="case_id",
                sector=Coalesce(F(sector_field), front_line),
                day=TruncDate(at_field),
                minutes=Value(standard[source], output_field=IntegerField()),
                rule=rules.contact_rule(),
                estimated=True,
            )
        )
    return parts


def _review_time(scope: Scope) -> QuerySet[Any]:
    people = scope.narrow(ReviewParticipant.objects.all())
    if scope.start and scope.end:
        people = people.filter(meeting__held_on__gte=scope.start, meeting__held_on__lte=scope.end)
    if scope.case_id:
        people = people.filter(meeting__review__case_id=scope.case_id)
    return _staff_time(
        people,
        LineSource.REVIEW,
        case="meeting__review__case_id",
        sector="sector_id",
        day=F("meeting__held_on"),
        minutes="meeting__duration_minutes",
        rule=Value("IF-REVIEW", output_field=CharField()),
        estimated=False,
    )


def _compensation(scope: Scope, lo_hi: Bounds) -> QuerySet[Any]:
    comp = scope.narrow(Compensation.objects.filter(state=CompensationState.APPROVED))
    if lo_hi:
        comp = comp.filter(decided_at__gte=lo_hi[0], decided_at__lt=lo_hi[1])
    if scope.case_id:
        comp = comp.filter(case_id=scope.case_id)
    comp = comp.annotate(
        ln_case=Cast("case_id", BigIntegerField()),
        ln_sector=_null_int(),
        ln_day=TruncDate("decided_at"),
        ln_minutes=_null_int(),
        ln_rate=_null_int(),
        ln_amount=Cast("amount_minor", BigIntegerField()),
        ln_currency=F("currency"),
        ln_rule=Value("EF-COMPENSATION", output_field=CharField()),
        ln_estimated=Value(False, output_field=BooleanField()),
    )
    return _finish(comp, LineSource.COMPENSATION)


def _entries(scope: Scope) -> QuerySet[Any]:
    entries = scope.narrow(CostEntry.objects.all())
    if scope.start and scope.end:
        entries = entries.filter(incurred_on__gte=scope.start, incurred_on__lte=scope.end)
    if scope.case_id:
        entries = entries.filter(case_id=scope.case_id)
    entries = entries.annotate(
        ln_case=Cast("case_id", BigIntegerField()),
        ln_sector=Cast("sector_id", BigIntegerField()),
        ln_day=Cast("incurred_on", DateField()),
        ln_minutes=_null_int(),
        ln_rate=_null_int(),
        ln_amount=Cast("amount_minor", BigIntegerField()),
        ln_currency=F("currency"),
        ln_rule=rules.entry_rule(),
        ln_estimated=Value(False, output_field=BooleanField()),
    )
    return _finish(entries, LineSource.ENTRY, hand_chosen="category")


def _union(scope: Scope) -> QuerySet[Any]:
    first, *rest = _parts(scope)
    return first.union(*rest, all=True) if rest else first


def ledger_line(source: str, source_id: int) -> LedgerLine | None:
    """One line, as the ledger shows it (for the reclassification page); None if there is none."""
    if source not in LineSource.values:
        return None
    parts = _parts(Scope(sources=frozenset({source}), line_id=source_id))
    if not parts:
        return None
    row = parts[0].first()
    return _line(row) if row else None


def ledger_queryset(start: date, end: date) -> QuerySet[Any]:
    """The period's lines as one UNION ALL query of dicts (ln_* keys), oldest first; for pagination."""
    return _union(Scope(start=start, end=end)).order_by("ln_day", "ln_source", "ln_source_id")


def ledger_lines(start: date, end: date) -> list[LedgerLine]:
    """Every booked cost line dated in [start, end] (days in the organisation's time zone)."""
    return [_line(row) for row in ledger_queryset(start, end)]


def case_ledger_lines(case_id: int) -> list[LedgerLine]:
    return [
        _line(row) for row in _union(Scope(case_id=case_id)).order_by("ln_day", "ln_source", "ln_source_id")
    ]


def as_lines(rows: Iterable[dict[str, Any]]) -> list[LedgerLine]:
    return [_line(row) for row in rows]


# ----------------------------------------------------------------------------------- totals


@dataclass(frozen=True)
class Total:
    """Booked money of a group of lines. `amount_minor` sums the known lines only; `unknown_lines`
    (and `unknown_minutes`) say how much time could not be costed for want of a rate."""

    key: tuple[Any, ...]
    currency: str
    amount_minor: int
    minutes: int
    lines: int
    unknown_lines: int
    unknown_minutes: int

    @property
    def complete(self) -> bool:
        return self.unknown_lines == 0


_GROUPABLE = {"ln_source", "ln_sector", "ln_category", "ln_rule", "ln_case", "ln_estimated"}


def _totals(scope: Scope, by: Sequence[str]) -> list[Total]:
    """One query: GROUP BY over the union of the scope's lines."""
    if not set(by) <= _GROUPABLE:  # the column names go into the SQL text: only known ones
        raise ValueError(f"cannot group ledger lines by {sorted(set(by) - _GROUPABLE)}")
    qs = _union(scope)
    query, params = _totals_sql(qs, by)
    return _run_totals(qs.db, query, params, by)


def _totals_sql(qs: QuerySet[Any], by: Sequence[str]) -> tuple[str, list[Any]]:
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    cols = ", ".join([*by, "ln_currency"])
    query = (
        f"SELECT {cols}, SUM(ln_amount), SUM(ln_minutes), COUNT(*), "  # noqa: S608 (fixed column names)
        "SUM(CASE WHEN ln_amount IS NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN ln_amount IS NULL THEN ln_minutes ELSE 0 END) "
        f"FROM ({sql}) ledger GROUP BY {cols} ORDER BY {cols}"
    )
    return query, list(params)


# The case panel's totals query is the same SQL for every case but the case id: building and compiling
# its 30 kB of SQL (1,100 parameters) cost 50 ms of CPU per case page (issue 9). It is compiled once per
# set of inputs, with a placeholder id that is then replaced in the parameters.
_CASE_PLACEHOLDER = 9_007_199_254_740_991
_case_totals_sql: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def _case_totals(case_id: int, by: Sequence[str]) -> list[Total]:
    qs_db = WorkLog.objects.db
    # The front-line sector is a subquery of the SQL (front_line_in_sql), not a value read first: one
    # query less per case page. The slug setting still selects the SQL.
    key = (
        qs_db,
        tuple(by),
        str(getattr(settings, "STEWARD_FRONT_LINE_SECTOR", "") or "").strip(),
        tuple(sorted(contact_minutes().items())),
        org_currency(),
        timezone.get_current_timezone_name(),
    )
    compiled = _case_totals_sql.get(key)
    if compiled is None:
        query, params = _totals_sql(_union(Scope(case_id=_CASE_PLACEHOLDER, front_line_in_sql=True)), by)
        if _CASE_PLACEHOLDER not in params or str(_CASE_PLACEHOLDER) in query:
            return _totals(Scope(case_id=case_id), by)  # not parametrised as expected: build it per case
        compiled = _case_totals_sql.setdefault(key, _bound(qs_db, query, params))
    query, params = compiled
    if not params and prepared.enabled(qs_db):
        # Constants bound once (PostgreSQL): only the case id changes, so the statement is prepared
        # once per database session (planning it took 6.5 ms per case page at a million cases).
        rows = prepared.fetch_all(qs_db, query.replace(str(_CASE_PLACEHOLDER), prepared.PLACEHOLDER), case_id)
        return _rows_to_totals(rows, by)
    if not params:
        return _run_totals(qs_db, query.replace(str(_CASE_PLACEHOLDER), str(int(case_id))), None, by)
    return _run_totals(qs_db, query, [case_id if p == _CASE_PLACEHOLDER else p for p in params], by)


def _bound(db: str, query: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The totals SQL with its ~1,100 constant parameters (rule codes, minutes, currency…) written in
    once, as PostgreSQL literals by the driver itself (the same text the client-side binding sends on
    every execution), leaving the case placeholder to be replaced by the id: binding them took 2.7 ms
    of CPU per case page (issue 9). Elsewhere (SQLite), or if the placeholder is not found exactly once
    per parameter, the parameters are kept."""
    connection = connections[db]
    if connection.vendor != "postgresql":
        return query, params
    with connection.cursor() as cursor:
        mogrify = getattr(cursor.cursor, "mogrify", None)  # client-side binding cursors only
        if mogrify is None:
            return query, params
        literal = mogrify(query, params)
    if literal.count(str(_CASE_PLACEHOLDER)) != params.count(_CASE_PLACEHOLDER):
        return query, params
    return literal, []


def _run_totals(db: str, query: str, params: list[Any] | None, by: Sequence[str]) -> list[Total]:
    """`params` None: the SQL has its values written in (_bound), so a "%" in it is not a placeholder."""
    with connections[db].cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    return _rows_to_totals(rows, by)


def _rows_to_totals(rows: Iterable[Sequence[Any]], by: Sequence[str]) -> list[Total]:
    n = len(by)
    return [
        Total(
            key=tuple(r[:n]),
            currency=r[n],
            amount_minor=int(r[n + 1] or 0),
            minutes=int(r[n + 2] or 0),
            lines=int(r[n + 3]),
            unknown_lines=int(r[n + 4] or 0),
            unknown_minutes=int(r[n + 5] or 0),
        )
        for r in rows
    ]


def ledger_totals(start: date, end: date, *, by: Sequence[str] = ("ln_category",)) -> list[Total]:
    """The period's booked money grouped (default: by category; None = ordinary service), in SQL."""
    return _totals(Scope(start=start, end=end), by)


# ----------------------------------------------------------------------------------- case panel


@dataclass
class SectorTime:
    sector: Sector | None
    minutes: int
    amount_minor: int | None  # None: no line of this sector could be costed
    unknown_minutes: int
    estimated: bool


@dataclass
class CaseCost:
    """The case page's "cost of this case" panel (metrics.md §1.4, booked part)."""

    currency: str
    staff: list[SectorTime] = field(default_factory=list)  # work logged, by sector
    contacts: list[SectorTime] = field(default_factory=list)  # replies/notes/handoffs, estimated
    review: SectorTime | None = None
    compensation_minor: int = 0
    compensation_pending_minor: int = 0
    other_minor: int = 0  # cost entries tied to the case
    total_minor: int = 0  # every known line
    unknown_minutes: int = 0  # staff time not costed for want of a rate
    reasons: list[str] = field(default_factory=list)  # "rate_missing", "no_time_logged"
    # Slot for the economics helper: the expected churn loss of this complaint (Δp_churn × CLV,
    # §1.4), shown as an estimate and never added to total_minor. None until economics fills it.
    expected_churn_loss: Any = None

    @property
    def complete(self) -> bool:
        return self.unknown_minutes == 0


# The economics app's hook for the expected churn loss of a case (Δp_churn × CLV, metrics.md §1.4):
# a callable (case_id) -> its estimate object, registered from that app's AppConfig.ready(). The panel
# shows it as an estimate, never added to the booked total.
_churn_estimator: Callable[[int], Any] | None = None


def register_churn_estimator(estimator: Callable[[int], Any] | None) -> None:
    global _churn_estimator
    _churn_estimator = estimator


def case_cost(case_id: int, compensations: Iterable[Compensation] | None = None) -> CaseCost:
    """A fixed number of queries whatever the case's size: totals (the front-line sector inside), pending,
    sectors.

    `compensations`: every compensation of the case when the caller has read them already (the case
    page's panel lists them): the pending amount is summed from them instead of one more query."""
    totals = _case_totals(case_id, ("ln_source", "ln_sector"))
    currency = org_currency()
    if compensations is None:
        pending = list(
            Compensation.objects.filter(case_id=case_id, state=CompensationState.PENDING)
            .order_by()
            .values_list("amount_minor", flat=True)
        )
    else:
        pending = [
            c.amount_minor
            for c in compensations
            if c.case_id == case_id and c.state == CompensationState.PENDING
        ]
    cost = CaseCost(currency=currency, compensation_pending_minor=sum(pending))
    sector_ids = {t.key[1] for t in totals if t.key[1] is not None}
    sectors = {s.pk: s for s in _sectors() if s.pk in sector_ids} if sector_ids else {}
    staff: dict[int | None, SectorTime] = {}
    contacts: dict[int | None, SectorTime] = {}
    for t in totals:
        source, sector_id = t.key
        if t.currency == currency:
            cost.total_minor += t.amount_minor
        cost.unknown_minutes += t.unknown_minutes
        if source in (LineSource.COMPENSATION, LineSource.ENTRY):
            if source == LineSource.COMPENSATION:
                cost.compensation_minor += t.amount_minor
            else:
                cost.other_minor += t.amount_minor
            continue
        known = t.amount_minor if t.unknown_lines < t.lines else None
        row = SectorTime(
            sector=sectors.get(sector_id),
            minutes=t.minutes,
            amount_minor=known,
            unknown_minutes=t.unknown_minutes,
            estimated=source not in (LineSource.WORK_LOG, LineSource.REVIEW),
        )
        if source == LineSource.REVIEW:
            cost.review = _merge(cost.review, row)
        else:
            bucket = staff if source == LineSource.WORK_LOG else contacts
            bucket[sector_id] = _merge(bucket.get(sector_id), row)
    cost.staff = sorted(staff.values(), key=_sector_order)
    cost.contacts = sorted(contacts.values(), key=_sector_order)
    if cost.unknown_minutes:
        cost.reasons.append(RATE_MISSING)
    if not cost.staff:
        cost.reasons.append(NO_TIME_LOGGED)
    if _churn_estimator is not None:
        cost.expected_churn_loss = _churn_estimator(case_id)
    return cost


def _merge(a: SectorTime | None, b: SectorTime) -> SectorTime:
    if a is None:
        return b
    amount = (
        None
        if a.amount_minor is None and b.amount_minor is None
        else (a.amount_minor or 0) + (b.amount_minor or 0)
    )
    return SectorTime(
        sector=a.sector or b.sector,
        minutes=a.minutes + b.minutes,
        amount_minor=amount,
        unknown_minutes=a.unknown_minutes + b.unknown_minutes,
        estimated=a.estimated or b.estimated,
    )


def _sector_order(row: SectorTime) -> tuple[int, str]:
    return (row.sector.distance, row.sector.name) if row.sector else (99, "")


# ----------------------------------------------------------------------------------- rates, entries


@dataclass
class SectorRates:
    sector: Sector
    history: list[SectorRate]  # newest first
    in_force: SectorRate | None  # the rate that costs today's time


def sector_rates(today: date) -> list[SectorRates]:
    """Every sector with its rate history, newest first, and the rate in force today (two queries)."""
    rates: dict[int, list[SectorRate]] = {}
    for rate in SectorRate.objects.select_related("created_by").order_by("sector_id", "-effective_from"):
        rates.setdefault(rate.sector_id, []).append(rate)
    result = []
    for s in Sector.objects.order_by("distance", "name"):
        history = rates.get(s.pk, [])
        in_force = next((r for r in history if r.effective_from <= today), None)
        result.append(SectorRates(sector=s, history=history, in_force=in_force))
    return result


def rate_in_force(sector_id: int, day: date) -> SectorRate | None:
    return (
        SectorRate.objects.filter(sector_id=sector_id, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )


def cost_entries() -> QuerySet[CostEntry]:
    return CostEntry.objects.select_related("sector", "case", "created_by").order_by("-incurred_on", "-id")


def pending_compensations() -> QuerySet[Compensation]:
    return (
        Compensation.objects.filter(state=CompensationState.PENDING)
        .select_related("case", "requested_by")
        .order_by("created_at", "id")
    )


def case_compensations(case_id: int) -> list[Compensation]:
    return _case_compensations(case_id)


# The case panel's reads, compiled once per process (steward/core/compiled.py): only the case id changes.
_case_compensations = Compiled(
    Compensation,
    lambda case_id: (
        Compensation.objects.filter(case_id=case_id)
        .select_related("requested_by", "approved_by", "rejected_by")
        .order_by("created_at", "id")
    ),
)
# Every sector (a handful): the panel names the sectors of its totals from them.
_sectors = Compiled(Sector, lambda: Sector.objects.order_by())


def overrides_of(lines: Iterable[LedgerLine]) -> dict[tuple[str, int], ClassificationOverride]:
    """The latest override of each given line, one query (for the ledger page's reasons)."""
    keys = {(ln.source, ln.source_id) for ln in lines if ln.overridden}
    if not keys:
        return {}
    from django.db.models import Q

    q = Q()
    for source, source_id in keys:
        q |= Q(source=source, source_id=source_id)
    latest: dict[tuple[str, int], ClassificationOverride] = {}
    for o in ClassificationOverride.objects.filter(q).select_related("actor").order_by("-created_at", "-id"):
        latest.setdefault((o.source, o.source_id), o)
    return latest
