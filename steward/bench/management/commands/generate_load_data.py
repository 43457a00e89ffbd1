"""manage.py generate_load_data --cases N: load data at scale for the benchmark (steward.bench.loadgen)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from steward.analytics.rollups import rebuild_all
from steward.bench.loadgen import default_end, generate


class Command(BaseCommand):
    help = (
        "Generate N cases over two years (customers N/5, advisers max(20, N/5000), sector tasks, handoffs, "
        "messages, case surveys with answers and follow-ups, compensation on some complaints and the full "
        "event log), written in bulk: COPY on PostgreSQL, bulk_create elsewhere."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, required=True, help="number of cases")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--end",
            default="",
            help="last instant of the period, ISO date or datetime in UTC (default: today 00:00 UTC)",
        )
        parser.add_argument("--batch", type=int, default=5000, help="cases per written batch (default 5000)")
        parser.add_argument("--prefix", default="load", help="user name prefix of the generated staff")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="PostgreSQL: keep the secondary indexes during the load (by default, from 50,000 cases on, "
            "they are dropped and rebuilt at the end, which is faster; run on a database nobody else uses)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["cases"] < 1:
            raise CommandError("--cases must be at least 1.")
        if opts["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        end = default_end()
        if opts["end"]:
            try:
                end = datetime.fromisoformat(opts["end"])
            except ValueError as exc:
                raise CommandError(f"--end must be an ISO date or datetime, not {opts['end']!r}.") from exc
            if end.tzinfo is None:
                end = end.replace(tzinfo=UTC)
        started = time.monotonic()
        rows = generate(
            cases=opts["cases"],
            seed=opts["seed"],
            end=end,
            batch=opts["batch"],
            prefix=opts["prefix"],
            report=lambda line: self.stdout.write(line),
            rebuild_indexes=False if opts["keep_indexes"] else None,
        )
        # The analysis rollups (sector report, process map, ...) are maintained as events arrive; a bulk
        # load bypasses the services, so they are rebuilt from the event log once at the end.
        rollups_started = time.monotonic()
        self.stdout.write("rebuilding the analysis rollups")
        rebuild_all(report=lambda line: self.stdout.write(f"  {line}"))
        self.stdout.write(f"  rollups rebuilt in {time.monotonic() - rollups_started:,.0f} s")
        elapsed = time.monotonic() - started
        total = sum(rows.values())
        detail = ", ".join(f"{name} {count:,}" for name, count in rows.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {total:,} rows in {elapsed:,.0f} s "
                f"({total / max(elapsed, 1e-6):,.0f} rows/s): {detail}"
            )
        )
