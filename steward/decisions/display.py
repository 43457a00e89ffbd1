"""What the assessment page shows, read from the stored snapshots (`Assessment.from_json`).

Reads only: the figures were computed by the engine when the decision was assessed. Cases, customers,
commitments and people named on the page are fetched in one query each, whatever the number of rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from steward.accounts.models import User
from steward.cases.models import Case, Commitment
from steward.core.charts import Chart, chart
from steward.customers.models import Customer

from .actuals import PARAMETER_LABELS
from .assessment import Assessment
from .impact import EXPOSURE_LABELS
from .models import AssessmentSnapshot, Decision, DecisionState, PlanAction, Scenario
from .services import plan_targets

MAX_INTERVAL_ROWS = 400


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


@dataclass
class ScenarioView:
    scenario: Scenario
    snapshot: AssessmentSnapshot | None
    assessment: Assessment | None

    @property
    def assessed(self) -> bool:
        return self.assessment is not None

    @property
    def worst_service_level(self) -> float | None:
        return _pct(self.assessment.worst_service_level) if self.assessment else None

    @property
    def worst_service_level_before(self) -> float | None:
        return _pct(self.assessment.worst_service_level_before) if self.assessment else None

    @property
    def commitments_at_risk(self) -> int:
        return sum(1 for c in self.assessment.commitments_due if c.at_risk) if self.assessment else 0

    @property
    def flags(self) -> list[str]:
        return [reason for _code, reason in self.assessment.flag_reasons] if self.assessment else []


def _views(decision: Decision) -> list[ScenarioView]:
    latest: dict[int, AssessmentSnapshot] = {}
    for snap in AssessmentSnapshot.objects.filter(scenario__decision=decision).order_by(
        "scenario_id", "-computed_at", "-id"
    ):
        latest.setdefault(snap.scenario_id, snap)
    scenarios = decision.scenarios.prefetch_related(Prefetch("away_periods")).order_by("id")
    views = []
    for scenario in scenarios:
        found = latest.get(scenario.pk)
        views.append(ScenarioView(scenario, found, Assessment.from_json(found.result) if found else None))
    return views


def _interval_rows(a: Assessment) -> list[dict[str, Any]]:
    rows = []
    for i in a.intervals:
        for c in i.channels:
            rows.append(
                {
                    "start": timezone.localtime(i.starts_at),
                    "channel": c.channel,
                    "contacts": c.arrivals,
                    "staff_before": c.staff_before,
                    "staff_after": c.staff_after,
                    "sl_before": _pct(c.sl_before),
                    "sl_after": _pct(c.sl_after),
                    "asa_after": c.asa_after,
                    "overloaded": c.overloaded_after,
                }
            )
    return rows


def _capacity_chart(a: Assessment) -> Chart | None:
    """Expected contacts (queued channels) against the advisers present, per interval."""
    if not a.intervals or len(a.intervals) > 250:
        return None
    labels = [timezone.localtime(i.starts_at).strftime("%a %d %H:%M") for i in a.intervals]
    return chart(
        "bar",
        labels,
        {
            _("Expected contacts"): [round(sum(c.arrivals for c in i.channels), 1) for i in a.intervals],
            _("Advisers without the decision"): [float(i.staff_before) for i in a.intervals],
            _("Advisers with the decision"): [float(i.staff_after) for i in a.intervals],
        },
        title=_("Expected contacts against remaining capacity"),
        label_heading=_("Interval"),
        chart_id="decision-capacity",
    )


def _best(assessed: list[ScenarioView]) -> ScenarioView | None:
    """The scenario with the lowest expected cost, then the fewest expected dissatisfied; None on a tie."""

    def key(v: ScenarioView) -> tuple[float, float]:
        a = v.assessment
        return (a.expected_cost.base, a.expected_dissatisfied.base) if a else (math.inf, math.inf)

    ranked = sorted(assessed, key=key)
    if len(ranked) < 2 or key(ranked[0]) == key(ranked[1]):
        return None
    return ranked[0]


def decision_page(decision: Decision, focus_id: int | None = None) -> dict[str, Any]:
    """The page's figures; the details (gaps, customers, intervals, plan) are those of `focus_id` when it
    names an assessed scenario, else of the approved one, else of the first assessed."""
    views = _views(decision)
    assessed = [v for v in views if v.assessment is not None]
    focus = next((v for v in assessed if v.scenario.pk == focus_id), None)
    focus = focus or next((v for v in assessed if v.scenario.pk == decision.approved_scenario_id), None)
    focus = focus or (assessed[0] if assessed else None)
    best = _best(assessed)
    context: dict[str, Any] = {
        "scenario_views": views,
        "focus": focus,
        "best_scenario_id": best.scenario.pk if best else None,
        "currency": settings.STEWARD_CURRENCY,
        "stale": decision.state == DecisionState.DRAFT and bool(assessed),
    }
    a = focus.assessment if focus else None
    if a is not None:
        case_ids = {g.case_id for g in a.ownership_gaps} | {c.case_id for c in a.commitments_due}
        case_ids |= {i for c in a.affected_customers for i in c.case_ids}
        case_ids |= {r.case_id for r in a.cases_to_reassign} | {r.case_id for r in a.customers_to_notify}
        customer_ids = {c.customer_id for c in a.affected_customers} | {
            r.customer_id for r in a.customers_to_notify
        }
        user_ids = {g.owner_id for g in a.ownership_gaps} | {
            g.covered_by for g in a.ownership_gaps if g.covered_by
        }
        targets = plan_targets(decision, a)
        user_ids |= {r.from_user_id for r in a.cases_to_reassign} | {t for t in targets.values() if t}
        cases = Case.objects.only("pk", "subject", "customer_id", "status").in_bulk(case_ids)
        customers = Customer.objects.only("pk", "name").in_bulk(customer_ids)
        commitments = Commitment.objects.only("pk", "description", "due_at", "case_id").in_bulk(
            {c.commitment_id for c in a.commitments_due}
        )
        people = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)}
        done = {p.item: p for p in PlanAction.objects.filter(decision=decision)}
        rows = _interval_rows(a)
        context.update(
            {
                "gaps": [
                    {
                        "gap": g,
                        "case": cases.get(g.case_id),
                        "customer": customers.get(g.customer_id),
                        "owner": people.get(g.owner_id, ""),
                        "covered_by": people.get(g.covered_by, "") if g.covered_by else "",
                    }
                    for g in a.ownership_gaps
                ],
                "gaps_open": len(a.gaps_open),
                "due": [
                    {"row": c, "commitment": commitments.get(c.commitment_id), "case": cases.get(c.case_id)}
                    for c in a.commitments_due
                ],
                "customers": [
                    {
                        "customer": customers.get(c.customer_id),
                        "customer_id": c.customer_id,
                        "exposures": [str(EXPOSURE_LABELS.get(e, e)) for e in c.exposures],
                        "cases": [cases[i] for i in c.case_ids if i in cases],
                        "p": c.p,
                    }
                    for c in a.affected_customers
                ],
                "intervals": rows[:MAX_INTERVAL_ROWS],
                "interval_count": len(rows),
                "workload": a.workload,
                "capacity_chart": _capacity_chart(a),
                "reassign": [
                    {
                        "case": cases.get(r.case_id),
                        "case_id": r.case_id,
                        "from_name": people.get(r.from_user_id, ""),
                        "to_name": people.get(targets.get(r.case_id) or 0, ""),
                        "done": done.get(f"reassign:{r.case_id}"),
                    }
                    for r in a.cases_to_reassign
                ],
                "notify": [
                    {
                        "customer": customers.get(r.customer_id),
                        "case": cases.get(r.case_id),
                        "case_id": r.case_id,
                        "done": done.get(f"notify:{r.case_id}:{r.commitment_id or 0}"),
                    }
                    for r in a.customers_to_notify
                ],
            }
        )
    review = getattr(decision, "review", None) if decision.state == DecisionState.REVIEWED else None
    if review is not None:
        context["review"] = review
        context["review_rows"] = [
            {
                "name": str(PARAMETER_LABELS.get(name, name)),
                "predicted": row.get("predicted"),
                "actual": row.get("actual"),
                "ratio": row.get("ratio"),
                "money": name == "booked_costs",
            }
            for name, row in (review.results or {}).items()
            if isinstance(row, dict)
        ]
    return context
