"""The process map as Graphviz DOT text: built here from tested Python, laid out by Graphviz.

The browser renders the DOT with the vendored @viz-js/viz (Graphviz compiled to WebAssembly,
static/vendor/viz-global.js); the page shows a table of the same edges beside the picture.
Sectors are placed left to right by their distance from the customer; edges towards the customer
do not pull the layout (constraint=false), so the ranks stay those distances.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .metrics import Edge


@dataclass(frozen=True)
class Node:
    id: int
    name: str
    distance: int


def format_wait(seconds: float | None) -> str:
    """A waiting time in the unit a reader expects: minutes, hours or days."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return _("%(n)s min") % {"n": f"{seconds / 60:.0f}"}
    if seconds < 48 * 3600:
        return _("%(n)s h") % {"n": f"{seconds / 3600:.1f}"}
    return _("%(n)s d") % {"n": f"{seconds / 86400:.1f}"}


def quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks dropped."""
    cleaned = " ".join(str(text).split())
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def edge_label(edge: Edge) -> str:
    return _("%(count)s× · median %(median)s") % {
        "count": edge.count,
        "median": format_wait(edge.wait.median),
    }


def build_dot(*, nodes: Mapping[int, Node], edges: Iterable[Edge], bottleneck: int | None) -> str:
    edges = list(edges)
    used = {e.source for e in edges} | {e.target for e in edges}
    if bottleneck is not None:
        used.add(bottleneck)
    shown = sorted((nodes[i] for i in used if i in nodes), key=lambda n: (n.distance, n.name, n.id))
    lines = [
        "digraph process_map {",
        '  graph [rankdir=LR, nodesep=0.5, ranksep=1.1, fontname="sans-serif", bgcolor="transparent"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#667085",'
        ' fontname="sans-serif"];',
        '  edge [color="#667085", fontname="sans-serif", fontsize=10];',
    ]
    distances = sorted({n.distance for n in shown})
    # Invisible anchors, one per distance, chained left to right: they fix the column of each sector.
    for d in distances:
        lines.append(f'  d{d} [style=invis, shape=point, width=0, label=""];')
    if len(distances) > 1:
        lines.append("  " + " -> ".join(f"d{d}" for d in distances) + " [style=invis];")
    for d in distances:
        members = [n for n in shown if n.distance == d]
        ids = "; ".join(f"s{n.id}" for n in members)
        lines.append(f"  {{ rank=same; d{d}; {ids}; }}")
    for n in shown:
        if n.id == bottleneck:
            label = quote(f"{n.name} — {_('bottleneck')}")
            lines.append(
                f'  s{n.id} [label={label}, id="sector-{n.id}", class="sector bottleneck", '
                'color="#b42318", fillcolor="#fdecea", fontcolor="#b42318", penwidth=3];'
            )
        else:
            lines.append(f'  s{n.id} [label={quote(n.name)}, id="sector-{n.id}", class="sector"];')
    for e in edges:
        if e.source not in nodes or e.target not in nodes:
            continue
        attrs = [f"label={quote(edge_label(e))}", f'id="edge-{e.source}-{e.target}"']
        if nodes[e.target].distance < nodes[e.source].distance:
            attrs.append("constraint=false")
        if e.target == bottleneck:
            attrs.append('class="into-bottleneck", color="#b42318", penwidth=2')
        lines.append(f"  s{e.source} -> s{e.target} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
