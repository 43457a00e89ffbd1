"""The decision impact assessment (metrics.md §5.2): `assess(ScenarioSpec) -> Assessment`.

Reads the database in a fixed number of queries whatever the number of cases (aggregation in SQL, one
row per open case of an uncovered owner at most) and applies the pure formulas of `queueing.py` and
`impact.py`. What the history means (contacts, handling time, p_type) is documented in `forecast.py`.

Steward-defined modelling choices:
- Intervals are the hours of the window inside the team's business hours (steward.core.business_calendar);
  the queued channels (walk-in, phone, chat) are evaluated per interval with Erlang C, the staff present
  split between them in proportion to their offered load; the time left (N − A person-hours) is the
  capacity of the workload channels (e-mail, portal, API), whose contacts over the whole window (nights
  included) are the work.
- Staff present = active advisers of the team (every active adviser when team_id is None), less the
  fraction of the interval covered by their existing absences ("before") and, "after", also by the
  scenario's away periods. N is the whole number of people present (fractions summed, rounded down).
- An away owner's open cases are an ownership gap when the backup (the scenario's override, else the
  user's backup) is missing, away during the owner's absence too, or cannot cover (`backup_problem`:
  inactive, wrong role). The `backups_full_access` mitigation gives such owners a present colleague
  (their own backup when present, else present advisers of the team in turn) with full access, which
  closes the gap; the cases stay in the action plan to be handed over.
- Commitments at risk: open next steps due in the window on open cases of an uncovered owner away at the
  due time. `notify_in_advance` and `move_next_steps` multiply their p by the configured factors.
- Long waits: the extra contacts the scenario makes wait beyond the target (queued channels: λ(1 − SL);
  workload channels: the backlog left at the end of the window), counted as anonymous customers with
  p_long_wait, never identified.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Absence, Role, Team, User
from steward.accounts.services import BACKUP_ROLES, backup_problem
from steward.analytics import economics as ec
from steward.cases.models import Case, Commitment, CommitmentState, Status
from steward.core.business_calendar import BusinessCalendar, calendar_for_team

from . import forecast, forecast_rollup, impact, queueing

MITIGATIONS = ("backups_full_access", "notify_in_advance", "move_next_steps")  # codes stored by dec-app

MITIGATION_LABELS = {
    "backups_full_access": _("Backups with full access assigned"),
    "notify_in_advance": _("Customers with next steps in the window told in advance"),
    "move_next_steps": _("Next steps moved out of the window"),
}

GAP_REASONS = {
    "backup_missing": _("No backup"),
    "backup_away": _("The backup is away too"),
    "backup_no_access": _("The backup cannot cover these cases"),
    "backup_override": _("Covered by the backup chosen for this scenario"),
}

MAX_WINDOW = timedelta(days=31)
MAX_COVER_POOL = 500  # colleagues outside the team considered as backups (mitigation)


@dataclass(frozen=True)
class AwayPeriod:
    user_id: int
    starts_at: datetime  # aware
    ends_at: datetime


@dataclass(frozen=True)
class ScenarioSpec:
    window_start: datetime  # aware; the decision's window
    window_end: datetime
    away: tuple[AwayPeriod, ...]  # who this scenario takes away, when (existing Absence rows are read too)
    team_id: int | None = None  # the team whose capacity and cases are modelled; None = every adviser
    mitigations: frozenset[str] = frozenset()
    backup_overrides: Mapping[int, int] = field(default_factory=dict)  # away user id -> backup user id
    internal_saving_minor: int = 0  # the decision's saving, minor units of settings.STEWARD_CURRENCY
    calibration: Mapping[str, float] = field(default_factory=dict)  # parameter -> actual/predicted factor

    def validate(self) -> None:
        """A clear error (ValidationError with a translatable message) for a spec that cannot be assessed."""
        for value in (
            self.window_start,
            self.window_end,
            *(t for a in self.away for t in (a.starts_at, a.ends_at)),
        ):
            if timezone.is_naive(value):
                raise ValidationError(_("Times must carry a time zone."), code="naive")
        if self.window_end <= self.window_start:
            raise ValidationError(_("The window must end after it starts."), code="window")
        if self.window_end - self.window_start > MAX_WINDOW:
            raise ValidationError(_("The window can last 31 days at most."), code="window_too_long")
        for a in self.away:
            if a.ends_at <= a.starts_at:
                raise ValidationError(_("An away period must end after it starts."), code="away")
        unknown = set(self.mitigations) - set(MITIGATIONS)
        if unknown:
            raise ValidationError(
                _("Unknown mitigation: %(codes)s."),
                code="mitigation",
                params={"codes": ", ".join(sorted(unknown))},
            )
        if self.internal_saving_minor < 0:
            raise ValidationError(_("The saving cannot be negative."), code="saving")


# ----------------------------------------------------------------------------------- result rows


def _iso(value: datetime) -> str:
    return value.isoformat()


@dataclass(frozen=True)
class ChannelInterval:
    """One queued channel in one interval, before and after the scenario. ASA None = infinite."""

    channel: str
    arrivals: float
    aht_seconds: float
    staff_before: int
    staff_after: int
    sl_before: float
    sl_after: float
    asa_before: float | None
    asa_after: float | None
    pw_before: float
    pw_after: float
    occupancy_after: float
    overloaded_before: bool
    overloaded_after: bool
    backlog_after: float
    long_waits_before: float
    long_waits_after: float


@dataclass(frozen=True)
class Interval:
    starts_at: datetime
    ends_at: datetime
    staff_before: int
    staff_after: int
    channels: tuple[ChannelInterval, ...]

    @property
    def overloaded(self) -> bool:
        return any(c.overloaded_after for c in self.channels)


@dataclass(frozen=True)
class Workload:
    channel: str
    contacts: float
    aht_seconds: float
    required_hours: float
    capacity_hours_before: float
    capacity_hours_after: float
    backlog_hours_before: float
    backlog_hours_after: float
    backlog_delay_hours_after: float | None  # None: no capacity at all
    overloaded_after: bool
    long_waits_before: float
    long_waits_after: float


@dataclass(frozen=True)
class OwnershipGap:
    case_id: int
    customer_id: int
    owner_id: int
    backup_id: int | None
    reason: str  # GAP_REASONS code
    covered_by: int | None  # the colleague a mitigation or override assigns; None = still a gap
    expected_contacts: float

    @property
    def reason_text(self) -> str:
        return str(GAP_REASONS.get(self.reason, self.reason))


@dataclass(frozen=True)
class CommitmentDue:
    commitment_id: int
    case_id: int
    customer_id: int
    owner_id: int
    due_at: datetime
    at_risk: bool


@dataclass(frozen=True)
class AffectedCustomer:
    customer_id: int
    exposures: tuple[str, ...]  # sorted codes of impact.EXPOSURES
    case_ids: tuple[int, ...]
    p: impact.Range
    clv_minor: int | None


class ReassignRow(NamedTuple):
    """A case to hand over (a tuple too: `for case_id, from_id, to_id in plan`); to None = choose someone."""

    case_id: int
    from_user_id: int
    to_user_id: int | None


class NotifyRow(NamedTuple):
    """A customer to tell in advance, about a case and (when there is one) its next step at risk."""

    customer_id: int
    case_id: int
    commitment_id: int | None


@dataclass
class Assessment:
    spec: ScenarioSpec
    computed_at: datetime
    currency: str
    intervals: list[Interval]
    workload: list[Workload]
    ownership_gaps: list[OwnershipGap]
    commitments_due: list[CommitmentDue]
    affected_customers: list[AffectedCustomer]
    long_wait_customers: float  # expected extra contacts waiting beyond the target (anonymous)
    expected_contacts: float  # E from the ownership gaps
    expected_dissatisfied: impact.Range
    expected_cost: impact.Range  # minor units
    cost: impact.CostResult
    net_effect: impact.Range
    worst_service_level: float | None  # lowest SL after, over queued intervals with demand; None = none
    worst_service_level_before: float | None
    p_type: dict[str, impact.PType]
    flags: list[str]
    cases_to_reassign: list[ReassignRow]
    customers_to_notify: list[NotifyRow]
    inputs: dict[str, Any]

    # ------------------------------------------------------------------ conveniences for the page

    @property
    def overloaded_intervals(self) -> list[Interval]:
        return [i for i in self.intervals if i.overloaded]

    @property
    def action_plan(self) -> dict[str, list[Any]]:
        return {"cases_to_reassign": self.cases_to_reassign, "customers_to_notify": self.customers_to_notify}

    @property
    def gaps_open(self) -> list[OwnershipGap]:
        return [g for g in self.ownership_gaps if g.covered_by is None]

    @property
    def affected_count(self) -> int:
        """Identified customers plus the expected anonymous long waits (rounded)."""
        return len(self.affected_customers) + round(self.long_wait_customers)

    @property
    def flag_reasons(self) -> list[tuple[str, str]]:
        return [(code, impact.flag_reason(code)) for code in self.flags]

    def figures(self, name: str) -> impact.Figures:
        return impact.Figures(
            name,
            self.expected_dissatisfied,
            self.expected_cost,
            self.worst_service_level,
            self.net_effect,
            self.affected_count,
            len(self.gaps_open),
        )

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "spec": spec_to_json(self.spec),
            "computed_at": _iso(self.computed_at),
            "currency": self.currency,
            "intervals": [
                {
                    "starts_at": _iso(i.starts_at),
                    "ends_at": _iso(i.ends_at),
                    "staff_before": i.staff_before,
                    "staff_after": i.staff_after,
                    "channels": [asdict(c) for c in i.channels],
                }
                for i in self.intervals
            ],
            "workload": [asdict(w) for w in self.workload],
            "ownership_gaps": [asdict(g) for g in self.ownership_gaps],
            "commitments_due": [{**asdict(c), "due_at": _iso(c.due_at)} for c in self.commitments_due],
            "affected_customers": [
                {
                    "customer_id": a.customer_id,
                    "exposures": list(a.exposures),
                    "case_ids": list(a.case_ids),
                    "p": a.p.as_dict(),
                    "clv_minor": a.clv_minor,
                }
                for a in self.affected_customers
            ],
            "long_wait_customers": self.long_wait_customers,
            "expected_contacts": self.expected_contacts,
            "expected_dissatisfied": self.expected_dissatisfied.as_dict(),
            "expected_cost": self.expected_cost.as_dict(),
            "cost": self.cost.as_dict(),
            "net_effect": self.net_effect.as_dict(),
            "worst_service_level": self.worst_service_level,
            "worst_service_level_before": self.worst_service_level_before,
            "p_type": {k: v.as_dict() for k, v in self.p_type.items()},
            "flags": list(self.flags),
            "cases_to_reassign": [r._asdict() for r in self.cases_to_reassign],
            "customers_to_notify": [r._asdict() for r in self.customers_to_notify],
            "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Assessment:
        def dt(value: str) -> datetime:
            return datetime.fromisoformat(value)

        return cls(
            spec=spec_from_json(data["spec"]),
            computed_at=dt(data["computed_at"]),
            currency=data["currency"],
            intervals=[
                Interval(
                    dt(i["starts_at"]),
                    dt(i["ends_at"]),
                    i["staff_before"],
                    i["staff_after"],
                    tuple(ChannelInterval(**c) for c in i["channels"]),
                )
                for i in data["intervals"]
            ],
            workload=[Workload(**w) for w in data["workload"]],
            ownership_gaps=[OwnershipGap(**g) for g in data["ownership_gaps"]],
            commitments_due=[
                CommitmentDue(**{**c, "due_at": dt(c["due_at"])}) for c in data["commitments_due"]
            ],
            affected_customers=[
                AffectedCustomer(
                    a["customer_id"],
                    tuple(a["exposures"]),
                    tuple(a["case_ids"]),
                    impact.Range.from_dict(a["p"]),
                    a["clv_minor"],
                )
                for a in data["affected_customers"]
            ],
            long_wait_customers=data["long_wait_customers"],
            expected_contacts=data["expected_contacts"],
            expected_dissatisfied=impact.Range.from_dict(data["expected_dissatisfied"]),
            expected_cost=impact.Range.from_dict(data["expected_cost"]),
            cost=impact.CostResult.from_dict(data["cost"]),
            net_effect=impact.Range.from_dict(data["net_effect"]),
            worst_service_level=data["worst_service_level"],
            worst_service_level_before=data["worst_service_level_before"],
            p_type={k: impact.PType.from_dict(v) for k, v in data["p_type"].items()},
            flags=list(data["flags"]),
            cases_to_reassign=[ReassignRow(**r) for r in data["cases_to_reassign"]],
            customers_to_notify=[NotifyRow(**r) for r in data["customers_to_notify"]],
            inputs=data["inputs"],
        )


def spec_to_json(spec: ScenarioSpec) -> dict[str, Any]:
    return {
        "window_start": _iso(spec.window_start),
        "window_end": _iso(spec.window_end),
        "away": [
            {"user_id": a.user_id, "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at)}
            for a in spec.away
        ],
        "team_id": spec.team_id,
        "mitigations": sorted(spec.mitigations),
        "backup_overrides": {str(k): v for k, v in spec.backup_overrides.items()},
        "internal_saving_minor": spec.internal_saving_minor,
        "calibration": dict(spec.calibration),
    }


def spec_from_json(data: Mapping[str, Any]) -> ScenarioSpec:
    dt = datetime.fromisoformat
    return ScenarioSpec(
        window_start=dt(data["window_start"]),
        window_end=dt(data["window_end"]),
        away=tuple(AwayPeriod(int(a["user_id"]), dt(a["starts_at"]), dt(a["ends_at"])) for a in data["away"]),
        team_id=data.get("team_id"),
        mitigations=frozenset(data.get("mitigations", ())),
        backup_overrides={int(k): int(v) for k, v in data.get("backup_overrides", {}).items()},
        internal_saving_minor=int(data.get("internal_saving_minor", 0)),
        calibration={str(k): float(v) for k, v in data.get("calibration", {}).items()},
    )


# ----------------------------------------------------------------------------------- time helpers

Span = tuple[datetime, datetime]


def _overlap(a: Span, b: Span) -> timedelta:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return max(timedelta(0), hi - lo)


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _away_within(spans: list[Span], span: Span) -> timedelta:
    return sum((_overlap(s, span) for s in spans), timedelta(0))


def _covers(spans: list[Span], at: datetime) -> bool:
    return any(s <= at < e for s, e in spans)


def _hours(start: datetime, end: datetime, tz: Any) -> list[Span]:
    """Clock hours of [start, end) in the given time zone (partial first and last hours kept)."""
    local = start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    out: list[Span] = []
    cursor = local
    while cursor < end:
        nxt = cursor + timedelta(hours=1)
        lo, hi = max(cursor, start), min(nxt, end)
        if hi > lo:
            out.append((lo, hi))
        cursor = nxt
    return out


def business_intervals(start: datetime, end: datetime, cal: BusinessCalendar) -> list[Span]:
    """Hourly intervals of [start, end) inside the calendar's working hours."""
    out: list[Span] = []
    day: date = start.astimezone(cal.tz).date()
    last: date = end.astimezone(cal.tz).date()
    while day <= last:
        if cal.is_working_day(day):
            opens, closes = cal.window(day)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                out.extend(_hours(lo, hi, cal.tz))
        day += timedelta(days=1)
    return out


def _split(total: int, loads: Mapping[str, float]) -> dict[str, int]:
    """Split `total` people between channels by their load, by highest averages (D'Hondt): each person
    goes to the channel with the highest load / (people + 1). Unlike largest remainder this is
    monotone: one more person never takes anyone away from a channel."""
    out = dict.fromkeys(loads, 0)
    if not any(a > 0 for a in loads.values()):
        return out
    for _person in range(max(0, total)):
        best = max(loads, key=lambda c: loads[c] / (out[c] + 1))
        out[best] += 1
    return out


def _backlog_contacts(w: queueing.WorkloadResult) -> float:
    """Contacts still waiting in the backlog when the window ends."""
    return w.backlog_hours * 3600 / w.aht_seconds if w.aht_seconds > 0 else 0.0


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


# ----------------------------------------------------------------------------------- assess


def _cfg_p(exposure: str) -> float:
    priors: Mapping[str, float] = settings.STEWARD_DECISION_PRIOR_DISSATISFIED
    return float(priors[exposure])


_LEDGER_SQL: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def _ledger_sql(period: Any) -> tuple[str, tuple[Any, ...]]:
    """The costs ledger's SQL for a period, compiled once per process for the same inputs.

    Compiling the ledger's seven-part UNION takes ~0.2 s of Python. Its text and parameters depend only
    on the period, the front-line sector (its one query), STEWARD_CONTACT_MINUTES and the database, so
    those are the key; anything else that changes (rates, lines) is read when the SQL runs.
    """
    from steward.analytics import economics_selectors as es
    from steward.costs.selectors import front_line_sector_id

    key = (
        period.start,
        period.end,
        front_line_sector_id(),
        str(getattr(settings, "STEWARD_CONTACT_MINUTES", "")),
        connection.vendor,
        connection.settings_dict.get("NAME"),
    )
    if key not in _LEDGER_SQL:
        if len(_LEDGER_SQL) > 16:
            _LEDGER_SQL.clear()
        _LEDGER_SQL[key] = es._ledger_sql(period)
    return _LEDGER_SQL[key]


def _case_costs(period: Any, cases: Any) -> list[tuple[Any, ...]]:
    """economics_selectors._case_costs over the ledger SQL compiled once per process."""
    from steward.analytics import economics_selectors as es

    return es._case_costs(period, cases, ledger=_ledger_sql(period))


CostFigures = tuple[impact.CostInputs, dict[str, Any], ec.Clv | None, tuple[float | None, float | None]]


def _cost_inputs(now: datetime) -> CostFigures:
    """The population's cost figures, kept in the cache for STEWARD_DECISION_COST_CACHE_SECONDS.

    They read the last 12 complete months of every customer and the whole cost ledger (about 3.5 s at
    100,000 cases) and do not depend on the scenario, so every scenario of an assessment, and the next
    assessment within the hour, reuse them (issue 9). The snapshot stores them with the result.
    """
    from django.core.cache import cache

    seconds = settings.STEWARD_DECISION_COST_CACHE_SECONDS
    cached: CostFigures | None = cache.get(_cost_key(now)) if seconds else None
    if cached is None:
        cached = refresh_cost_inputs(now)
    return cached


def _p_history(now: datetime) -> forecast.Dissatisfaction:
    """forecast.dissatisfaction(now), kept in the cache like the cost figures: it is organisation-wide
    and does not depend on the scenario, but reads every case-survey answer of the last 365 days with
    its exposures (1.6 s at 1,000,000 cases with 165,000 answers a year)."""
    from django.core.cache import cache

    seconds = settings.STEWARD_DECISION_COST_CACHE_SECONDS
    cached: forecast.Dissatisfaction | None = cache.get(_p_key(now)) if seconds else None
    if cached is None:
        cached = refresh_p_history(now)
    return cached


def _p_key(now: datetime) -> str:
    return f"steward:decision-p-history:{timezone.localdate(now).isoformat()}"


def refresh_p_history(now: datetime) -> forecast.Dissatisfaction:
    """Compute the p_type history and put it in the cache (the periodic job runs it with the costs)."""
    from django.core.cache import cache

    history = forecast.dissatisfaction(now)
    seconds = settings.STEWARD_DECISION_COST_CACHE_SECONDS
    if seconds:
        cache.set(_p_key(now), history, seconds)
    return history


def refresh_population_figures(now: datetime) -> None:
    """What the periodic job keeps in the cache: the cost figures and the p_type history."""
    refresh_cost_inputs(now)
    refresh_p_history(now)


def _cost_key(now: datetime) -> str:
    from steward.costs.selectors import front_line_sector_id

    return f"steward:decision-costs:{timezone.localdate(now).isoformat()}:{front_line_sector_id()}"


def refresh_cost_inputs(now: datetime) -> CostFigures:
    """Compute the cost figures and put them in the cache. The periodic job `tasks.refresh_cost_figures`
    runs it every 15 minutes, so an assessment finds them there instead of computing them in its request
    (about 30 s at 1,000,000 cases: past the statement timeout on a busy server)."""
    from django.core.cache import cache

    figures = _compute_cost_inputs(now)
    seconds = settings.STEWARD_DECISION_COST_CACHE_SECONDS
    if seconds:
        cache.set(_cost_key(now), figures, seconds)
    return figures


def _compute_cost_inputs(now: datetime) -> CostFigures:
    """Loaded rate of the front line, recovery cost, churn uplift and CLV (a fixed number of queries)."""
    from steward.analytics import economics_selectors as es
    from steward.costs.selectors import front_line_sector_id, rate_in_force

    today = timezone.localdate(now)
    sector_id = front_line_sector_id()
    rate = rate_in_force(sector_id, today) if sector_id is not None else None
    period = es.default_period(today)
    # Δp_churn and CLV as es.loyalty() computes them, without its cost-to-serve and CAC parts (they
    # compile and scan the whole ledger again and the assessment does not use them).
    inputs_p = es.inputs_for(period)
    base = es.customer_base(period)
    months = len(period.months) or max(1, round(period.days / 30.4375))
    r_month = es._monthly(base.retention.value, months)
    d_month = (
        None
        if inputs_p.discount_rate_annual is None
        else float(1 + inputs_p.discount_rate_annual) ** (1 / 12) - 1
    )
    margin = es.mean_margin(period, inputs_p.margin_per_customer_minor)
    clv = ec.clv(margin_minor=margin, retention=r_month, discount=d_month)
    counts = es.uplift_counts(period)
    up = ec.churn_uplift(
        dissatisfied_lost=counts.dissatisfied_lost,
        dissatisfied=counts.dissatisfied,
        comparable_lost=counts.comparable_lost,
        comparable=counts.comparable,
        prior=None if inputs_p.churn_uplift_prior is None else float(inputs_p.churn_uplift_prior),
    )
    # C_recovery = the booked cost of one complaint (metrics.md §1.4: staff time, compensation, review)
    # over the last 12 complete months. Not es.complaint_cost(): its "per dissatisfied customer" part
    # scans every low-CSAT case through the ledger union (seconds on a large base).
    complaints = es.complaints_in(period)
    booked, _by_sector = es._fold_costs(_case_costs(period, complaints), {})
    recovery = ec.per_unit(booked.booked_minor, complaints.count(), reason="no_complaints")
    if booked.no_time_logged and booked.booked_minor == 0:
        recovery = ec.Amount(None, "no_time_logged")  # nothing booked on complaints: unknown, not 0
    uplift = up.value
    inputs = impact.CostInputs(
        rate_minor_per_hour=None if rate is None else rate.hourly_rate_minor,
        recovery_minor=recovery.minor,
        churn_uplift=uplift,
        clv_minor=clv.minor,
        wasted_minutes_per_contact=float(settings.STEWARD_DECISION_WASTED_MINUTES),
        repeat_share=float(settings.STEWARD_DECISION_REPEAT_SHARE),
    )
    described = {
        "period": [period.start.isoformat(), period.end.isoformat()],
        "front_line_sector_id": sector_id,
        "rate_minor_per_hour": inputs.rate_minor_per_hour,
        "recovery_minor": inputs.recovery_minor,
        "recovery_source": "booked_per_complaint",
        "recovery_complete": booked.complete,
        "churn_uplift": uplift,
        "churn_uplift_prior": up.used_prior,
        "clv_minor": inputs.clv_minor,
        "wasted_minutes_per_contact": inputs.wasted_minutes_per_contact,
        "repeat_share": inputs.repeat_share,
    }
    return inputs, described, clv, (r_month, d_month)


def assess(spec: ScenarioSpec, *, now: datetime | None = None) -> Assessment:
    """The impact of one scenario over its window (metrics.md §5.2)."""
    spec.validate()
    now = now or timezone.now()
    ws, we = spec.window_start, spec.window_end
    n_min = int(settings.STEWARD_DECISION_MIN_SAMPLE)
    weeks = int(settings.STEWARD_DECISION_HISTORY_WEEKS)
    target = float(settings.STEWARD_DECISION_TARGET_SECONDS)
    flags: list[str] = []

    team = Team.objects.filter(pk=spec.team_id).first() if spec.team_id is not None else None
    if spec.team_id is not None and team is None:
        raise ValidationError(_("Unknown team."), code="team")
    cal = calendar_for_team(team)
    tz = cal.tz

    # --- people: advisers modelled, absences before and after the scenario
    staff_qs = User.objects.filter(is_active=True, role=Role.ADVISER)
    if team is not None:
        staff_qs = staff_qs.filter(team=team)
    staff_ids = list(staff_qs.order_by("pk").values_list("pk", flat=True))
    existing: dict[int, list[Span]] = defaultdict(list)
    for uid, s, e in Absence.objects.overlapping(ws, we).values_list("user_id", "starts_at", "ends_at"):
        existing[uid].append((max(s, ws), min(e, we)))
    scenario: dict[int, list[Span]] = defaultdict(list)
    for a in spec.away:
        if a.ends_at > ws and a.starts_at < we:
            scenario[a.user_id].append((max(a.starts_at, ws), min(a.ends_at, we)))
    before = {uid: _merge(v) for uid, v in existing.items()}
    after = {
        uid: _merge([*existing.get(uid, []), *scenario.get(uid, [])]) for uid in set(existing) | set(scenario)
    }

    # --- history
    h_start, h_end = forecast.history_bounds(ws, now, weeks)
    # From the hourly rollup: the figures of forecast.demand, handling_times (over the whole hours) and
    # contact_rates.
    dem, aht, rates = forecast_rollup.history(spec.team_id, h_start, h_end, tz, weeks, n_min)
    flags.extend(dem.flags)
    if aht.defaulted:
        flags.append("aht_default")
    cal_contacts = impact.calibration_factor(spec.calibration, impact.CAL_CONTACTS)

    # --- capacity per interval
    def present(uid: int, span: Span, away: Mapping[int, list[Span]]) -> float:
        length = span[1] - span[0]
        return 1 - _away_within(away.get(uid, []), span) / length

    intervals: list[Interval] = []
    capacity_before = capacity_after = 0.0
    worst: float | None = None
    worst_before: float | None = None
    for span in business_intervals(ws, we, cal):
        secs = (span[1] - span[0]).total_seconds()
        n_before = math.floor(sum(present(u, span, before) for u in staff_ids) + 1e-9)
        n_after = math.floor(sum(present(u, span, after) for u in staff_ids) + 1e-9)
        lam = {c: dem.rate(c, span[0], tz) * secs / 3600 * cal_contacts for c in queueing.QUEUE_CHANNELS}
        loads = {c: lam[c] * aht.seconds[c] / secs for c in queueing.QUEUE_CHANNELS}
        split_b, split_a = _split(n_before, loads), _split(n_after, loads)
        rows = []
        for c in queueing.QUEUE_CHANNELS:
            qb = queueing.erlang(
                lam[c], aht.seconds[c], split_b[c], target_seconds=target, interval_seconds=secs
            )
            qa = queueing.erlang(
                lam[c], aht.seconds[c], split_a[c], target_seconds=target, interval_seconds=secs
            )
            rows.append(
                ChannelInterval(
                    c,
                    lam[c],
                    aht.seconds[c],
                    split_b[c],
                    split_a[c],
                    qb.sl,
                    qa.sl,
                    _finite(qb.asa),
                    _finite(qa.asa),
                    qb.pw,
                    qa.pw,
                    qa.occupancy,
                    qb.overloaded,
                    qa.overloaded,
                    qa.backlog_growth,
                    qb.long_waits,
                    qa.long_waits,
                )
            )
            if lam[c] > 0:
                worst = qa.sl if worst is None else min(worst, qa.sl)
                worst_before = qb.sl if worst_before is None else min(worst_before, qb.sl)
        queued = sum(loads.values())
        capacity_before += max(0.0, n_before - queued) * secs / 3600
        capacity_after += max(0.0, n_after - queued) * secs / 3600
        intervals.append(Interval(span[0], span[1], n_before, n_after, tuple(rows)))

    # --- workload channels: every hour of the window is work, capacity is the business hours left
    all_hours = _hours(ws, we, tz)
    window_hours = max(1e-9, (we - ws).total_seconds() / 3600)
    contacts_w = {
        c: sum(dem.rate(c, h[0], tz) * (h[1] - h[0]).total_seconds() / 3600 for h in all_hours) * cal_contacts
        for c in queueing.WORKLOAD_CHANNELS
    }
    required = {c: contacts_w[c] * aht.seconds[c] / 3600 for c in queueing.WORKLOAD_CHANNELS}
    total_required = sum(required.values())
    workloads: list[Workload] = []
    for c in queueing.WORKLOAD_CHANNELS:
        share = required[c] / total_required if total_required > 0 else 1 / len(queueing.WORKLOAD_CHANNELS)
        wb = queueing.workload(
            contacts_w[c], aht.seconds[c], capacity_before * share, window_hours=window_hours
        )
        wa = queueing.workload(
            contacts_w[c], aht.seconds[c], capacity_after * share, window_hours=window_hours
        )
        workloads.append(
            Workload(
                c,
                contacts_w[c],
                aht.seconds[c],
                wa.required_hours,
                wb.capacity_hours,
                wa.capacity_hours,
                wb.backlog_hours,
                wa.backlog_hours,
                wa.backlog_delay_hours,
                wa.overloaded,
                _backlog_contacts(wb),
                _backlog_contacts(wa),
            )
        )

    long_before = sum(ch.long_waits_before for i in intervals for ch in i.channels) + sum(
        w.long_waits_before for w in workloads
    )
    long_after = sum(ch.long_waits_after for i in intervals for ch in i.channels) + sum(
        w.long_waits_after for w in workloads
    )
    long_wait_customers = max(0.0, long_after - long_before)

    # --- ownership: who is away (scenario or existing absence), their backups, the gaps
    away_ids = set(after)
    # Whose cases are modelled: the team's advisers and the people the scenario takes away (other
    # people's recorded absences still count when they are someone's backup).
    owners = away_ids if team is None else away_ids & (set(staff_ids) | set(scenario))
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=away_ids | set(spec.backup_overrides.values())).select_related(
            "backup"
        )
    }
    # Who can take over with full access: the team's present advisers first, then anyone else present
    # who may own cases (other teams' advisers, managers), so a whole team away can still be covered.
    present_staff = [u for u in staff_ids if u not in away_ids]
    if "backups_full_access" in spec.mitigations:
        others = (
            User.objects.filter(is_active=True, role__in=BACKUP_ROLES)
            .exclude(pk__in=away_ids | set(staff_ids))
            .order_by("role", "pk")
            .values_list("pk", flat=True)[:MAX_COVER_POOL]
        )
        present_staff += list(others)
    turn = 0
    problems: dict[int, str] = {}
    cover: dict[int, int | None] = {}
    for uid in sorted(owners):
        owner = users.get(uid)
        if owner is None:
            continue
        backup = users.get(spec.backup_overrides[uid]) if uid in spec.backup_overrides else owner.backup
        own_spans = after[uid]
        reason = None
        if backup is None:
            reason = "backup_missing"
        elif any(_away_within(after.get(backup.pk, []), s) > timedelta(0) for s in own_spans):
            reason = "backup_away"
        elif backup_problem(owner, backup):
            reason = "backup_no_access"
        covered: int | None = None
        if reason is None:
            if uid not in spec.backup_overrides or backup is None:
                continue  # the user's own backup covers: no gap, nothing to hand over
            reason, covered = "backup_override", backup.pk
        elif "backups_full_access" in spec.mitigations:
            if reason == "backup_no_access" and backup is not None:
                covered = backup.pk  # the same backup, given full access
            elif present_staff:
                covered = present_staff[turn % len(present_staff)]
                turn += 1
        problems[uid] = reason
        cover[uid] = covered

    gap_owner_ids = list(problems)
    case_rows = list(
        Case.objects.filter(owner_id__in=gap_owner_ids)
        .exclude(status=Status.CLOSED)
        .order_by("pk")
        .values_list("pk", "customer_id", "kind", "owner_id", "customer__monthly_margin_minor", "channel")
    )
    commitment_rows = list(
        Commitment.objects.filter(
            case__owner_id__in=gap_owner_ids, state=CommitmentState.OPEN, due_at__gte=ws, due_at__lt=we
        )
        .exclude(case__status=Status.CLOSED)
        .order_by("due_at", "pk")
        .values_list("pk", "case_id", "case__customer_id", "case__owner_id", "due_at")
    )

    gaps: list[OwnershipGap] = []
    margins: dict[int, int | None] = {}
    expected_contacts = 0.0
    contact_seconds = 0.0  # Σ E_i × AHT of the case's channel, for the repeat contacts' time
    for case_id, customer_id, kind, owner_id, margin, channel in case_rows:
        margins[customer_id] = margin
        days = _away_within(after[owner_id], (ws, we)) / timedelta(days=1)
        e_i = rates.per_case_day.get(kind, 0.0) * days * cal_contacts
        covered_by = cover.get(owner_id)
        if covered_by is None:
            expected_contacts += e_i
            contact_seconds += e_i * aht.seconds.get(channel, 0.0)
        gaps.append(
            OwnershipGap(
                case_id,
                customer_id,
                owner_id,
                users[owner_id].backup_id,
                problems[owner_id],
                covered_by,
                e_i if covered_by is None else 0.0,
            )
        )
    commitments: list[CommitmentDue] = []
    for cid, case_id, customer_id, owner_id, due_at in commitment_rows:
        at_risk = cover.get(owner_id) is None and _covers(after[owner_id], due_at)
        commitments.append(CommitmentDue(cid, case_id, customer_id, owner_id, due_at, at_risk))

    # --- p_type
    history = _p_history(now)
    p: dict[str, impact.PType] = {}
    for exposure in impact.EXPOSURES:
        k, n = history.counts[exposure]
        pt = impact.p_type(exposure, k, n, prior=_cfg_p(exposure), n_min=n_min)
        if pt.prior and "prior_used" not in flags:
            flags.append("prior_used")
        p[exposure] = impact.calibrated_p(pt, spec.calibration)
    factors: Mapping[str, float] = settings.STEWARD_DECISION_MITIGATION_FACTORS
    p_used = dict(p)
    for m in ("notify_in_advance", "move_next_steps"):
        if m in spec.mitigations:
            p_used[impact.MISSED_COMMITMENT] = impact.mitigated(
                p_used[impact.MISSED_COMMITMENT], float(factors[m])
            )

    # --- affected customers (counted once)
    exposures: dict[int, set[str]] = defaultdict(set)
    cases_of: dict[int, set[int]] = defaultdict(set)
    for g in gaps:
        if g.covered_by is None:
            exposures[g.customer_id].add(impact.OWNER_ABSENT)
            cases_of[g.customer_id].add(g.case_id)
    for cd in commitments:
        if cd.at_risk:
            exposures[cd.customer_id].add(impact.MISSED_COMMITMENT)
            cases_of[cd.customer_id].add(cd.case_id)
    loyalty_clv: int | None
    cost_inputs, cost_described, clv, (r_month, d_month) = _cost_inputs(now)
    loyalty_clv = clv.minor if clv is not None else None

    def own_clv(customer_id: int) -> int | None:
        margin = margins.get(customer_id)
        if margin is None or r_month is None or d_month is None:
            return None
        return ec.clv(margin_minor=margin, retention=r_month, discount=d_month).minor

    affected = []
    for customer_id in sorted(exposures):
        ex = tuple(sorted(exposures[customer_id]))
        affected.append(
            AffectedCustomer(
                customer_id,
                ex,
                tuple(sorted(cases_of[customer_id])),
                impact.customer_p(ex, p_used),
                own_clv(customer_id),
            )
        )
    long_p = p_used[impact.LONG_WAIT].p.scaled(long_wait_customers)
    dissatisfied = impact.expected_dissatisfied((a.exposures for a in affected), p_used) + long_p

    mean_aht = contact_seconds / expected_contacts if expected_contacts > 0 else 0.0
    contacts_range = impact.Range(expected_contacts, expected_contacts, expected_contacts)
    cost = impact.expected_cost(
        contacts=contacts_range,
        aht_seconds=mean_aht,
        customers=[*((a.p, a.clv_minor) for a in affected), (long_p, None)],
        inputs=cost_inputs,
        calibration=spec.calibration,
    )
    for f in cost.flags:
        if f not in flags:
            flags.append(f)
    net = impact.net_effect(cost.total, spec.internal_saving_minor)

    # --- the action plan
    reassign = [ReassignRow(g.case_id, g.owner_id, g.covered_by) for g in gaps]
    notify = [NotifyRow(c.customer_id, c.case_id, c.commitment_id) for c in commitments if c.at_risk]

    inputs = {
        "history": [h_start.isoformat(), h_end.isoformat()],
        "history_weeks": dem.weeks,
        "history_contacts": dem.contacts,
        "demand_per_hour": {f"{c}|{wd}|{h}": v for (c, wd, h), v in sorted(dem.per_hour.items())},
        "aht_seconds": aht.seconds,
        "aht_default": sorted(aht.defaulted),
        "aht_contacts": aht.contacts,
        "contacts_per_case_day": rates.per_case_day,
        "staff_ids": staff_ids,
        "away_before": {str(k): [[s.isoformat(), e.isoformat()] for s, e in v] for k, v in before.items()},
        "away_after": {str(k): [[s.isoformat(), e.isoformat()] for s, e in v] for k, v in after.items()},
        "target_seconds": target,
        "n_min": n_min,
        "p_history": {k: list(v) for k, v in history.counts.items()},
        "csat_baseline": list(history.baseline),
        "priors": dict(settings.STEWARD_DECISION_PRIOR_DISSATISFIED),
        "mitigation_factors": dict(factors),
        "calibration": dict(spec.calibration),
        "costs": cost_described,
        "clv_default_minor": loyalty_clv,
    }
    return Assessment(
        spec=spec,
        computed_at=now,
        currency=settings.STEWARD_CURRENCY,
        intervals=intervals,
        workload=workloads,
        ownership_gaps=gaps,
        commitments_due=commitments,
        affected_customers=affected,
        long_wait_customers=long_wait_customers,
        expected_contacts=expected_contacts,
        expected_dissatisfied=dissatisfied,
        expected_cost=cost.total,
        cost=cost,
        net_effect=net,
        worst_service_level=worst,
        worst_service_level_before=worst_before,
        p_type=p_used,
        flags=flags,
        cases_to_reassign=reassign,
        customers_to_notify=notify,
        inputs=inputs,
    )


def compare(named: Iterable[tuple[str, Assessment]]) -> list[impact.ComparisonRow]:
    """Scenarios side by side on E[D], E[C], worst SL and net effect."""
    return impact.comparison_rows([a.figures(name) for name, a in named])


__all__ = [
    "MITIGATIONS",
    "AwayPeriod",
    "ScenarioSpec",
    "Assessment",
    "assess",
    "compare",
    "spec_to_json",
    "spec_from_json",
]
