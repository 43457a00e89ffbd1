"""Recompute the analysis rollups from the case event log (after a bulk load, or once on upgrade)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from steward.analytics.rollups import rebuild_all


class Command(BaseCommand):
    help = "Recompute the analysis rollups (sector report, process map) from the case event log."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=5000, help="Cases per transaction.")

    def handle(self, *args: Any, **opts: Any) -> None:
        began = time.monotonic()
        n = rebuild_all(chunk=max(1, opts["chunk"]), report=lambda line: self.stdout.write(line))
        self.stdout.write(f"rollups rebuilt for {n:,} cases in {time.monotonic() - began:,.1f} s")
