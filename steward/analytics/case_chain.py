"""One case's path through the value chain: who held its lead time, and how often it changed hands.

The per-case view of metrics.md §4.2 (lead-time attribution, handoffs, ping-pong), shown on the case
page so the owner and a reviewer see where this customer's time went, not only the sector averages.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    """One query: the case's events in log order, with their sectors."""
    return value_chain_of(case.events.select_related("sector").order_by("at", "id"), now=now)


def value_chain_of(events: Iterable[CaseEvent], *, now: datetime) -> CaseChain | None:
    """From events already read with their sectors (the case page's timeline), so no query of its own.

    Every sector the attribution or the path names is the sector of one of these events.
    """
    events = list(events)
    rows = [metrics.EventRow(e.case_id, e.pk, e.at, e.kind, e.sector_id, e.data or {}) for e in events]
    attribution = metrics.lead_time_attribution(rows, now=now)
    if attribution is None:
        return None
    sequence = metrics.sector_sequence(rows)
    sectors: dict[int, Sector] = {e.sector_id: e.sector for e in events if e.sector_id and e.sector}
    names = {pk: sector.name for pk, sector in sectors.items()}
    # Front desk → billing → front desk is the normal round trip of an owned case (metrics.ping_pongs).
    front_line = {pk for pk, sector in sectors.items() if sector.distance <= Distance.FRONT_LINE}
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
        back_and_forth=len(metrics.ping_pongs(sequence, round_trips_from=front_line)),
    )
