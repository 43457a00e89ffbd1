"""manage.py bench_soak: the soak half of scripts/soak.sh (the script starts gunicorn first)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from steward.bench import soak


class Command(BaseCommand):
    help = "A bounded soak run (1-10 minutes) of a mixed load against a running server (var/bench/soak.json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", required=True, help="base URL of the server, e.g. http://127.0.0.1:8765")
        parser.add_argument("--master-pid", type=int, required=True, help="gunicorn master (for worker RSS)")
        parser.add_argument(
            "--minutes",
            type=int,
            default=5,
            help="measured minutes, 1 to 9, after 1 minute of warm-up (default 5)",
        )
        parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
        parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "var" / "bench" / "soak.json"))

    def handle(self, *args: Any, **opts: Any) -> None:
        if not 1 <= opts["minutes"] <= 9:
            raise CommandError("--minutes must be between 1 and 9 (one more minute warms up).")
        soak.soak(
            base_url=opts["url"].rstrip("/"),
            master_pid=opts["master_pid"],
            minutes=opts["minutes"],
            connections=opts["connections"],
            threads=opts["threads"],
            out=Path(opts["out"]),
            report=lambda line: self.stdout.write(line),
        )
