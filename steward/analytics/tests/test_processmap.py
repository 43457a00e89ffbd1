"""The DOT text of the process map (built in Python, laid out by Graphviz in the browser)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from steward.analytics import metrics
from steward.analytics.processmap import Node, build_dot, format_wait, quote

ROOT = Path(__file__).resolve().parents[3]


def edge(a: int, b: int, n: int, median: float) -> metrics.Edge:
    return metrics.Edge(a, b, n, metrics.summarize([median] * n))


NODES = {1: Node(1, "Front desk", 0), 2: Node(2, "Warehouse", 4), 3: Node(3, 'Billing "B"', 3)}


def test_sectors_are_ranked_by_distance_and_the_bottleneck_is_marked():
    dot = build_dot(
        nodes=NODES, edges=[edge(1, 2, 3, 7200), edge(2, 3, 1, 600), edge(3, 1, 1, 60)], bottleneck=2
    )
    assert dot.startswith("digraph process_map {") and dot.rstrip().endswith("}")
    assert "d0 -> d3 -> d4 [style=invis];" in dot
    assert "{ rank=same; d4; s2; }" in dot
    assert re.search(r's2 \[label="Warehouse — bottleneck", id="sector-2", class="sector bottleneck"', dot)
    assert 's1 -> s2 [label="3× · median 2.0 h", id="edge-1-2", class="into-bottleneck"' in dot
    # An edge back towards the customer does not pull the layout.
    assert re.search(r"s3 -> s1 \[[^]]*constraint=false", dot)
    assert 'label="Billing \\"B\\""' in dot  # quotes escaped


def test_no_edges_gives_an_empty_but_valid_graph():
    dot = build_dot(nodes=NODES, edges=[], bottleneck=None)
    assert "->" not in dot and dot.count("{") == dot.count("}")


def test_quote_escapes_backslashes_and_drops_line_breaks():
    assert quote('a\\b "c"\nd') == '"a\\\\b \\"c\\" d"'


def test_format_wait_units():
    assert format_wait(None) == "–"
    assert format_wait(300) == "5 min"
    assert format_wait(5400) == "1.5 h"
    assert format_wait(3 * 86400) == "3.0 d"


def test_vendored_viz_js_matches_the_pinned_sha256():
    script = (ROOT / "scripts" / "vendor.sh").read_text()
    pinned = re.search(
        r"@viz-js/viz@3\.31\.0 dist/viz-global\.js static/vendor/viz-global\.js ([0-9a-f]{64})", script
    )
    assert pinned, "scripts/vendor.sh must pin viz-global.js with its sha256"
    data = (ROOT / "static" / "vendor" / "viz-global.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == pinned.group(1)
    assert data.startswith(b"/*!\nViz.js 3.31.0")
