"""Steward's directly-follows counts and median waits equal PM4Py's on the same exported log.

The log is written by the real case and sector-task services (steward/analytics/tests/logs.py).
PM4Py runs in its own interpreter (STEWARD_PM4PY_PYTHON, made by scripts/test.sh); it is never
imported here. Self-loops (a sector followed by itself) are left out: the map shows handovers only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from steward.analytics import selectors
from steward.analytics.selectors import Selection
from steward.analytics.tests.logs import build_known_log
from steward.cases.models import SectorTask
from steward.sectors.models import Sector

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).parent / "pm4py_check" / "check_dfg.py"
PM4PY_PYTHON = os.environ.get("STEWARD_PM4PY_PYTHON", "")


def _pm4py(path: Path, fmt: str) -> dict[tuple[str, str], dict]:
    done = subprocess.run(
        [PM4PY_PYTHON, str(SCRIPT), str(path), fmt], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    edges = json.loads(last)["edges"]
    return {(e["source"], e["target"]): e for e in edges if e["source"] != e["target"]}


@pytest.mark.skipif(
    not PM4PY_PYTHON,
    reason="STEWARD_PM4PY_PYTHON is not set: scripts/test.sh creates .venv-pm4py (pip install "
    "pm4py==2.7.23.11) and sets it; without it the PM4Py cross-check is skipped",
)
@pytest.mark.parametrize("fmt", ["csv", "xes"])
def test_dfg_counts_and_median_waits_equal_pm4py(client, personas, tmp_path, fmt):
    log = build_known_log(owner=personas.adviser, customer=personas.customer)
    client.force_login(personas.manager)
    # Export through the page a manager uses (every case: the personas' own case has a single
    # front-desk event, so it adds no edge).
    response = client.get(f"/en/analytics/export/{fmt}/", {"kind": ""})
    assert response.status_code == 200
    path = tmp_path / f"log.{fmt}"
    path.write_bytes(b"".join(response.streaming_content))
    # The tasks are real SectorTask rows, not hand-written events.
    assert SectorTask.objects.filter(case__in=(log.a.case, log.b.case)).count() == 5
    theirs = _pm4py(path, fmt)
    names = {s.pk: s.name for s in Sector.objects.all()}
    ours = {(names[e.source], names[e.target]): e for e in selectors.dfg_edges(Selection())}
    assert set(ours) == set(theirs)
    for key, edge in ours.items():
        assert edge.count == theirs[key]["count"], key
        assert edge.wait.median == pytest.approx(theirs[key]["median"], abs=1e-3), key
        assert edge.wait.max == pytest.approx(theirs[key]["max"], abs=1e-3), key


def test_pm4py_is_not_a_dependency_of_steward():
    # PM4Py (AGPL, exact pins) stays out of Steward's environment: the script runs in its own venv.
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert "pm4py" not in pyproject.lower()
    assert "pm4py" not in sys.modules
