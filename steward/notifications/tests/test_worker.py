"""End to end with a real Celery worker on the loopback Redis, a real PostgreSQL and a real SMTP server.

The request commits a reply, `.delay` publishes to Redis, the worker sends through SMTP; the mail server
refuses the first try (451), so Celery's autoretry retries with backoff and the second try goes out.
A row the broker never got is sent by the flush task on the worker. Skipped where Redis or PostgreSQL
is not there (the worker must share the test database, which an in-memory SQLite cannot).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from django.conf import settings
from django.db import connection
from kombu.exceptions import OperationalError

from steward.cases.services import case_receive_message, case_reply
from steward.core.tests.faults import redis_reachable
from steward.notifications.models import MailState, NotificationKind, OutboundMail
from steward.notifications.tasks import send_outbound
from steward.notifications.tests.test_smtp_roundtrip import Inbox, free_port
from steward.testing import Personas

REDIS_URL = os.environ.get("STEWARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WAIT_SECONDS = 90  # a generous bound for a busy 2-core machine; the test asserts outcomes, not speed


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not redis_reachable(REDIS_URL), reason=f"no Redis at {REDIS_URL}"),
]


class RefuseFirstInbox(Inbox):
    """Answers the first message with 451 (try again later), like a greylisting server."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        if self.refused == 0:
            self.refused += 1
            return "451 4.7.1 Greylisted, try again later"
        return await super().handle_DATA(server, session, envelope)


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_real_worker_retries_a_refused_mail_and_flushes_what_the_broker_missed(
    staff: Personas, tmp_path: Path
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker shares the test database: run with DATABASE_URL=postgres://…")
    inbox = RefuseFirstInbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    queue = f"steward-test-{uuid.uuid4().hex[:8]}"  # never share a queue with anyone else's worker
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "steward.notifications.tests.worker_settings",
        "CELERY_BROKER_URL": REDIS_URL,
        "STEWARD_TEST_QUEUE": queue,
        "STEWARD_EMAIL_PORT": str(smtp_port),
        "STEWARD_MAIL_RETRY_BACKOFF": "1",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue]
        command += ["-n", f"{queue}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"]
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    # Not the current app: shared tasks in later tests must keep running eagerly in the test process.
    producer = Celery("steward-test-producer", broker=REDIS_URL, set_as_current=False)

    def publish(outbound_id: int) -> None:
        producer.send_task("steward.notifications.tasks.send_outbound", args=[outbound_id], queue=queue)

    try:
        with mock.patch.object(send_outbound, "delay", side_effect=publish):
            case_reply(actor=staff.adviser, case=staff.case, body="The new charger ships today.")
        reply = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.REPLY)
        wait_for(
            lambda: OutboundMail.objects.get(pk=reply.pk).state != MailState.PENDING, "the reply to be sent"
        )
        reply.refresh_from_db()
        assert (reply.state, reply.attempts) == (MailState.SENT, 2), log.read_text()[-3000:]
        assert inbox.refused == 1
        message = inbox.messages()[0]
        assert message["Message-ID"].strip() == reply.message_id
        # A long (e.g. Thai) subject is folded; the parsed header keeps the fold's leading space.
        assert str(message["Subject"]).strip() == reply.subject

        # The broker is down for the next change: the row waits, and the flush on the worker sends it.
        with mock.patch.object(send_outbound, "delay", side_effect=OperationalError("Connection refused")):
            case_receive_message(case=staff.case, body="Thank you, I will wait.")
        wrote = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CUSTOMER_WROTE)
        assert wrote.state == MailState.PENDING
        producer.send_task("steward.notifications.tasks.flush_outbox", queue=queue)
        wait_for(lambda: OutboundMail.objects.get(pk=wrote.pk).state == MailState.SENT, "the flush to send")
        assert [m["Message-ID"].strip() for m in inbox.messages()][-1] == wrote.message_id
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        producer.close()
        controller.stop()
