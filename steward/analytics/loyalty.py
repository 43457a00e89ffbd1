"""The monthly and annual loyalty review (issue 5; metrics.md §6.3, §6.4): a period beside the previous
period and the same period a year earlier, every change with its 95 % interval.

The figures are the manager dashboard's (`service_figures.figures`: SQL counts, one query per family and
per duration); this module only picks the periods and compares (`metrics.compare`). Rules:

- A month is compared with the previous month (MoM) and with the same month last year (YoY); a year with
  the year before (for a year the two are the same, so only YoY is shown).
- A period still running is cut at today, and both comparison periods are cut to the same calendar span
  (1–23 November against 1–23 October and 1–23 November last year), so a young period is never compared
  with a whole one (§6.4 "year-to-date with the same calendar span last year").
- Changes of proportions are in percentage points with Newcombe's interval, NPS in points with the
  independent-sample SE; the screen says "change" only when the interval excludes 0, otherwise "no
  significant change". Times and owner continuity are compared without a significance test.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.utils.translation import gettext as _

from . import metrics
from . import service_figures as sf
from .processmap import format_wait
from .service_display import reason_text

ReviewKind = Literal["month", "year"]

# The figures of the review, by the question they answer (keys of service_figures.FIGURES).
SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("loyalty", ("nps", "csat", "ces", "solved", "knew_owner_and_next_step", "explained_more_than_once")),
    ("outcomes", ("fcr", "confirmed", "reopen", "repeat_contact", "promise_kept", "solved_first_contact")),
    (
        "work",
        (
            "first_response",
            "requester_wait",
            "resolution",
            "repeat_explanation",
            "handoff_summary",
            "owner_continuity",
        ),
    ),
]
REVIEW_KEYS = tuple(k for _name, keys in SECTIONS for k in keys)


def section_title(name: str) -> str:
    return {
        "loyalty": _("Loyalty and satisfaction"),
        "outcomes": _("Outcomes"),
        "work": _("How we work"),
    }[name]


# ------------------------------------------------------------------ periods


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _same_span(first: date, span_days: int, last_allowed: date) -> sf.Period:
    return sf.Period.of_days(first, min(first + timedelta(days=span_days), last_allowed))


@dataclass(frozen=True)
class ReviewPeriods:
    kind: ReviewKind
    current: sf.Period
    previous: sf.Period | None  # the previous month; None for a year (its previous period IS last year)
    last_year: sf.Period
    partial: bool  # the current period is still running: every period is cut to the same span


def review_periods(kind: ReviewKind, first: date, *, today: date) -> ReviewPeriods:
    """The periods of a review of the month or year starting on `first`, seen on `today`.

    Raises ValueError for a period that has not started yet.
    """
    if kind == "month":
        first = first.replace(day=1)
        end = _month_end(first)
    else:
        first = date(first.year, 1, 1)
        end = date(first.year, 12, 31)
    if first > today:
        raise ValueError("the period has not started yet")
    last = min(end, today)
    partial = last < end

    def like(other_first: date, other_end: date) -> sf.Period:
        # A whole period against whole periods; a running one against the same number of days.
        if not partial:
            return sf.Period.of_days(other_first, other_end)
        return _same_span(other_first, (last - first).days, other_end)

    ly_first = first.replace(year=first.year - 1)  # the 1st of a month or of January
    ly_end = date(ly_first.year, 12, 31) if kind == "year" else _month_end(ly_first)
    previous = None
    if kind == "month":
        prev_first = sf.add_months(first, -1)
        previous = like(prev_first, _month_end(prev_first))
    return ReviewPeriods(
        kind=kind,
        current=sf.Period.of_days(first, last),
        previous=previous,
        last_year=like(ly_first, ly_end),
        partial=partial,
    )


# ------------------------------------------------------------------ rows


@dataclass(frozen=True)
class ShownChange:
    text: str  # "+4.2 pp", "+12", "-35 min (-20 %)", "–"
    detail: str  # the interval, or why there is none
    verdict: str  # increase | decrease | no_significant_change | not_tested | a reason code
    verdict_text: str
    tone: str  # good | bad | "" (neutral, not significant or not tested)


def _signed_pp(x: float) -> str:
    return _("%(x)s pp") % {"x": f"{x:+.1f}"}


def show_change(
    change: metrics.Change | metrics.CountChange, *, unit: str, lower_is_better: bool
) -> ShownChange:
    """How a change reads on the review: value, interval, verdict in words, and whether it is good news."""
    if isinstance(change, metrics.CountChange):
        if change.delta is None:
            return ShownChange("–", "", metrics.NO_DATA, _("Nothing to compare"), "")
        if unit == "seconds":
            sign = "-" if change.delta < 0 else "+"
            text = f"{sign}{format_wait(abs(change.delta))}"
            if change.relative is not None:
                text += f" ({change.relative * 100:+.0f} %)"
            detail = _("median against median")
        else:  # owner continuity: a share that may go below 0
            text, detail = _signed_pp(change.delta * 100), ""
        return ShownChange(text, detail, "not_tested", _("not tested for significance"), "")
    if change.delta is None or change.ci is None:
        return ShownChange("–", "", change.reason, reason_text(change.reason), "")
    lo, hi = change.ci
    if unit == "points":
        text = f"{change.delta:+.0f}"
        detail = _("95 %% CI %(lo)s to %(hi)s") % {"lo": f"{lo:+.0f}", "hi": f"{hi:+.0f}"}
    else:
        text = _signed_pp(change.delta)
        detail = _("95 %% CI %(lo)s to %(hi)s pp") % {"lo": f"{lo:+.1f}", "hi": f"{hi:+.1f}"}
    verdict = change.verdict
    if verdict == metrics.NO_SIGNIFICANT_CHANGE:
        return ShownChange(text, detail, verdict, _("no significant change"), "")
    better = (verdict == metrics.INCREASE) != lower_is_better
    words = _("significant increase") if verdict == metrics.INCREASE else _("significant decrease")
    return ShownChange(text, detail, verdict, words, "good" if better else "bad")


@dataclass(frozen=True)
class ReviewRow:
    key: str
    current: sf.Figure
    previous: sf.Figure | None
    last_year: sf.Figure
    vs_previous: ShownChange | None
    vs_last_year: ShownChange
    # Times: the change of the business-hours median beside the calendar one (None for other figures).
    vs_previous_business: ShownChange | None = None
    vs_last_year_business: ShownChange | None = None

    @property
    def definition(self) -> sf.FigureDef:
        return sf.FIGURES[self.key]


def _row(key: str, cur: sf.Figure, prev: sf.Figure | None, ly: sf.Figure) -> ReviewRow:
    d = sf.FIGURES[key]

    def shown(a: Any, b: Any) -> ShownChange:
        return show_change(metrics.compare(a, b), unit=d.unit, lower_is_better=d.lower_is_better)

    def business(other: sf.Figure | None) -> ShownChange | None:
        a, b = cur.extra.get("business"), other.extra.get("business") if other is not None else None
        return shown(a, b) if a is not None and b is not None else None

    return ReviewRow(
        key,
        cur,
        prev,
        ly,
        shown(cur.value, prev.value) if prev is not None else None,
        shown(cur.value, ly.value),
        business(prev),
        business(ly),
    )


@dataclass(frozen=True)
class Review:
    periods: ReviewPeriods
    sections: list[tuple[str, list[ReviewRow]]]


def loyalty_review(periods: ReviewPeriods, scope: sf.Scope, *, now: datetime) -> Review:
    """Every review figure for the three periods: the dashboard's queries, three times, whatever the data."""
    cur = sf.figures(periods.current, scope, now=now)
    prev = sf.figures(periods.previous, scope, now=now) if periods.previous else None
    ly = sf.figures(periods.last_year, scope, now=now)
    sections = []
    for name, keys in SECTIONS:
        rows = [_row(k, cur.get(k), prev.get(k) if prev else None, ly.get(k)) for k in keys]
        sections.append((section_title(name), rows))
    return Review(periods, sections)


def csv_lines(review: Review) -> Any:
    """The review as CSV rows: one line per figure and period, then its changes."""
    from .service_display import show

    yield [
        "figure",
        "period",
        "first_day",
        "last_day",
        "value",
        "shown",
        "interval_or_p90",
        "n",
        "flag",
        "change",
        "change_interval",
        "verdict",
        "business_hours_change",
    ]
    p = review.periods
    for _title, rows in review.sections:
        for r in rows:
            sides: list[tuple[str, sf.Period, sf.Figure, ShownChange | None, ShownChange | None]] = [
                ("current", p.current, r.current, None, None),
                ("last_year", p.last_year, r.last_year, r.vs_last_year, r.vs_last_year_business),
            ]
            if p.previous is not None and r.previous is not None:
                sides.insert(1, ("previous", p.previous, r.previous, r.vs_previous, r.vs_previous_business))
            for name, period, fig, change, business in sides:
                s = show(fig)
                yield [
                    r.key,
                    name,
                    period.first.isoformat(),
                    period.last.isoformat(),
                    s.number if s.number is not None else "",
                    s.text,
                    s.detail,
                    s.n,
                    s.flag,
                    change.text if change else "",
                    change.detail if change else "",
                    change.verdict if change else "",
                    business.text if business and business.verdict != metrics.NO_DATA else "",
                ]
