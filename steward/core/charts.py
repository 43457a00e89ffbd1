"""Charts as data: what a page hands to `includes/chart.html`.

A chart is drawn by Chart.js (static/vendor/chart.umd.min.js, via static/js/charts.js) from a JSON
block, and the same numbers are printed in a plain table beside it: the table is what a screen
reader, a printout, a CSV-minded manager and a browser without JavaScript get.

Values are given in the unit they are shown in (a share as a percentage 0–100, a time in hours,
money in major units); None is a gap ("no data"), never 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("line", "bar")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Row:
    label: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    id: str
    kind: str
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    label_heading: str = ""

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"

    @property
    def config(self) -> dict[str, Any]:
        """What static/js/charts.js passes to Chart.js."""
        return {
            "type": self.kind,
            "unit": self.unit,
            "labels": list(self.labels),
            "datasets": [{"label": s.label, "data": list(s.values)} for s in self.series],
        }

    @property
    def rows(self) -> list[Row]:
        """The table beside the chart: one row per label, one column per series."""
        return [
            Row(label, tuple(_display(s.values[i], self.unit) for s in self.series))
            for i, label in enumerate(self.labels)
        ]


def _display(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{text} {unit}".strip() if unit else text


def chart(
    kind: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    unit: str = "",
    label_heading: str = "",
    chart_id: str | None = None,
) -> Chart:
    """Build a chart; every series must have one value per label."""
    if kind not in KINDS:
        raise ValueError(f"unknown chart kind {kind!r}; use one of {KINDS}")
    for name, values in series.items():
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)} labels")
    return Chart(
        id=chart_id or f"chart-{next(_ids)}",
        kind=kind,
        title=str(title),
        labels=tuple(str(label) for label in labels),
        series=tuple(Series(str(name), tuple(values)) for name, values in series.items()),
        unit=str(unit),
        label_heading=str(label_heading),
    )
