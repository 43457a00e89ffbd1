"""Fault: PostgreSQL restarted during a run of writes (issue 10).

Steward is served by gunicorn on a throwaway PostgreSQL cluster (a copy of the test database). A
client thread opens cases through the API, one after the other, while the test restarts the cluster
(pg_ctl stop -m fast, a pause, start). Requests during the outage must answer 503 with Retry-After
(JSON for the API, the translated page for a person), never 500; the server must recover by itself
(no restart of gunicorn); and every case acknowledged with 201 must be in the database afterwards.

Slow (real processes, ~15 s): PostgreSQL pass only; skipped without the PostgreSQL binaries.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.test import Client
from rest_framework.authtoken.models import Token

from .faults import (
    ThrowawayPostgres,
    app_server,
    http,
    needs_pg_server,
    needs_postgresql,
    shared_database_url,
    skip_unless_postgresql,
    subprocess_env,
    wait_until,
)

pytestmark = [needs_postgresql, needs_pg_server, pytest.mark.django_db(transaction=True)]

OUTAGE_SECONDS = 1.0
WRITES_BEFORE = 5
WRITES_AFTER = 5


@dataclass
class Writer:
    """POSTs cases one after another and records every answer."""

    base: str
    token: str
    customer_id: int
    answers: list[tuple[float, int, dict[str, str], object]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            body = {
                "customer": self.customer_id,
                "subject": f"fault-write {n}",
                "description": "Written under a restart.",
            }
            try:
                status, headers, data = http(
                    "POST", f"{self.base}/api/v1/cases/", token=self.token, body=body
                )
            except OSError as exc:  # the server itself did not answer: recorded as status 0
                status, headers, data = 0, {}, repr(exc)
            self.answers.append((time.monotonic(), status, headers, data))
            time.sleep(0.02)

    def count(self, status: int, since: float = 0.0) -> int:
        return sum(1 for at, st, _h, _d in self.answers if st == status and at >= since)


def test_postgresql_restart_answers_503_recovers_and_keeps_every_acknowledged_write(
    tmp_path: Path, adviser, customer
) -> None:
    skip_unless_postgresql()
    token = Token.objects.create(user=adviser).key
    browser = Client()
    browser.force_login(adviser)  # a session row in the database the cluster copies
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    root = Path(tempfile.mkdtemp(prefix="steward-fault-pg-"))
    pg = ThrowawayPostgres(root)
    try:
        pg.start()
        pg.copy_database(shared_database_url())
        with app_server(subprocess_env(database_url=pg.url), tmp_path / "gunicorn.log") as base:
            writer = Writer(base, token, customer.pk)
            thread = threading.Thread(target=writer.run, daemon=True)
            thread.start()
            try:
                assert wait_until(lambda: writer.count(201) >= WRITES_BEFORE, 20), writer.answers[-3:]
                down_at = time.monotonic()
                pg.stop("fast")
                # A person's page during the outage: the translated 503 page, not a 500.
                page = http("GET", f"{base}/cases/", session=session)
                time.sleep(OUTAGE_SECONDS)
                pg.start()
                up_at = time.monotonic()
                recovered = wait_until(lambda: writer.count(201, since=up_at) >= WRITES_AFTER, 20)
            finally:
                writer.stop.set()
                thread.join(15)
            log = (tmp_path / "gunicorn.log").read_text()[-2000:]
            assert recovered, (writer.answers[-3:], log)

            statuses = [st for _at, st, _h, _d in writer.answers]
            assert set(statuses) <= {201, 503}, (sorted(set(statuses)), log)
            outage = [(h, d) for at, st, h, d in writer.answers if st == 503]
            assert outage, "no request met the outage"
            assert all(at >= down_at for at, st, _h, _d in writer.answers if st == 503)
            for headers, data in outage:
                assert int(headers["Retry-After"]) > 0
                assert isinstance(data, dict) and data["code"] == "service_unavailable" and data["detail"]

            status, headers, html = page
            assert status == 503 and headers["Content-Type"].startswith("text/html"), (status, log)
            assert int(headers["Retry-After"]) > 0 and "<h1>" in html
            assert http("GET", f"{base}/cases/", session=session)[0] == 200  # the same session, recovered

            acknowledged = {d["id"] for _at, st, _h, d in writer.answers if st == 201 and isinstance(d, dict)}
            assert len(acknowledged) == statuses.count(201)
        with psycopg.connect(pg.url.replace("postgres://", "postgresql://", 1)) as conn:
            rows = {
                r[0] for r in conn.execute("SELECT id FROM cases_case WHERE subject LIKE 'fault-write %'")
            }
        assert acknowledged <= rows, f"acknowledged but missing: {sorted(acknowledged - rows)}"
        print(
            f"\nPostgreSQL restart: {len(statuses)} writes, {len(acknowledged)} acknowledged (all kept), "
            f"{len(outage)} answered 503, {len(rows) - len(acknowledged)} committed without an answer"
        )
    finally:
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)
