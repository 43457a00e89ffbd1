"""What the assessment page shows, read from the stored snapshots (`Assessment.to_json()`).

Reads only: the figures were computed by the engine when the decision was assessed. Names of cases and
customers are fetched in one query each, whatever the number of scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from steward.cases.models import Case, Commitment
from steward.core.charts import Chart, chart
from steward.customers.models import Customer

from .models import AssessmentSnapshot, Decision, PlanAction, Scenario

EXPOSURES = {
    "owner_absent": gettext_lazy("Owner away"),
    "missed_commitment": gettext_lazy("Next step at risk"),
    "long_wait": gettext_lazy("Long wait"),
}

REVIEW_PARAMETERS = {
    "contacts": gettext_lazy("Contacts"),
    "affected_customers": gettext_lazy("Affected customers"),
    "long_waits": gettext_lazy("Long waits"),
    "service_level": gettext_lazy("Service level"),
    "complaints": gettext_lazy("Complaints"),
    "csat_affected": gettext_lazy("Satisfaction of the affected customers"),
    "csat_baseline": gettext_lazy("Satisfaction baseline"),
    "booked_costs": gettext_lazy("Booked costs"),
    "dissatisfied": gettext_lazy("Dissatisfied customers"),
}


def _get(data: Any, *names: str, default: Any = None) -> Any:
    """The first of `names` present in a mapping (the engine's JSON), else `default`."""
    if not isinstance(data, Mapping):
        return default
    for name in names:
        if name in data and data[name] is not None:
            return data[name]
    return default


def _range(data: Any) -> dict[str, float | None]:
    """{low, base, high} from a dict, a [low, base, high] list or a number."""
    if isinstance(data, Mapping):
        return {k: data.get(k) for k in ("low", "base", "high")}
    if isinstance(data, list | tuple) and len(data) == 3:
        return dict(zip(("low", "base", "high"), data, strict=True))
    if isinstance(data, int | float):
        return {"low": data, "base": data, "high": data}
    return {"low": None, "base": None, "high": None}


def _ids(rows: Any, *names: str) -> list[int]:
    out = []
    for row in rows or ():
        if isinstance(row, Mapping):
            value = _get(row, *names)
        elif isinstance(row, list | tuple) and row:
            value = row[0]
        else:
            value = row
        if isinstance(value, int):
            out.append(value)
    return out


@dataclass
class ScenarioView:
    scenario: Scenario
    snapshot: AssessmentSnapshot | None
    current: bool
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def assessed(self) -> bool:
        return self.snapshot is not None

    @property
    def dissatisfied(self) -> dict[str, float | None]:
        return _range(_get(self.data, "expected_dissatisfied"))

    @property
    def cost(self) -> dict[str, float | None]:
        return _range(_get(self.data, "expected_cost"))

    @property
    def net(self) -> dict[str, float | None]:
        return _range(_get(self.data, "net_effect"))

    @property
    def contacts(self) -> dict[str, float | None]:
        return _range(_get(self.data, "expected_contacts"))

    @property
    def worst_service_level(self) -> float | None:
        value = _get(self.data, "worst_service_level")
        return None if value is None else round(float(value) * 100, 1)

    @property
    def gaps(self) -> list[Any]:
        return list(_get(self.data, "ownership_gaps", default=[]))

    @property
    def commitments_due(self) -> list[Any]:
        return list(_get(self.data, "commitments_due", default=[]))

    @property
    def customers(self) -> list[Any]:
        return list(_get(self.data, "affected_customers", default=[]))

    @property
    def overloaded(self) -> int:
        return sum(1 for row in self.intervals if row.get("overloaded"))

    @property
    def intervals(self) -> list[Mapping[str, Any]]:
        return [r for r in _get(self.data, "intervals", default=[]) if isinstance(r, Mapping)]

    @property
    def plan(self) -> dict[str, list[Any]]:
        plan = _get(self.data, "action_plan", default={})
        return {
            "cases_to_reassign": list(_get(plan, "cases_to_reassign", default=[])),
            "customers_to_notify": list(_get(plan, "customers_to_notify", default=[])),
        }


def _snapshots(decision: Decision) -> list[ScenarioView]:
    latest: dict[int, AssessmentSnapshot] = {}
    for snap in AssessmentSnapshot.objects.filter(scenario__decision=decision).order_by(
        "scenario_id", "-computed_at", "-id"
    ):
        latest.setdefault(snap.scenario_id, snap)
    views = []
    scenarios = decision.scenarios.prefetch_related(
        Prefetch("away_periods"), Prefetch("backup_overrides")
    ).order_by("id")
    for scenario in scenarios:
        found = latest.get(scenario.pk)
        current = found is not None and decision.state != "draft"
        views.append(ScenarioView(scenario, found, current, dict(found.result) if found else {}))
    return views


def _when(value: Any) -> Any:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        return timezone.localtime(parsed) if parsed and timezone.is_aware(parsed) else parsed or value
    return value


def _interval_rows(view: ScenarioView) -> list[dict[str, Any]]:
    rows = []
    for r in view.intervals:
        rows.append(
            {
                "start": _when(_get(r, "start", "starts_at", "interval_start")),
                "channel": _get(r, "channel", default=""),
                "contacts": _get(r, "contacts", "lambda", "expected_contacts", "arrivals"),
                "staff_before": _get(r, "staff_before", "agents_before", "capacity_before"),
                "staff_after": _get(r, "staff_after", "agents_after", "capacity_after"),
                "sl_before": _pct(_get(r, "sl_before", "service_level_before")),
                "sl_after": _pct(_get(r, "sl_after", "service_level_after")),
                "asa_after": _get(r, "asa_after", "asa_after_seconds"),
                "overloaded": bool(_get(r, "overloaded", default=False)),
                "backlog": _get(r, "backlog", "backlog_growth", default=None),
            }
        )
    return rows


def _pct(value: Any) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


def _contacts_chart(rows: list[dict[str, Any]]) -> Chart | None:
    """Expected contacts against the staff left, per interval (all channels summed)."""
    if not rows:
        return None
    labels: list[str] = []
    contacts: dict[str, float] = {}
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    for r in rows:
        start = r["start"]
        label = start.strftime("%a %H:%M") if hasattr(start, "strftime") else str(start)
        if label not in contacts:
            labels.append(label)
            contacts[label] = before[label] = after[label] = 0.0
        contacts[label] += float(r["contacts"] or 0)
        before[label] += float(r["staff_before"] or 0)
        after[label] += float(r["staff_after"] or 0)
    if len(labels) > 200:
        return None
    return chart(
        "bar",
        labels,
        {
            _("Expected contacts"): [round(contacts[k], 1) for k in labels],
            _("Staff without the decision"): [round(before[k], 1) for k in labels],
            _("Staff with the decision"): [round(after[k], 1) for k in labels],
        },
        title=_("Expected contacts against remaining capacity"),
        label_heading=_("Interval"),
        chart_id="decision-capacity",
    )


def decision_page(decision: Decision) -> dict[str, Any]:
    views = _snapshots(decision)
    focus = next(
        (v for v in views if v.scenario.pk == decision.approved_scenario_id),
        next((v for v in views if v.assessed), views[0] if views else None),
    )
    assessed = [v for v in views if v.assessed]
    best = min(
        assessed,
        key=lambda v: v.cost["base"] if v.cost["base"] is not None else float("inf"),
        default=None,
    )
    case_ids: set[int] = set()
    customer_ids: set[int] = set()
    commitment_ids: set[int] = set()
    if focus is not None:
        case_ids |= set(_ids(focus.gaps, "case_id", "case"))
        for c in focus.customers:
            customer_ids |= set(_ids([c], "customer_id", "customer"))
            case_ids |= {i for i in (_get(c, "case_ids", default=[]) or []) if isinstance(i, int)}
        for row in focus.commitments_due:
            commitment_ids |= set(_ids([row], "commitment_id", "commitment", "id"))
            case_ids |= set(_ids([_get(row, "case_id", "case")], "case_id"))
        plan = focus.plan
        case_ids |= {r[0] for r in plan["cases_to_reassign"] if isinstance(r, list | tuple)}
        for r in plan["customers_to_notify"]:
            if isinstance(r, list | tuple) and len(r) >= 2:
                customer_ids.add(r[0])
                case_ids.add(r[1])
    cases = Case.objects.in_bulk(case_ids) if case_ids else {}
    customers = Customer.objects.in_bulk(customer_ids) if customer_ids else {}
    commitments = Commitment.objects.select_related("case").in_bulk(commitment_ids) if commitment_ids else {}
    rows = _interval_rows(focus) if focus and focus.assessed else []
    done = {a.item: a for a in PlanAction.objects.filter(decision=decision)}
    context: dict[str, Any] = {
        "scenario_views": views,
        "focus": focus,
        "best_scenario_id": best.scenario.pk if best else None,
        "currency": settings.STEWARD_CURRENCY,
        "intervals": rows[:400],
        "interval_count": len(rows),
        "capacity_chart": _contacts_chart(rows),
        "exposure_labels": EXPOSURES,
        "plan_done": done,
    }
    if focus is not None and focus.assessed:
        context["gaps"] = [
            {
                "case": cases.get(_ids([g], "case_id", "case")[0]) if _ids([g], "case_id", "case") else None,
                "reason": _get(
                    g, "reason", default=g[1] if isinstance(g, list | tuple) and len(g) > 1 else ""
                ),
            }
            for g in focus.gaps
        ]
        context["due"] = [
            {
                "commitment": commitments.get(_ids([row], "commitment_id", "commitment", "id")[0])
                if _ids([row], "commitment_id", "commitment", "id")
                else None,
                "row": row,
            }
            for row in focus.commitments_due
        ]
        context["customers"] = [
            {
                "customer": customers.get(_ids([c], "customer_id", "customer")[0])
                if _ids([c], "customer_id", "customer")
                else None,
                "exposures": [str(EXPOSURES.get(e, e)) for e in _get(c, "exposures", default=[])],
                "cases": [cases[i] for i in _get(c, "case_ids", default=[]) if i in cases],
            }
            for c in focus.customers
        ]
        plan = focus.plan
        context["reassign"] = [
            {"case": cases.get(r[0]), "from_id": r[1], "to_id": r[2], "done": done.get(f"reassign:{r[0]}")}
            for r in plan["cases_to_reassign"]
        ]
        context["notify"] = [
            {
                "customer": customers.get(r[0]),
                "case": cases.get(r[1]),
                "done": done.get(f"notify:{r[1]}:{r[2] or 0}"),
            }
            for r in plan["customers_to_notify"]
        ]
        from steward.accounts.models import User

        user_ids = {r["from_id"] for r in context["reassign"]} | {
            r["to_id"] for r in context["reassign"] if r["to_id"]
        }
        names = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)}
        for r in context["reassign"]:
            r["from_name"] = names.get(r["from_id"], "")
            r["to_name"] = names.get(r["to_id"], "") if r["to_id"] else ""
    review = getattr(decision, "review", None) if decision.state == "reviewed" else None
    if review is not None:
        context["review"] = review
        context["review_rows"] = [
            {
                "name": str(REVIEW_PARAMETERS.get(name, name)),
                "predicted": row.get("predicted"),
                "actual": row.get("actual"),
                "ratio": row.get("ratio"),
            }
            for name, row in (review.results or {}).items()
            if isinstance(row, Mapping)
        ]
    return context
