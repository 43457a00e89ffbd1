"""The soak run (issue 10): a bounded mix of agents, customers and API clients through wrk, minute by minute.

One wrk script picks each request from a weighted mix of benchmark scenarios (`MIX`, names from
runner.SCENARIOS), with the placeholders filled per request. wrk runs one minute at a time, back to back,
so every minute has its own p50/p95/errors; gunicorn's worker memory is sampled every second.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import runner

# (scenario name, weight): agents read lists and cases and search, customers read and write in the
# portal, API clients read and open cases and reply. Writes are about 15 % of requests.
MIX: list[tuple[str, int]] = [
    ("case list", 14),
    ("case list: status filter", 5),
    ("case list: team filter", 5),
    ("case list: text search", 4),
    ("case page", 20),
    ("portal: case list", 8),
    ("portal: case page", 8),
    ("API: case list", 8),
    ("API: case detail", 12),
    ("API: open a case", 6),
    ("API: reply on a case", 6),
    ("portal: customer writes on a case", 4),
]


WARM_UP_SECONDS = 60


def mix_script(fx: runner.Fixtures) -> str:
    """A wrk script choosing each request from MIX, each with its method, headers and body."""
    by_name = {s.name: s for s in runner.SCENARIOS}
    scenarios = [(by_name[name], weight) for name, weight in MIX]
    lines = ["math.randomseed(os.time())"]
    for k, values in fx.values.items():
        lines.append(f"local v_{k.replace('-', '_')} = {{{', '.join(json.dumps(x) for x in values)}}}")
    lines.append("local mix = {}")
    for s, weight in scenarios:
        headers = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in runner._headers(s, fx).items())
        used = [k for k in fx.values if "{" + k + "}" in s.path + s.body]
        entry = (
            f"{{method = {json.dumps(s.method)}, path = {json.dumps(s.path)}, body = {json.dumps(s.body)}, "
            f"headers = {{{headers}}}, used = {{{', '.join(json.dumps(k) for k in used)}}}}}"
        )
        lines.extend([f"for _ = 1, {weight} do table.insert(mix, {entry}) end"])
    lines.append("local values = {" + ", ".join(f"[{json.dumps(k)}] = v_{k}" for k in fx.values) + "}")
    lines.append(
        "request = function()\n"
        "  local m = mix[math.random(#mix)]\n"
        "  local p, b = m.path, m.body\n"
        "  for _, k in ipairs(m.used) do\n"
        "    local vs = values[k]\n"
        "    local x = vs[math.random(#vs)]\n"
        '    p = p:gsub("{" .. k .. "}", x); b = b:gsub("{" .. k .. "}", x)\n'
        "  end\n"
        "  if b == '' then b = nil end\n"
        "  return wrk.format(m.method, p, m.headers, b)\n"
        "end"
    )
    lines.append(runner.WRK_DONE)
    return "\n".join(lines) + "\n"


class RssEverySecond(threading.Thread):
    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.samples: list[tuple[float, int]] = []  # (monotonic, max worker RSS kB)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            out = subprocess.run(
                ["ps", "-o", "rss=", "--ppid", str(self.master_pid)], capture_output=True, text=True
            ).stdout
            values = [int(x) for x in out.split()]
            if values:
                self.samples.append((time.monotonic(), max(values)))


def load_average() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def soak(
    *,
    base_url: str,
    master_pid: int,
    minutes: int,
    connections: int,
    threads: int,
    out: Path,
    report: Any = print,
) -> dict[str, Any]:
    from steward.cases.models import Case

    if not 1 <= minutes <= 9:
        raise ValueError("A soak run lasts 1 to 9 minutes (plus one minute of warm-up: at most 10).")
    fx = runner.prepare(random.Random(11))
    script = mix_script(fx)
    sampler = RssEverySecond(master_pid)
    sampler.start()
    # Warm-up, reported apart: workers with their connections and compiled queries, PostgreSQL's buffers
    # with the pages' rows, as in a running site (the first try at 1M went from 0.6 to 18 req/s over
    # five cold minutes).
    warm = runner.run_wrk(
        script, base_url, duration=WARM_UP_SECONDS, connections=connections, threads=threads
    )
    report(
        f"  warm-up ({WARM_UP_SECONDS} s): {warm['rps']:.1f} req/s, p95 {warm['p95_us'] / 1000:.1f} ms, "
        f"errors {warm['errors'] + warm['non2xx3xx']}"
    )
    rows = []
    for minute in range(1, minutes + 1):
        started = time.monotonic()
        r = runner.run_wrk(script, base_url, duration=60, connections=connections, threads=threads)
        ended = time.monotonic()
        rss = [kb for at, kb in sampler.samples if started <= at <= ended]
        row = {
            "minute": minute,
            "requests": r["requests"],
            "rps": round(r["rps"], 1),
            "p50_ms": round(r["p50_us"] / 1000, 1),
            "p95_ms": round(r["p95_us"] / 1000, 1),
            "p99_ms": round(r["p99_us"] / 1000, 1),
            "errors": r["errors"] + r["non2xx3xx"],
            "worker_rss_max_mb": round(max(rss) / 1024, 1) if rss else None,
            "load_average": load_average(),
        }
        rows.append(row)
        report(
            f"  minute {minute}: {row['rps']} req/s, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
            f"errors {row['errors']}, worker RSS max {row['worker_rss_max_mb']} MB, "
            f"load {row['load_average']}"
        )
    sampler.stop.set()
    sampler.join()
    p95 = [r["p95_ms"] for r in rows]
    rss = [r["worker_rss_max_mb"] or 0 for r in rows]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": Case.objects.count(),
        "database": runner.database_version(),
        "machine": runner.machine(),
        "wrk": {"connections": connections, "threads": threads, "minutes": minutes},
        "mix": MIX,
        "warm_up": {"seconds": WARM_UP_SECONDS, **warm},
        "minutes": rows,
        "errors": sum(r["errors"] for r in rows),
        "requests": sum(r["requests"] for r in rows),
        # Stable: the last minute's p95 within 1.5 × the first's; flat: RSS grew by less than 10 %.
        "p95_last_over_first": round(p95[-1] / p95[0], 2) if p95[0] else None,
        "rss_last_over_first": round(rss[-1] / rss[0], 2) if rss[0] else None,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    report("")
    report(soak_table(result))
    return result


def soak_table(result: dict[str, Any]) -> str:
    rows = [
        "| minute | requests | req/s | p50 ms | p95 ms | p99 ms | errors | RSS MB | load average |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["minutes"]:
        load = " / ".join(f"{x:.1f}" for x in r["load_average"])
        rows.append(
            f"| {r['minute']} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['p99_ms']} | {r['errors']} | {r['worker_rss_max_mb']} | {load} |"
        )
    rows.append("")
    rows.append(
        f"{result['cases']:,} cases · {result['requests']:,} requests, {result['errors']} errors · "
        f"p95 last/first minute {result['p95_last_over_first']} · worker RSS last/first "
        f"{result['rss_last_over_first']} · wrk {result['wrk']['connections']} connections · "
        f"{result['date']}"
    )
    return "\n".join(rows)
