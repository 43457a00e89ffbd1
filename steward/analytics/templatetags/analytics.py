from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from steward.analytics.metrics import Ratio
from steward.analytics.processmap import format_wait

register = template.Library()


@register.filter
def wait(seconds: float | None) -> str:
    """Seconds shown in minutes, hours or days; a dash for no data."""
    return format_wait(seconds)


@register.filter
def pct(r: Ratio | None) -> str:
    """A ratio as a percentage to one decimal, or a dash with no data (never 0 %)."""
    if r is None or r.value is None:
        return "–"
    return _("%(p)s %%") % {"p": f"{r.value * 100:.1f}"}
