"""Customer impact of a staff decision (metrics.md §5.2, items 4-7). Pure functions, no database.

Steward-defined choices (metrics.md leaves them open):
- p_type is the share of CSAT ≤ 3 (of 5) on past cases with that exposure, with its Wilson 95 % bounds
  as low/high (§6.1, `steward.analytics.metrics.wilson`). Below n_min answers the configured prior is the
  base, and its low/high are the Wilson bounds of the prior taken as worth n_min answers.
- A customer with several exposures counts once, with the highest p of their exposures (their worst
  experience decides whether they are dissatisfied; summing would count them twice).
- Calibration factors (actual / predicted from reviewed decisions) multiply the matching parameter;
  a p stays within [0, 1]. Factors outside [CALIBRATION_MIN, CALIBRATION_MAX] are clamped so one odd
  review cannot swing the next assessment tenfold.
- Expected cost: E[C] = C_time + Σ p_i (C_recovery + Δp_churn × CLV_i). A part whose data is missing is
  None with a flag, never 0; the total then adds the known parts and says it is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from steward.analytics.economics import round_minor
from steward.analytics.metrics import wilson

OWNER_ABSENT = "owner_absent"
MISSED_COMMITMENT = "missed_commitment"
LONG_WAIT = "long_wait"
EXPOSURES = (OWNER_ABSENT, MISSED_COMMITMENT, LONG_WAIT)

EXPOSURE_LABELS = {
    OWNER_ABSENT: _("Owner away"),
    MISSED_COMMITMENT: _("Next step at risk"),
    LONG_WAIT: _("Long wait"),
}

# The columns scenarios are compared on.
COLUMN_LABELS = {
    "expected_dissatisfied": _("Expected dissatisfied customers"),
    "expected_cost": _("Expected cost"),
    "worst_service_level": _("Worst service level"),
    "net_effect": _("Net effect against the saving"),
}

# Calibration parameters (the keys of ScenarioSpec.calibration) and what they scale.
CAL_CONTACTS = "contacts"  # expected contacts from ownership gaps and the forecast demand
CAL_DISSATISFIED = "dissatisfied"  # every p_type
CAL_COSTS = "booked_costs"  # C_time and C_recovery
CALIBRATION_MIN = 0.25
CALIBRATION_MAX = 4.0

# Flags (code -> reason shown to the manager).
FLAG_REASONS = {
    "prior_used": _("Too few past answers for this exposure: the configured prior is used."),
    "rate_missing": _("No loaded hourly rate for the front line: the cost of staff time is unknown."),
    "recovery_missing": _("No booked cost of past complaints: the recovery cost is unknown."),
    "churn_missing": _("No churn uplift or customer lifetime value: the expected churn loss is unknown."),
    "aht_default": _("Too few timed contacts: the configured handling time is used."),
    "no_history": _("No contacts in the history weeks: the demand forecast is zero."),
    "short_history": _("Fewer history weeks than asked: the forecast uses the weeks there are."),
    "cost_incomplete": _("Some cost parts are unknown: the expected cost counts the known parts only."),
}


def flag_reason(code: str) -> str:
    return str(FLAG_REASONS.get(code, code))


@dataclass(frozen=True)
class Range:
    low: float
    base: float
    high: float

    def scaled(self, factor: float) -> Range:
        return Range(self.low * factor, self.base * factor, self.high * factor)

    def __add__(self, other: Range) -> Range:
        return Range(self.low + other.low, self.base + other.base, self.high + other.high)

    def as_dict(self) -> dict[str, float]:
        return {"low": self.low, "base": self.base, "high": self.high}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Range:
        return cls(float(data["low"]), float(data["base"]), float(data["high"]))


ZERO = Range(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PType:
    """The dissatisfaction share used for one exposure: k of n in history, or the prior."""

    exposure: str
    k: int
    n: int
    prior: bool
    p: Range

    def as_dict(self) -> dict[str, Any]:
        return {"exposure": self.exposure, "k": self.k, "n": self.n, "prior": self.prior, **self.p.as_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PType:
        return cls(
            str(data["exposure"]), int(data["k"]), int(data["n"]), bool(data["prior"]), Range.from_dict(data)
        )


def p_type(exposure: str, k: int, n: int, *, prior: float, n_min: int) -> PType:
    """Historical share k/n with Wilson bounds; the prior (worth n_min answers) when n < n_min."""
    if not 0 <= prior <= 1:
        raise ValueError("the prior must be a share in [0, 1]")
    if n >= max(1, n_min):
        ci = wilson(k, n)
        assert ci is not None
        return PType(exposure, k, n, False, Range(ci[0], k / n, ci[1]))
    weight = max(1, n_min)
    ci = wilson(round(prior * weight), weight)
    assert ci is not None
    return PType(exposure, k, n, True, Range(min(ci[0], prior), prior, max(ci[1], prior)))


def calibration_factor(calibration: Mapping[str, float], key: str) -> float:
    """The factor for one parameter, 1.0 when absent or not a positive number; clamped."""
    value = calibration.get(key)
    if value is None:
        return 1.0
    try:
        f = float(value)
    except (TypeError, ValueError):
        return 1.0
    if not f > 0:
        return 1.0
    return min(CALIBRATION_MAX, max(CALIBRATION_MIN, f))


def calibrated_p(p: PType, calibration: Mapping[str, float]) -> PType:
    f = calibration_factor(calibration, CAL_DISSATISFIED)
    if f == 1.0:
        return p
    r = p.p
    return PType(
        p.exposure, p.k, p.n, p.prior, Range(min(1.0, r.low * f), min(1.0, r.base * f), min(1.0, r.high * f))
    )


def mitigated(p: PType, factor: float) -> PType:
    """p lowered by a mitigation (factor in [0, 1])."""
    if not 0 <= factor <= 1:
        raise ValueError("a mitigation factor lies in [0, 1]")
    return PType(p.exposure, p.k, p.n, p.prior, p.p.scaled(factor))


def customer_p(exposures: Iterable[str], p: Mapping[str, PType]) -> Range:
    """The p of one customer: the highest p of their exposures (counted once)."""
    ranges = [p[e].p for e in exposures if e in p]
    if not ranges:
        return ZERO
    return Range(max(r.low for r in ranges), max(r.base for r in ranges), max(r.high for r in ranges))


def expected_dissatisfied(customers: Iterable[Iterable[str]], p: Mapping[str, PType]) -> Range:
    """E[D] = Σ_i p_type(i), low/base/high."""
    total = ZERO
    for exposures in customers:
        total = total + customer_p(exposures, p)
    return total


@dataclass(frozen=True)
class CostInputs:
    """Money in minor units; None means unknown (flagged, never counted as 0)."""

    rate_minor_per_hour: int | None  # loaded hourly rate of the front line
    recovery_minor: int | None  # booked cost of recovering one dissatisfied customer (per complaint)
    churn_uplift: float | None  # Δp_churn
    clv_minor: int | None  # default CLV when a customer has none of their own
    wasted_minutes_per_contact: float  # minutes spent on a contact without the information
    repeat_share: float  # share of gap contacts that come back again (repeat contacts)


@dataclass(frozen=True)
class CostResult:
    time: Range | None
    recovery: Range | None
    churn: Range | None
    total: Range
    complete: bool
    flags: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": None if self.time is None else self.time.as_dict(),
            "recovery": None if self.recovery is None else self.recovery.as_dict(),
            "churn": None if self.churn is None else self.churn.as_dict(),
            "total": self.total.as_dict(),
            "complete": self.complete,
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostResult:
        def opt(key: str) -> Range | None:
            return None if data.get(key) is None else Range.from_dict(data[key])

        return cls(
            opt("time"),
            opt("recovery"),
            opt("churn"),
            Range.from_dict(data["total"]),
            bool(data["complete"]),
            tuple(data["flags"]),
        )


def _minor(r: Range) -> Range:
    return Range(float(round_minor(r.low)), float(round_minor(r.base)), float(round_minor(r.high)))


def expected_cost(
    *,
    contacts: Range,
    aht_seconds: float,
    customers: Sequence[tuple[Range, int | None]],
    inputs: CostInputs,
    calibration: Mapping[str, float] | None = None,
) -> CostResult:
    """E[C] = C_time + Σ_i p_i (C_recovery + Δp_churn × CLV_i), low/base/high, in minor units.

    `contacts`: expected contacts E from ownership gaps; `customers`: (p_i, own CLV or None) per affected
    customer. C_time = (E × wasted minutes + E × repeat share × AHT) × loaded rate.
    """
    cal = calibration or {}
    fc = calibration_factor(cal, CAL_COSTS)
    flags: list[str] = []
    # A part is unknown only when it matters: no contacts cost no time, nobody at risk costs nothing.
    time: Range | None = ZERO
    if contacts.high > 0:
        if inputs.rate_minor_per_hour is None:
            time = None
            flags.append("rate_missing")
        else:
            minutes_per_contact = inputs.wasted_minutes_per_contact + inputs.repeat_share * aht_seconds / 60
            time = _minor(contacts.scaled(minutes_per_contact / 60 * inputs.rate_minor_per_hour * fc))
    p_sum = ZERO
    churn_sum = ZERO
    churn_known = True
    for p, own_clv in customers:
        p_sum = p_sum + p
        if p.high <= 0:
            continue
        clv = own_clv if own_clv is not None else inputs.clv_minor
        if clv is None or inputs.churn_uplift is None:
            churn_known = False
            continue
        churn_sum = churn_sum + p.scaled(inputs.churn_uplift * clv)
    recovery: Range | None = ZERO
    if p_sum.high > 0:
        if inputs.recovery_minor is None:
            recovery = None
            flags.append("recovery_missing")
        else:
            recovery = _minor(p_sum.scaled(inputs.recovery_minor * fc))
    churn: Range | None = _minor(churn_sum)
    if not churn_known:
        churn = None
        flags.append("churn_missing")
    total = ZERO
    for part in (time, recovery, churn):
        if part is not None:
            total = total + part
    if flags:
        flags.append("cost_incomplete")
    return CostResult(time, recovery, churn, total, not flags, tuple(flags))


def net_effect(cost: Range, saving_minor: int) -> Range:
    """E[C] − the decision's internal saving: positive means the decision costs more than it saves."""
    return Range(cost.low - saving_minor, cost.base - saving_minor, cost.high - saving_minor)


@dataclass(frozen=True)
class Figures:
    """The figures that compare scenarios side by side."""

    name: str
    expected_dissatisfied: Range
    expected_cost: Range
    worst_service_level: float | None
    net_effect: Range
    affected_customers: int = 0
    ownership_gaps: int = 0


@dataclass(frozen=True)
class ComparisonRow:
    name: str
    expected_dissatisfied: Range
    expected_cost: Range
    worst_service_level: float | None
    net_effect: Range
    affected_customers: int
    ownership_gaps: int
    best: tuple[str, ...] = field(default_factory=tuple)  # the columns where this scenario is the best


def comparison_rows(items: Sequence[Figures]) -> list[ComparisonRow]:
    """Scenarios side by side on E[D], E[C], worst SL and net effect; `best` marks the best per column."""
    if not items:
        return []
    best_d = min(i.expected_dissatisfied.base for i in items)
    best_c = min(i.expected_cost.base for i in items)
    best_n = min(i.net_effect.base for i in items)
    sls = [i.worst_service_level for i in items if i.worst_service_level is not None]
    best_sl = max(sls) if sls else None
    rows = []
    for i in items:
        best = []
        if i.expected_dissatisfied.base == best_d:
            best.append("expected_dissatisfied")
        if i.expected_cost.base == best_c:
            best.append("expected_cost")
        if best_sl is not None and i.worst_service_level == best_sl:
            best.append("worst_service_level")
        if i.net_effect.base == best_n:
            best.append("net_effect")
        rows.append(
            ComparisonRow(
                i.name,
                i.expected_dissatisfied,
                i.expected_cost,
                i.worst_service_level,
                i.net_effect,
                i.affected_customers,
                i.ownership_gaps,
                tuple(best),
            )
        )
    return rows
