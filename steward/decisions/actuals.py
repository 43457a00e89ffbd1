"""Predicted against actual for a past window (metrics.md §5.2 item 7), and calibration from the ratios.

What "actual" means (Steward-defined):
- contacts: inbound, non-automatic messages on the team's cases in the window (the forecast's own
  definition, forecast.py); predicted: the forecast demand over the window (queued and workload channels).
- affected_customers: distinct customers who, in the window, wrote on a case whose owner was away (the
  scenario's and the recorded absences), had a next step due in the window that was broken or is still
  open past its due time, or had a case opened in the window answered later than the long-wait limit
  (or not at all yet); predicted: identified customers + expected extra long waits.
- long_waits: cases of the team opened in the window by the customer whose first reply took longer than
  STEWARD_DECISION_LONG_WAIT_HOURS business hours, or that have none yet (a proxy for the service level:
  Steward does not time phone queues); predicted: contacts expected to wait beyond the target.
- service_level: 1 − long waits / cases the customers opened in the window (actual) against
  1 − expected long waits / forecast contacts (predicted).
- "Owner away" uses the case's current owner (the event log's owner at the time is not read).
- dissatisfied / complaints: of the customers predicted affected, those who opened a complaint or
  answered a case survey with CSAT ≤ 3 from the window start until STEWARD_DECISION_REVIEW_DAYS after
  it; complaints counts complaint cases alone. Predicted: E[D] (base) for both.
- csat_affected / csat_baseline: share of CSAT ≤ 3 (5-point case surveys) of the affected customers'
  answers in that span, against every answer in it; predicted: the mean p of the affected customers and
  the historical share (the assessment's inputs).
- booked_costs: the cost ledger (booked staff time, compensation, review) of the affected customers'
  cases over the same days; predicted: E[C] (base).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from steward.accounts.models import Absence
from steward.analytics import economics_selectors as es
from steward.cases.models import Case, Commitment, CommitmentState, Kind

from . import forecast, impact
from .assessment import Assessment, ScenarioSpec, _case_costs

PARAMETER_LABELS = {
    "contacts": _("Contacts"),
    "affected_customers": _("Affected customers"),
    "long_waits": _("Long waits"),
    "service_level": _("Service level"),
    "dissatisfied": _("Dissatisfied customers"),
    "complaints": _("Complaints"),
    "csat_affected": _("Share dissatisfied among the affected customers"),
    "csat_baseline": _("Share dissatisfied among all customers"),
    "booked_costs": _("Booked costs"),
}

PARAMETERS = (
    "contacts",
    "affected_customers",
    "long_waits",
    "service_level",
    "dissatisfied",
    "complaints",
    "csat_affected",
    "csat_baseline",
    "booked_costs",
)


def _row(predicted: float | None, actual: float | None) -> dict[str, Any]:
    ratio = None
    if predicted is not None and actual is not None and predicted > 0:
        ratio = actual / predicted
    return {"predicted": predicted, "actual": actual, "ratio": ratio}


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def _sl(long_waits: float, contacts: float) -> float | None:
    """Share of contacts answered within the limit (1 − long waits / contacts); None without contacts."""
    return None if contacts <= 0 else max(0.0, 1 - long_waits / contacts)


def predicted_contacts(a: Assessment) -> float:
    queued = sum(c.arrivals for i in a.intervals for c in i.channels)
    return queued + sum(w.contacts for w in a.workload)


def predicted_long_waits(a: Assessment) -> float:
    return sum(c.long_waits_after for i in a.intervals for c in i.channels) + sum(
        w.long_waits_after for w in a.workload
    )


def measure_actual(
    spec: ScenarioSpec, predicted: Assessment, *, now: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """parameter -> {"predicted": x, "actual": y, "ratio": y/x or None} (a fixed number of queries)."""
    now = now or timezone.now()
    ws, we = spec.window_start, min(spec.window_end, now)
    horizon = min(now, spec.window_end + timedelta(days=int(settings.STEWARD_DECISION_REVIEW_DAYS)))
    team_cases = Case.objects.all() if spec.team_id is None else Case.objects.filter(team_id=spec.team_id)

    # contacts
    contacts = forecast._contacts(spec.team_id, ws, we)
    actual_contacts = contacts.count()

    # affected customers: wrote while the owner was away, next step missed, long wait
    away_ids = {a.user_id for a in spec.away}
    owner_away = Exists(
        Absence.objects.filter(
            user_id=OuterRef("case__owner_id"),
            starts_at__lte=OuterRef("created_at"),
            ends_at__gt=OuterRef("created_at"),
        )
    )
    scenario_away = Q()
    for a in spec.away:
        scenario_away |= Q(case__owner_id=a.user_id, created_at__gte=a.starts_at, created_at__lt=a.ends_at)
    wrote = contacts.annotate(owner_away=owner_away).filter(
        Q(owner_away=True) | (scenario_away if away_ids else Q(pk__in=[]))
    )
    customers: set[int] = set(wrote.values_list("case__customer_id", flat=True).distinct())
    missed = Commitment.objects.filter(case__in=team_cases, due_at__gte=ws, due_at__lt=we).filter(
        Q(state=CommitmentState.BROKEN) | Q(state=CommitmentState.OPEN, due_at__lt=now)
    )
    customers |= set(missed.values_list("case__customer_id", flat=True).distinct())
    limit = int(settings.STEWARD_DECISION_LONG_WAIT_HOURS) * 3600
    long_cases = team_cases.filter(created_at__gte=ws, created_at__lt=we, opened_by__isnull=True).filter(
        Q(first_response_business_seconds__gt=limit) | Q(first_response_at__isnull=True)
    )
    long_rows = list(long_cases.values_list("customer_id", flat=True))
    written = team_cases.filter(created_at__gte=ws, created_at__lt=we, opened_by__isnull=True).count()
    customers |= set(long_rows)

    # dissatisfied and complaints among the customers predicted affected (and found affected)
    targets = {c.customer_id for c in predicted.affected_customers} | customers
    complaint_rows = list(
        Case.objects.filter(
            customer_id__in=targets, kind=Kind.COMPLAINT, created_at__gte=ws, created_at__lt=horizon
        ).values_list("customer_id", flat=True)
    )
    answers = forecast.dissatisfaction(horizon, customer_ids=targets, since=ws, until=horizon)
    everyone = forecast.dissatisfaction(horizon, since=ws, until=horizon)
    from steward.surveys.models import SurveyKind, SurveyResponse

    low_customers = set(
        SurveyResponse.objects.filter(
            forecast.five_point(),
            kind=SurveyKind.CASE,
            customer_id__in=targets,
            csat__lte=forecast.DISSATISFIED_MAX,
            responded_at__gte=ws,
            responded_at__lt=horizon,
        ).values_list("customer_id", flat=True)
    )
    dissatisfied = len(set(complaint_rows) | low_customers)

    # booked costs of the affected customers' cases over the window and review days
    period = es.Period(timezone.localdate(ws), timezone.localdate(horizon) + timedelta(days=1))
    cost_rows = _case_costs(period, Case.objects.filter(customer_id__in=targets))
    booked, _by_sector = es._fold_costs(cost_rows, {})

    affected_n = len(predicted.affected_customers)
    mean_p = predicted.expected_dissatisfied.base / affected_n if affected_n else None
    base_k, base_n = predicted.inputs.get("csat_baseline", [0, 0])
    return {
        "contacts": _row(predicted_contacts(predicted), actual_contacts),
        "affected_customers": _row(predicted.affected_count, len(customers)),
        "long_waits": _row(predicted_long_waits(predicted), len(long_rows)),
        "service_level": _row(
            _sl(predicted_long_waits(predicted), predicted_contacts(predicted)), _sl(len(long_rows), written)
        ),
        "dissatisfied": _row(predicted.expected_dissatisfied.base, dissatisfied),
        "complaints": _row(predicted.expected_dissatisfied.base, len(set(complaint_rows))),
        "csat_affected": _row(mean_p, _share(*answers.baseline)),
        "csat_baseline": _row(_share(base_k, base_n), _share(*everyone.baseline)),
        "booked_costs": {
            **_row(predicted.expected_cost.base, booked.booked_minor),
            "complete": booked.complete,
        },
    }


def calibration_from(ratios: Iterable[Mapping[str, float | None]]) -> dict[str, float]:
    """One factor per parameter: the geometric mean of the actual / predicted ratios of past reviews.

    None, zero, negative and non-finite ratios are ignored (a ratio of 0 would say "nothing happens ever").
    Pure. A geometric mean, because ratios multiply: 2× then 0.5× averages to 1×, not 1.25×.
    """
    logs: dict[str, list[float]] = defaultdict(list)
    for review in ratios:
        for key, value in review.items():
            if value is None:
                continue
            try:
                f = float(value)
            except (TypeError, ValueError):
                continue
            if f > 0 and math.isfinite(f):
                logs[key].append(math.log(f))
    return {key: math.exp(sum(v) / len(v)) for key, v in sorted(logs.items()) if v}


def calibration_keys() -> tuple[str, ...]:
    """The parameters the assessment reads from ScenarioSpec.calibration."""
    return (impact.CAL_CONTACTS, impact.CAL_DISSATISFIED, impact.CAL_COSTS)
