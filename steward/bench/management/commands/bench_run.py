"""manage.py bench_run: the measuring half of scripts/bench.sh (the script starts gunicorn first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from steward.bench import runner


class Command(BaseCommand):
    help = "Run the benchmark scenarios with wrk against a running server; write var/bench/latest.json."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="base URL of the server, e.g. http://127.0.0.1:8765")
        parser.add_argument("--master-pid", type=int, required=True, help="gunicorn master (for worker RSS)")
        parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run (default 8)")
        parser.add_argument("--connections", type=int, default=4, help="wrk connections (default 4)")
        parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
        parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the median counts")
        parser.add_argument("--only", action="append", default=[], help="scenario name contains (repeatable)")
        parser.add_argument(
            "--ingest", type=int, default=100, help="e-mails for the ingestion figure (0: skip)"
        )
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "bench" / "latest.json"))

    def handle(self, *args: Any, **opts: Any) -> None:
        runner.run(
            base_url=opts["url"].rstrip("/"),
            master_pid=opts["master_pid"],
            duration=opts["duration"],
            connections=opts["connections"],
            threads=opts["threads"],
            repeat=opts["repeat"],
            only=opts["only"],
            out=Path(opts["out"]),
            ingest=opts["ingest"],
            report=lambda line: self.stdout.write(line),
        )
