from __future__ import annotations

from django import template

from steward.analytics.case_chain import CaseChain, case_value_chain
from steward.cases.models import Case
from steward.core import timeutil

register = template.Library()


@register.simple_tag
def case_chain(case: Case) -> CaseChain | None:
    """The case page's value-chain panel; a tag so the case view stays unaware of analytics."""
    return case_value_chain(case, now=timeutil.now())
