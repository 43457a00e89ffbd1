"""The event log as CSV and XES (IEEE 1849), streamed row by row for logs of any size.

The column names are the XES standard attributes, so PM4Py, ProM and Disco read the files as they are:
case:concept:name, concept:name (the event kind), time:timestamp, org:resource (who),
org:group (the sector), lifecycle:transition. The CSV also carries the case kind and category.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import quoteattr

from .selectors import ExportRow

CSV_COLUMNS = [
    "case:concept:name",
    "event:id",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "org:group",
    "lifecycle:transition",
    "case:kind",
    "case:category",
]


class _Line:
    """A file-like object whose write() returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[ExportRow]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for r in rows:
        yield writer.writerow(
            [
                r.case,
                r.event,
                r.kind,
                r.at.isoformat(),
                r.resource,
                r.group,
                r.lifecycle,
                r.case_kind,
                r.category,
            ]
        )


def _attr(tag: str, key: str, value: str) -> str:
    return f"<{tag} key={quoteattr(key)} value={quoteattr(value)}/>"


def xes_lines(rows: Iterable[ExportRow]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield (
        '<log xes.version="1849-2016" xes.features="nested-attributes" xmlns="http://www.xes-standard.org/">\n'
        '  <extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>\n'
        '  <extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>\n'
        '  <extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>\n'
        '  <extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>\n'
    )
    current: int | None = None
    for r in rows:
        if r.case != current:
            if current is not None:
                yield "  </trace>\n"
            current = r.case
            yield (
                f"  <trace>{_attr('string', 'concept:name', str(r.case))}"
                f"{_attr('string', 'kind', r.case_kind)}{_attr('string', 'category', r.category)}\n"
            )
        parts = [
            _attr("string", "concept:name", r.kind),
            _attr("date", "time:timestamp", r.at.isoformat()),
            _attr("string", "lifecycle:transition", r.lifecycle),
            _attr("int", "event:id", str(r.event)),
        ]
        if r.resource:
            parts.append(_attr("string", "org:resource", r.resource))
        if r.group:
            parts.append(_attr("string", "org:group", r.group))
        yield f"    <event>{''.join(parts)}</event>\n"
    if current is not None:
        yield "  </trace>\n"
    yield "</log>\n"
