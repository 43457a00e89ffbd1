"""Cross-check of Steward's process map with PM4Py, run OUTSIDE Steward's environment.

PM4Py (AGPL, heavy exact pins) is neither a runtime nor a dev dependency of Steward. This script runs
with the interpreter of a separate venv (scripts/test.sh makes `.venv-pm4py` with pm4py==2.7.23.11 and
exports STEWARD_PM4PY_PYTHON); tests/test_pm4py_cross_check.py calls it on an exported log.

Usage: python check_dfg.py <exported file> csv|xes
Prints JSON: {"edges": [{"source", "target", "count", "median", "mean", "max", "min"}, ...]} where the
activity is the sector (org:group); events without a sector are left out, as on Steward's map.
"""

from __future__ import annotations

import json
import sys

import pandas as pd
import pm4py


def load(path: str, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif fmt == "xes":
        df = pm4py.read_xes(path)
    else:
        raise SystemExit(f"unknown format {fmt!r}")
    if "org:group" not in df.columns:
        return df.iloc[0:0]
    df = df[df["org:group"].notna() & (df["org:group"].astype(str) != "")].copy()
    # The map's activity is the sector: drop the event kind and use org:group in its place.
    df = df.drop(columns=["concept:name"]).rename(columns={"org:group": "concept:name"})
    df["case:concept:name"] = df["case:concept:name"].astype(str)
    df["time:timestamp"] = pd.to_datetime(df["time:timestamp"], utc=True, format="ISO8601")
    return pm4py.format_dataframe(
        df, case_id="case:concept:name", activity_key="concept:name", timestamp_key="time:timestamp"
    )


def main() -> None:
    path, fmt = sys.argv[1], sys.argv[2]
    df = load(path, fmt)
    dfg, _start, _end = pm4py.discover_dfg(df)
    perf, _s, _e = pm4py.discover_performance_dfg(df, perf_aggregation_key="all")
    edges = []
    for (a, b), n in sorted(dfg.items()):
        p = perf.get((a, b), {})
        edges.append(
            {
                "source": a,
                "target": b,
                "count": int(n),
                **{k: float(p[k]) for k in ("median", "mean", "max", "min") if k in p},
            }
        )
    print(json.dumps({"pm4py": pm4py.__version__, "edges": edges}))


if __name__ == "__main__":
    main()
