from __future__ import annotations

from collections.abc import Sequence

from django import template

from steward.analytics.case_chain import CaseChain, value_chain_of
from steward.cases.selectors import TimelineEntry
from steward.core import timeutil

register = template.Library()


@register.simple_tag
def case_chain(timeline: Sequence[TimelineEntry]) -> CaseChain | None:
    """The case page's value-chain panel, from the timeline the page already read (no query of its own);
    a tag so the case view stays unaware of analytics."""
    return value_chain_of((entry.event for entry in timeline), now=timeutil.now())
