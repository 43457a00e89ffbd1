"""Receive raw messages from files or standard input: `ingest_mail FILE...` or `ingest_mail -`.

For a mail server pipe (e.g. a Postfix transport or an alias `| manage.py ingest_mail -`). The exit
code is 0 when every message was stored, quarantined ones included; 75 (EX_TEMPFAIL) when one could
not be stored, so the mail server keeps it and tries again; 66 (EX_NOINPUT) when a file is missing.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from steward.mail.services import mail_receive

EX_NOINPUT = 66
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Receive raw RFC 5322 messages from files, or from standard input with '-'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="message files (.eml), or '-' for standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        worst = 0
        for name in options["files"]:
            try:
                raw = sys.stdin.buffer.read() if name == "-" else _read(name)
            except OSError as exc:
                self.stderr.write(f"{name}: cannot read ({exc.strerror or exc})")
                worst = max(worst, EX_NOINPUT)
                continue
            try:
                inbound = mail_receive(raw=raw)
            except Exception as exc:  # not stored: the caller must keep the message and retry
                self.stderr.write(f"{name}: NOT stored, try again later ({type(exc).__name__}: {exc})")
                worst = EX_TEMPFAIL
                continue
            case = f" case #{inbound.case_id}" if inbound.case_id else ""
            reason = " ".join(inbound.reason.split())[:200]
            self.stdout.write(f"{name}: {inbound.state}{case}{' (' + reason + ')' if reason else ''}")
        if worst:
            sys.exit(worst)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()
