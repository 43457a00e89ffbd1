"""The case page's cost panel and compensation section, and money formatting.

A tag (like analytics' case_chain) so the case view stays unaware of costs; the panel shows money only
to managers and executives (can_see_money); the case's actors see the request form and the states.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django import template
from django.utils import translation

from steward.accounts.models import User
from steward.cases.models import Case, CaseEvent, EventKind

from .. import events, selectors
from ..forms import CompensationForm
from ..models import Compensation, CompensationState
from ..money import format_minor
from ..permissions import can_manage_costs, can_see_money
from ..services import approval_limit_minor

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str = "") -> str:
    """Minor units shown in major units with the code; a dash for None (cost unknown, never 0)."""
    return format_minor(amount_minor, currency or "")


@register.filter
def event_label(event: CaseEvent) -> str:
    """The timeline label of an event, including the costs app's compensation events."""
    label = _event_labels(translation.get_language()).get(event.kind)
    return label if label is not None else event.get_kind_display()


@functools.cache
def _event_labels(language: str | None) -> dict[str, str]:
    """Every event kind's label in one language, translated once per process: get_kind_display() builds
    and hashes a dict of all 30 lazy labels on every call (issue 9: 0.1 ms per timeline entry)."""
    with translation.override(language):
        return {
            **{value: str(label) for value, label in EventKind.choices},
            **{value: str(label) for value, label in events.LABELS.items()},
        }


@dataclass
class CaseCostsPanel:
    show_money: bool
    can_request: bool
    can_decide: bool
    user_id: int
    cost: selectors.CaseCost | None = None
    compensations: list[Compensation] = field(default_factory=list)
    request_form: Any = None
    limit_minor: int = 0
    currency: str = ""

    @property
    def pending(self) -> list[Compensation]:
        return [c for c in self.compensations if c.state == CompensationState.PENDING]


@register.simple_tag
def case_costs(
    case: Case, user: User, user_can_act: bool, timeline: Iterable[Any] | None = None
) -> CaseCostsPanel | None:
    """None for people who neither see money nor act on the case (the section is not shown).

    `timeline`: the case page's timeline entries (their events), when it has them: compensations are
    read only if the event log has a request (every compensation is written with its event), so most
    cases skip that query (issue 9)."""
    show_money = can_see_money(user)
    if not show_money and not user_can_act:
        return None
    # No timeline (or a template without one: ""): read them.
    requested = not timeline or any(entry.event.kind == events.COMPENSATION_REQUESTED for entry in timeline)
    panel = CaseCostsPanel(
        show_money=show_money,
        can_request=bool(user_can_act),
        can_decide=can_manage_costs(user),
        user_id=user.pk,
        compensations=selectors.case_compensations(case.pk) if requested else [],
        limit_minor=approval_limit_minor(),
    )
    if show_money:
        panel.cost = selectors.case_cost(case.pk, panel.compensations)
        panel.currency = panel.cost.currency
    if panel.can_request:
        panel.request_form = CompensationForm(auto_id="comp_%s")
    return panel
