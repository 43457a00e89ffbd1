"""How a service figure reads on screen and in CSV: value, interval, sample flag, in the user's language.

Below `metrics.MIN_SAMPLE` answers a proportion is shown as "k of n" with "too few answers", never as a
percentage; below `metrics.N_MIN` the value carries a "few answers" warning; no data is a dash with the
reason, never 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from . import metrics
from .processmap import format_wait
from .service_figures import FIGURES, Figure


def reason_text(reason: str) -> str:
    texts = {
        metrics.NO_DATA: _("No data"),
        metrics.NO_RESPONSES: _("No answers in this period"),
        metrics.NO_CASES: _("No cases in this period"),
        metrics.NO_CONTACTS: _("No contacts in this period"),
        metrics.NO_HANDOFFS: _("No handoffs in this period"),
        metrics.NO_COMMITMENTS: _("No next steps due in this period"),
        metrics.NO_CLOSED_CASES: _("No closed cases in this period"),
        metrics.NO_RESOLVED_CASES: _("No closed cases past their 7-day window"),
    }
    return texts.get(reason, texts[metrics.NO_DATA])


def _pct(x: float) -> str:
    return _("%(p)s %%") % {"p": f"{x * 100:.1f}"}


@dataclass(frozen=True)
class Shown:
    text: str  # the value as read ("66.7 %", "+25", "2 of 3", "3.2 h", "–")
    detail: str  # the interval or the p90 ("95 % CI 30.1–90.2 %"), or ""
    n: int
    flag: str  # "" | "no_data" | "too_few" | "low_sample"
    note: str  # the flag or reason in words
    number: float | None  # the value in its display unit (percent, points, hours) for charts and CSV

    @property
    def is_number(self) -> bool:
        return self.number is not None


def show(figure: Figure) -> Shown:
    v: Any = figure.value
    unit = FIGURES[figure.key].unit
    if unit == "seconds":  # calendar time; the business-hours summary of the same cases beside it
        s: metrics.Summary = v
        business: metrics.Summary = figure.extra.get("business") or metrics.summarize([])
        if not s.n:
            return Shown("–", "", 0, "no_data", _("No cases in this period"), None)
        detail = _("p90 %(p90)s · in business hours: median %(median)s, p90 %(bp90)s") % {
            "p90": format_wait(s.p90),
            "median": format_wait(business.median),
            "bp90": format_wait(business.p90),
        }
        flag, note = ("low_sample", _("few cases")) if s.low_sample else ("", "")
        return Shown(format_wait(s.median), detail, s.n, flag, note, round((s.median or 0) / 3600, 2))
    if isinstance(v, metrics.Ratio):  # owner continuity: 1 − changes per case, may go below 0
        n = int(v.denominator)
        if v.value is None:
            return Shown("–", "", 0, "no_data", reason_text(v.reason), None)
        few = n < metrics.MIN_SAMPLE
        detail = _("%(changes)s owner changes in %(cases)s cases") % {
            "changes": int(v.numerator),
            "cases": n,
        }
        if few:
            return Shown(detail, "", n, "too_few", _("too few cases for a rate"), None)
        flag, note = ("low_sample", _("few cases")) if n < metrics.N_MIN else ("", "")
        return Shown(_pct(v.value), detail, n, flag, note, round(v.value * 100, 1))
    n = int(v.n)
    if v.value is None:
        return Shown("–", "", 0, "no_data", reason_text(v.reason), None)
    survey = FIGURES[figure.key].family == "survey"
    if isinstance(v, metrics.Nps):
        counts = _("%(p)s promoters, %(d)s detractors of %(n)s") % {
            "p": v.promoters,
            "d": v.detractors,
            "n": n,
        }
        if v.counts_only:
            return Shown(counts, "", n, "too_few", _("too few answers for a score"), None)
        detail = (
            _("95 %% CI %(lo)s to %(hi)s") % {"lo": f"{v.ci[0]:+.0f}", "hi": f"{v.ci[1]:+.0f}"}
            if v.ci
            else ""
        )
        flag, note = ("low_sample", _("few answers")) if v.low_sample else ("", "")
        return Shown(f"{v.value:+.0f}", detail, n, flag, note, round(v.value, 1))
    # A metrics.Proportion.
    if v.counts_only:
        text = _("%(k)s of %(n)s") % {"k": v.k, "n": n}
        note = _("too few answers for a percentage") if survey else _("too few cases for a percentage")
        return Shown(text, "", n, "too_few", note, None)
    detail = ""
    if v.ci:
        detail = _("95 %% CI %(lo)s–%(hi)s %%") % {"lo": f"{v.ci[0] * 100:.1f}", "hi": f"{v.ci[1] * 100:.1f}"}
    flag, note = ("low_sample", _("few answers") if survey else _("few cases")) if v.low_sample else ("", "")
    return Shown(_pct(v.value), detail, n, flag, note, round(v.value * 100, 1))


def show_change(figure: Figure, change: Any) -> tuple[str, str]:
    """The change against the previous period in words, and a CSS class: "better", "worse" or ""."""
    unit = FIGURES[figure.key].unit
    lower_is_better = FIGURES[figure.key].lower_is_better
    if isinstance(change, metrics.Change):
        if change.delta is None:
            return _("no comparison"), ""
        amount = (
            _("%(d)s points") % {"d": f"{change.delta:+.0f}"}
            if unit == "points"
            else _("%(d)s pp") % {"d": f"{change.delta:+.1f}"}
        )
        if not change.significant:
            return _("%(amount)s, no significant change") % {"amount": amount}, ""
        better = (change.delta < 0) == lower_is_better
        return _("%(amount)s, a change") % {"amount": amount}, "better" if better else "worse"
    # A metrics.CountChange: owner continuity (a fraction) or a duration median (seconds); no test.
    if change.delta is None:
        return _("no comparison"), ""
    if unit == "seconds":
        sign = "+" if change.delta >= 0 else "−"
        text = _("median %(d)s") % {"d": sign + format_wait(abs(change.delta))}
    else:
        text = _("%(d)s pp") % {"d": f"{change.delta * 100:+.1f}"}
    return text, ""
