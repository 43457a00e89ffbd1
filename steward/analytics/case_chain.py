"""One case's path through the value chain: who held its lead time, and how often it changed hands.

The per-case view of metrics.md §4.2 (lead-time attribution, handoffs, ping-pong), shown on the case
page so the owner and a reviewer see where this customer's time went, not only the sector averages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from steward.cases.models import Case, CaseEvent
from steward.sectors.models import Distance, Sector

from . import metrics


@dataclass(frozen=True)
class Part:
    label: str
    seconds: float
    percent: float | None  # share of the lead time, 0–100; None when the lead time is zero
    is_sector: bool


@dataclass(frozen=True)
class CaseChain:
    lead_seconds: float
    resolved: bool
    parts: list[Part]  # front line, each sector, customer; their seconds sum to the lead time
    path: list[str]  # sector names in order, consecutive repeats collapsed
    handoffs: int
    back_and_forth: int  # A → B → A between sectors behind the front line (see case_value_chain)


def case_value_chain(case: Case, *, now: datetime) -> CaseChain | None:
    """Two queries: the case's events in log order, and the names of the sectors they touch."""
    rows = [
        metrics.EventRow(case.pk, pk, at, kind, sector, data or {})
        for pk, at, kind, sector, data in CaseEvent.objects.filter(case=case)
        .order_by("at", "id")
        .values_list("id", "at", "kind", "sector_id", "data")
    ]
    attribution = metrics.lead_time_attribution(rows, now=now)
    if attribution is None:
        return None
    sequence = metrics.sector_sequence(rows)
    ids = set(sequence) | {s for s in attribution.sectors if s is not None}
    sectors = {
        pk: (name, distance)
        for pk, name, distance in Sector.objects.filter(pk__in=ids).values_list("pk", "name", "distance")
    }
    names = {pk: name for pk, (name, _distance) in sectors.items()}
    # Front desk → billing → front desk is the normal round trip of an owned case (metrics.ping_pongs).
    behind_front_line = {pk for pk, (_name, distance) in sectors.items() if distance > Distance.FRONT_LINE}
    lead = float(attribution.lead)

    def part(label: str, value: float, *, is_sector: bool = False) -> Part:
        return Part(label, value, 100 * value / lead if lead else None, is_sector)

    parts = [part(_("Front line (case owner)"), float(attribution.front_line))]
    for sector_id, held in sorted(attribution.sectors.items(), key=lambda kv: -kv[1]):
        label = names.get(sector_id, _("Unknown sector")) if sector_id is not None else _("Unknown sector")
        parts.append(part(label, float(held), is_sector=True))
    parts.append(part(_("Waiting on the customer"), float(attribution.customer)))
    return CaseChain(
        lead_seconds=lead,
        resolved=attribution.resolved,
        parts=[p for p in parts if p.seconds > 0 or not p.is_sector],
        path=[names.get(s, "?") for s in sequence],
        handoffs=metrics.handoffs(sequence),
        back_and_forth=len(metrics.ping_pongs(sequence, round_trips_from=set(sequence) - behind_front_line)),
    )
