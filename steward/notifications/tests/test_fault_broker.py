"""Fault: the Redis broker goes away (issue 10).

Steward is served by gunicorn with a throwaway redis-server as its Celery broker and its cache (the API
throttle's store, as in production); a real Celery worker
sends mail to an SMTP peer (aiosmtpd) that counts every mail it accepts by Message-ID. While the
broker is down, cases opened through the API still commit (201) and their notifications wait in
the outbox; once the broker is back the outbox flush (what beat runs every minute) sends them.
Every notification is delivered exactly once, even when the flush and the send task run again.

Slow (real processes, ~20 s): PostgreSQL pass only; skipped without redis-server or aiosmtpd.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from celery import Celery
from rest_framework.authtoken.models import Token

from steward.core.tests.faults import (
    SmtpPeer,
    ThrowawayRedis,
    app_server,
    celery_worker,
    http,
    needs_aiosmtpd,
    needs_postgresql,
    needs_redis,
    shared_database_url,
    skip_unless_postgresql,
    stop_process,
    subprocess_env,
    wait_until,
    worker_ready,
)
from steward.notifications.models import MailState, OutboundMail

pytestmark = [needs_postgresql, needs_redis, needs_aiosmtpd, pytest.mark.django_db(transaction=True)]


def test_broker_down_changes_commit_and_notifications_are_sent_once_when_it_returns(
    tmp_path: Path, adviser, customer
) -> None:
    skip_unless_postgresql()
    token = Token.objects.create(user=adviser).key
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    worker_log = tmp_path / "worker.log"
    with SmtpPeer() as smtp:
        env = subprocess_env(database_url=shared_database_url(), broker_url=redis.url, smtp_port=smtp.port)
        # As in production (README "Scale-out"): the same Redis is the cache, the API throttle's store.
        env["STEWARD_CACHE_URL"] = redis.url.replace("/0", "/1")
        worker = celery_worker("broker-fault", env, worker_log)
        producer = Celery("steward-fault-producer", broker=redis.url, set_as_current=False)
        try:
            with app_server(env, tmp_path / "gunicorn.log") as base:

                def open_cases(label: str, n: int) -> tuple[list[int], list[float]]:
                    ids, seconds = [], []
                    for i in range(n):
                        body = {"customer": customer.pk, "subject": f"{label} {i}", "description": "Hello."}
                        started = time.monotonic()
                        status, _headers, data = http("POST", f"{base}/api/v1/cases/", token=token, body=body)
                        seconds.append(time.monotonic() - started)
                        assert status == 201, data
                        ids.append(data["id"])
                    return ids, seconds

                def rows(ids: list[int]):  # type: ignore[no-untyped-def]
                    return OutboundMail.objects.filter(case_id__in=ids)

                def all_sent(ids: list[int]) -> bool:
                    return not rows(ids).exclude(state=MailState.SENT).exists()

                def log() -> str:
                    return worker_log.read_text()[-2000:]

                def flushes_done() -> int:
                    lines = worker_log.read_text().splitlines()
                    return sum("tasks.flush_outbox[" in line and "succeeded" in line for line in lines)

                assert wait_until(lambda: worker_ready(worker_log), 30), log()
                # Broker up: the send task delivers each notification.
                before, _ = open_cases("broker-up", 2)
                assert rows(before).exists()
                assert wait_until(lambda: all_sent(before), 20), log()

                # Broker down: the change commits, its mail waits in the outbox.
                redis.stop()
                during, seconds = open_cases("broker-down", 4)
                pending = rows(during)
                assert pending.count() >= len(during)
                sent_so_far = smtp.total()
                time.sleep(0.5)
                assert set(pending.values_list("state", flat=True)) == {MailState.PENDING}
                assert smtp.total() == sent_so_far

                # Broker back: the worker reconnects by itself; the flush sends what waited.
                redis.start()
                producer.send_task("steward.notifications.tasks.flush_outbox")
                assert wait_until(lambda: all_sent(during), 30), log()
                # New changes are queued again by the same web process (its broker connection recovered).
                after, _ = open_cases("broker-back", 2)
                assert wait_until(lambda: all_sent(after), 20), log()

                # Running the flush and every send task again sends nothing twice.
                every = list(rows(before + during + after).values_list("message_id", "pk"))
                for _mid, pk in every:
                    producer.send_task("steward.notifications.tasks.send_outbound", args=[pk])
                producer.send_task("steward.notifications.tasks.flush_outbox")
                # The solo worker takes the queue in order: once the second flush is done, so is the rest.
                assert wait_until(lambda: flushes_done() == 2, 15), log()
                assert smtp.duplicates() == {}
                assert set(smtp.accepted) == {mid for mid, _pk in every}
                print(
                    f"\nBroker down: {len(during)} cases committed while it was down "
                    f"(slowest answer {max(seconds):.2f} s), {len(every)} notifications, "
                    f"{smtp.total()} deliveries, 0 duplicates"
                )
        finally:
            stop_process(worker)
            producer.close()
            redis.stop()
