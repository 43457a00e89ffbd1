"""Economics formulas (metrics.md §1, §3.10–3.12): pure functions, no database.

Money is an integer in minor units (the currency travels beside it, never inside a formula). A figure
that cannot be computed is `None` with a reason code, never 0: revenue not entered, no customers at the
start of a period, a cost to serve of 0, no change in prevention spend. Estimates (expected churn loss,
COPQ including it) are separate fields, labelled as estimates by every screen, and never added to a
booked total.

Conventions:
- Rates (retention r, churn c, discount d) are floats per period; m, r and d use the same period length.
- Monthly and annual rates convert by powers, never by ×12 (metrics.md §3.10).
- A CLV with r ≥ 1 has no finite margin multiple: it is summed over a finite horizon and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.utils.translation import gettext_lazy as _

# Default sample size below which Δp_churn is taken from the configured prior (metrics.md §1.4).
N_MIN = 30
# A CLV whose margin multiple diverges (r ≥ 1) is summed over this many years at most (metrics.md §3.11).
DEFAULT_HORIZON_YEARS = 5

# Reason codes a screen shows next to a figure it cannot compute.
REASONS = {
    "no_revenue": _("revenue for the period is 0"),
    "revenue_not_entered": _("revenue for the period is not entered"),
    "no_cost": _("no cost of quality booked in the period"),
    "no_customers_at_start": _("no customers at the start of the period"),
    "no_new_customers": _("no new customers in the period"),
    "no_cost_entered": _("sales and marketing cost not entered"),
    "no_active_customers": _("no active existing customers"),
    "no_cost_to_serve": _("cost to serve is 0"),
    "no_acquisition_cost": _("acquisition cost unknown"),
    "no_prevention_change": _("prevention spend did not change"),
    "no_previous_costs": _("nothing was booked in the previous period"),
    "no_margin": _("margin per customer not entered"),
    "no_retention": _("retention unknown"),
    "no_discount_rate": _("discount rate not entered"),
    "invalid_rate": _("retention or discount rate out of range"),
    "no_clv": _("customer lifetime value unknown"),
    "no_uplift": _("churn uplift unknown"),
    "no_time_logged": _("no staff time logged"),
    "rate_missing": _("a sector has no hourly rate for some of the time"),
    "no_dissatisfied_customers": _("no dissatisfied customers"),
    "no_comparable_customers": _("no comparable customers"),
    "no_complaints": _("no complaints in the period"),
    "not_dissatisfied": _("no complaint and no low satisfaction on this case"),
    "no_completed_tasks": _("no completed tasks"),
    "no_resolved_cases": _("no resolved cases"),
    "no_responses": _("no survey answers"),
}


def reason_text(code: str) -> str:
    return str(REASONS.get(code, code))


def round_minor(value: float | Fraction | Decimal | int) -> int:
    """Round to whole minor units, halves away from zero (how a ledger rounds)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Share:
    """A ratio of two amounts (money or counts): value None with a reason when it cannot be formed."""

    value: float | None
    numerator: int | float
    denominator: int | float
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return reason_text(self.reason) if self.reason else ""


def share(numerator: int | float, denominator: int | float | None, *, reason: str) -> Share:
    if denominator is None:
        return Share(None, numerator, 0, reason)
    if not denominator:
        return Share(None, numerator, denominator, reason)
    return Share(numerator / denominator, numerator, denominator)


@dataclass(frozen=True)
class Amount:
    """An amount of money in minor units, or None with the reason it is unknown."""

    minor: int | None
    reason: str = ""
    estimate: bool = False

    @property
    def reason_text(self) -> str:
        return reason_text(self.reason) if self.reason else ""


def per_unit(total_minor: int | None, units: int, *, reason: str, missing: str = "") -> Amount:
    """total / units rounded to minor units; None (with reason) when units is 0 or total unknown."""
    if total_minor is None:
        return Amount(None, missing or reason)
    if units <= 0:
        return Amount(None, reason)
    return Amount(round_minor(Fraction(total_minor, units)))


# ------------------------------------------------------------------ cost of quality (§1.1)


@dataclass(frozen=True)
class CostOfQuality:
    prevention: int
    appraisal: int
    internal_failure: int
    external_failure: int
    total: int  # COQ = P + A + IF + EF
    conformance: int  # P + A (price of conformance)
    nonconformance: int  # IF + EF (PONC, COPQ booked)
    to_revenue: Share  # COQ / revenue
    failure_share: Share  # (IF + EF) / COQ
    expected_churn_loss: Amount  # estimate, never inside `total`
    copq_estimated: Amount  # IF + EF + expected churn loss: estimate, a separate line


def cost_of_quality(
    *,
    prevention: int,
    appraisal: int,
    internal_failure: int,
    external_failure: int,
    revenue: int | None = None,
    expected_churn_loss: int | None = None,
) -> CostOfQuality:
    total = prevention + appraisal + internal_failure + external_failure
    nonconf = internal_failure + external_failure
    if revenue is None:
        to_rev = Share(None, total, 0, "revenue_not_entered")
    else:
        to_rev = share(total, revenue, reason="no_revenue")
    loss = (
        Amount(expected_churn_loss, estimate=True)
        if expected_churn_loss is not None
        else Amount(None, "no_clv", estimate=True)
    )
    copq = (
        Amount(nonconf + expected_churn_loss, estimate=True)
        if expected_churn_loss is not None
        else Amount(None, loss.reason, estimate=True)
    )
    return CostOfQuality(
        prevention=prevention,
        appraisal=appraisal,
        internal_failure=internal_failure,
        external_failure=external_failure,
        total=total,
        conformance=prevention + appraisal,
        nonconformance=nonconf,
        to_revenue=to_rev,
        failure_share=share(nonconf, total, reason="no_cost"),
        expected_churn_loss=loss,
        copq_estimated=copq,
    )


# ------------------------------------------------------------------ one complaint (§1.4)


@dataclass(frozen=True)
class ComplaintCost:
    staff_minor: int  # Σ staff cost of the time whose rate is known
    staff_minutes: int
    compensation_minor: int
    review_minor: int
    booked_minor: int  # staff + compensation + review
    no_time_logged: bool  # no minutes at all: the staff part is not measured, not 0
    rate_missing_minutes: int  # minutes whose sector had no rate: cost unknown, left out of the total

    @property
    def complete(self) -> bool:
        return not self.no_time_logged and not self.rate_missing_minutes


def complaint_cost(
    *,
    staff_minor: int,
    staff_minutes: int,
    compensation_minor: int = 0,
    review_minor: int = 0,
    rate_missing_minutes: int = 0,
) -> ComplaintCost:
    return ComplaintCost(
        staff_minor=staff_minor,
        staff_minutes=staff_minutes,
        compensation_minor=compensation_minor,
        review_minor=review_minor,
        booked_minor=staff_minor + compensation_minor + review_minor,
        no_time_logged=staff_minutes == 0,
        rate_missing_minutes=rate_missing_minutes,
    )


@dataclass(frozen=True)
class ChurnUplift:
    """Δp_churn = churn(dissatisfied) − churn(comparable without a dissatisfied case), same horizon."""

    value: float | None
    dissatisfied: Share
    comparable: Share
    used_prior: bool  # fewer than n_min dissatisfied customers: the configured prior stands in
    prior: float | None
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return reason_text(self.reason) if self.reason else ""


def churn_uplift(
    *,
    dissatisfied_lost: int,
    dissatisfied: int,
    comparable_lost: int,
    comparable: int,
    prior: float | None,
    n_min: int = N_MIN,
) -> ChurnUplift:
    d = share(dissatisfied_lost, dissatisfied, reason="no_dissatisfied_customers")
    c = share(comparable_lost, comparable, reason="no_comparable_customers")
    if dissatisfied < n_min or c.value is None or d.value is None:
        reason = "" if prior is not None else (d.reason or c.reason or "no_uplift")
        return ChurnUplift(prior, d, c, True, prior, reason)
    return ChurnUplift(d.value - c.value, d, c, False, prior)


def expected_churn_loss(uplift: float | None, clv_minor: int | None) -> Amount:
    """C_complaint_expected = Δp_churn × CLV: an estimate, None when either input is unknown."""
    if clv_minor is None:
        return Amount(None, "no_clv", estimate=True)
    if uplift is None:
        return Amount(None, "no_uplift", estimate=True)
    return Amount(round_minor(Decimal(str(uplift)) * clv_minor), estimate=True)


# ------------------------------------------------------------------ churn and retention (§3.10)


def churn_rate(*, lost: int, at_start: int) -> Share:
    """Customers lost in the period / customers at its start (0..1)."""
    return share(lost, at_start, reason="no_customers_at_start")


def retention_rate(*, at_end: int, new: int, at_start: int) -> Share:
    """(E − N) / S (0..1)."""
    return share(at_end - new, at_start, reason="no_customers_at_start")


def annual_retention(monthly: float) -> float:
    return monthly**12


def monthly_retention(annual: float) -> float:
    return annual ** (1 / 12)


def annual_churn(monthly: float) -> float:
    return 1 - (1 - monthly) ** 12


def monthly_churn(annual: float) -> float:
    return 1 - (1 - annual) ** (1 / 12)


# ------------------------------------------------------------------ CLV (§3.11)


@dataclass(frozen=True)
class Clv:
    minor: int | None
    multiple: float | None  # Σ of r^t/(1+d)^t over the periods counted (m × multiple = CLV)
    finite_horizon: int | None  # periods summed when the closed form diverges (r ≥ 1)
    include_current: bool
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return reason_text(self.reason) if self.reason else ""


def margin_multiple(retention: float, discount: float) -> float | None:
    """r / (1 + d − r): margins from the next period on. None when it diverges (r ≥ 1)."""
    if retention >= 1 or retention < 0 or discount <= -1:
        return None
    return retention / (1 + discount - retention)


def clv(
    *,
    margin_minor: int | None,
    retention: float | None,
    discount: float | None,
    include_current: bool = False,
    horizon_periods: int = DEFAULT_HORIZON_YEARS * 12,
    acquisition_cost_minor: int = 0,
) -> Clv:
    """CLV = m·r/(1+d−r) (+ m for the current period), or Σ_{t=0..T} m·r^t/(1+d)^t when r ≥ 1.

    A negative margin gives a negative CLV. acquisition_cost_minor (AC) is subtracted: 0 for an
    existing customer.
    """
    if margin_minor is None:
        return Clv(None, None, None, include_current, "no_margin")
    if retention is None:
        return Clv(None, None, None, include_current, "no_retention")
    if discount is None:
        return Clv(None, None, None, include_current, "no_discount_rate")
    if retention < 0 or discount <= -1 or horizon_periods < 1:
        return Clv(None, None, None, include_current, "invalid_rate")
    multiple = margin_multiple(retention, discount)
    horizon = None
    if multiple is None:
        horizon = horizon_periods
        q = retention / (1 + discount)
        multiple = sum(q**t for t in range(1, horizon + 1))
    total = multiple + (1 if include_current else 0)
    value = Decimal(str(total)) * margin_minor - acquisition_cost_minor
    return Clv(round_minor(value), multiple, horizon, include_current)


def delta_clv(*, margin_minor: int, retention_from: float, retention_to: float, discount: float) -> Amount:
    """ΔCLV per customer when retention moves r1 → r2: m × [r2/(1+d−r2) − r1/(1+d−r1)] (§1.5)."""
    a = margin_multiple(retention_from, discount)
    b = margin_multiple(retention_to, discount)
    if a is None or b is None:
        return Amount(None, "invalid_rate")
    return Amount(round_minor(Decimal(str(b - a)) * margin_minor))


def value_of_one_retention_point(
    *, margin_minor: int | None, retention: float | None, discount: float | None
) -> Amount:
    """What one percentage point of retention is worth per customer: CLV(r) − CLV(r − 0.01), i.e. what
    losing it costs (r − 0.01 stays defined where r + 0.01 could reach 1 and diverge). Below one point
    of retention, the point above is used instead."""
    if margin_minor is None:
        return Amount(None, "no_margin")
    if retention is None:
        return Amount(None, "no_retention")
    if discount is None:
        return Amount(None, "no_discount_rate")
    low, high = (retention - 0.01, retention) if retention >= 0.01 else (retention, retention + 0.01)
    return delta_clv(margin_minor=margin_minor, retention_from=low, retention_to=high, discount=discount)


# ------------------------------------------------------------------ CAC, CTS (§3.12, §1.5)


def cac(*, sales_marketing_minor: int | None, new_customers: int) -> Amount:
    """(sales + marketing cost in period) / new customers acquired in period."""
    return per_unit(
        sales_marketing_minor, new_customers, reason="no_new_customers", missing="no_cost_entered"
    )


def cost_to_serve(*, service_cost_minor: int, active_customers: int) -> Amount:
    """Service + account-management cost on existing customers / active existing customers."""
    return per_unit(service_cost_minor, active_customers, reason="no_active_customers")


def acquisition_to_retention_ratio(cac_amount: Amount, cts_amount: Amount) -> Share:
    """CAC / CTS, computed (never a hard-coded 5×). CTS 0 or unknown → None."""
    if cac_amount.minor is None:
        return Share(None, 0, cts_amount.minor or 0, cac_amount.reason or "no_acquisition_cost")
    if cts_amount.minor is None:
        return Share(None, cac_amount.minor, 0, cts_amount.reason or "no_cost_to_serve")
    return share(cac_amount.minor, cts_amount.minor, reason="no_cost_to_serve")


# ------------------------------------------------------------------ prevention ROI (§1.5)


def prevention_roi(
    *,
    prevention_before: int,
    prevention_after: int,
    failure_before: int,
    failure_after: int,
    expected_loss_before: int = 0,
    expected_loss_after: int = 0,
) -> Share:
    """(ΔIF + ΔEF + Δexpected_churn_loss − ΔP) / ΔP over matched before/after periods.

    Δ of a failure cost is what it fell by (before − after); ΔP is what prevention rose by
    (after − before). ΔP = 0 → None.
    """
    dp = prevention_after - prevention_before
    saving = (failure_before - failure_after) + (expected_loss_before - expected_loss_after)
    return share(saving - dp, dp, reason="no_prevention_change")
