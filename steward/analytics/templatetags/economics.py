"""Money and shares on the economics pages: never 0 for "unknown", always the currency beside an amount."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from steward.analytics.economics import reason_text
from steward.analytics.economics_selectors import CaseEstimate, case_expected_loss
from steward.cases.models import Case, EventKind
from steward.core import timeutil
from steward.costs.money import exponent

register = template.Library()


@register.filter
def money(amount_minor: int | None, currency: str) -> str:
    """Minor units shown in major units with the currency code; a dash when unknown."""
    if amount_minor is None:
        return "–"
    exp = exponent(currency)
    value = Decimal(amount_minor) / (Decimal(10) ** exp)
    return f"{number_format(value, decimal_pos=exp, use_l10n=True, force_grouping=True)} {currency}"


@register.filter
def share(s: Any, digits: int = 1) -> str:
    """A share (0..1) as a percentage (one decimal unless told), or a dash with no data (never 0 %)."""
    value = getattr(s, "value", s)
    if value is None:
        return "–"
    return _("%(p)s %%") % {"p": f"{float(value) * 100:.{int(digits)}f}"}


@register.filter
def times(s: Any) -> str:
    """A ratio of two amounts as "× n.n", or a dash."""
    value = getattr(s, "value", s)
    if value is None:
        return "–"
    return f"{float(value):.1f}×"


@register.filter
def why(code: str) -> str:
    """The text of a reason code (why a figure is missing)."""
    return reason_text(code) if code else ""


@register.simple_tag
def case_churn_estimate(case: Case, timeline: Iterable[Any] | None = None) -> CaseEstimate:
    """The case cost panel's expected churn loss (an estimate): a tag, so the costs app stays unaware of
    analytics (dependencies point costs → analytics, never back).

    `timeline`: the case page's entries, when it has them: the survey answers are read only if the
    event log has one (issue 9)."""
    answered = None if not timeline else any(e.event.kind == EventKind.SURVEY_ANSWERED for e in timeline)
    return case_expected_loss(case, today=timezone.localdate(timeutil.now()), answered=answered)


@register.filter
def prop(p: Any) -> str:
    """A survey or case proportion: "k of n" below 5 answers, else the percentage with n (§0, §6)."""
    if p is None or getattr(p, "value", None) is None:
        return "–"
    if getattr(p, "counts_only", False):
        return _("%(k)s of %(n)s") % {"k": p.k, "n": p.n}
    text = _("%(p)s %%") % {"p": f"{p.value * 100:.1f}"}
    text = f"{text} (n={p.n})"
    return f"{text} ⚠" if getattr(p, "low_sample", False) else text


@register.filter
def signed_share(value: float | None) -> str:
    """A relative change as "+12.5 %" / "−3.0 %", or a dash when there is no base (§6.4)."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return sign + _("%(p)s %%") % {"p": f"{abs(value) * 100:.1f}"}
