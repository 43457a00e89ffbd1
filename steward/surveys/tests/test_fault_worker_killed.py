"""Fault: a Celery worker killed (SIGKILL) in the middle of a task (issue 10).

The task is the case survey (`send_case_survey` → survey_send), held in flight by a row lock the test
takes on the case, so the kill lands while the task is running. Two kills, on a throwaway redis-server
broker with an SMTP peer (aiosmtpd) counting mail by Message-ID:

1. the pool process running the task dies (the out-of-memory killer): the worker puts the task back
   on the queue (task_reject_on_worker_lost; with acks_late alone Celery acknowledged it and the
   survey was never sent) and runs it again;
2. the whole worker dies with its pool (kill -9 of the container): the task stays unacknowledged in
   Redis, and a second worker takes it once the visibility timeout has passed (2 s here, hours in
   production; see fault_settings and config/settings.py).

3. a worker dies inside the SMTP conversation of a notification (the peer stalls, then refuses the
   mail its sender left): the task comes back, and the mail is sent once its dead sender's lease has
   run out (2 s here, 10 minutes in production).

Each time the killed attempt's transaction rolled back, and the effect happens once: one survey per
case, each mail delivered once.

Slow (real processes, ~20 s): PostgreSQL pass only; skipped without redis-server or aiosmtpd.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from steward.cases.models import Case, CaseEvent
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution
from steward.core.tests.faults import (
    SmtpPeer,
    ThrowawayRedis,
    celery_worker,
    needs_aiosmtpd,
    needs_postgresql,
    needs_redis,
    pool_processes,
    shared_database_url,
    skip_unless_postgresql,
    stop_process,
    subprocess_env,
    wait_until,
    worker_ready,
)
from steward.notifications.models import MailState, NotificationKind, OutboundMail, RecipientKind
from steward.notifications.services import notifications_muted
from steward.surveys import events
from steward.surveys.models import Survey
from steward.surveys.services import surveys_muted

pytestmark = [needs_postgresql, needs_redis, needs_aiosmtpd, pytest.mark.django_db(transaction=True)]


def _closed_case(adviser, customer, subject: str) -> Case:  # type: ignore[no-untyped-def]
    """A closed case whose survey has not been sent (the test sends the task itself)."""
    with notifications_muted(), surveys_muted():
        case = case_open(actor=adviser, customer=customer, subject=subject, description="?", owner=adviser)
        case_propose_solution(actor=adviser, case=case, solution="Redelivered today.")
        return case_confirm_solution(case=case)


def _waiting_on_lock() -> bool:
    """A worker's query is waiting for the row lock the test holds: the task is mid-flight."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(cursor.fetchone()[0])


class CaseLock:
    """SELECT … FOR UPDATE on the case row from a connection of the test's own."""

    def __init__(self, case: Case) -> None:
        self.conn = psycopg.connect(shared_database_url().replace("postgres://", "postgresql://", 1))
        self.conn.execute("SELECT id FROM cases_case WHERE id = %s FOR UPDATE", [case.pk])

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def _effect_once(case: Case, smtp: SmtpPeer) -> bool:
    mail = list(OutboundMail.objects.filter(case=case).values_list("message_id", "state"))
    return (
        Survey.objects.filter(case=case).count() == 1
        and len(mail) == 1
        and mail[0][1] == MailState.SENT
        and smtp.accepted["".join(mail[0][0].split())] == 1
    )


def _pending_mail(case: Case) -> OutboundMail:
    """An outbox row written straight to the table (no task queued for it: the test sends the task)."""
    now = timezone.now()
    return OutboundMail.objects.create(
        case=case,
        to=case.customer.email,
        recipient_kind=RecipientKind.CUSTOMER,
        language="en",
        kind=NotificationKind.OTHER,
        subject="Killed mid-send",
        text_body="Sent once.",
        message_id=f"<killed-mid-send.{case.pk}@steward.localhost>",
        created_at=now,
        next_attempt_at=now,
    )


def _sent_once(row: OutboundMail, smtp: SmtpPeer) -> bool:
    row.refresh_from_db()
    return row.state == MailState.SENT and smtp.accepted[row.message_id] == 1


def test_killed_worker_task_runs_again_and_its_effect_happens_once(tmp_path: Path, adviser, customer) -> None:
    skip_unless_postgresql()
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    first_case = _closed_case(adviser, customer, "Killed pool process")
    second_case = _closed_case(adviser, customer, "Killed worker")
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log", tmp_path / "worker-c.log"]
    workers: list[subprocess.Popen[bytes]] = []
    producer = Celery("steward-fault-producer", broker=redis.url, set_as_current=False)

    def log() -> str:
        return "\n".join(p.read_text()[-1500:] for p in logs if p.exists())

    with SmtpPeer() as smtp:
        env = subprocess_env(database_url=shared_database_url(), broker_url=redis.url, smtp_port=smtp.port)
        env["STEWARD_MAIL_SEND_LEASE_SECONDS"] = "2"  # production: 10 minutes
        try:
            # Worker A keeps the production-like long visibility timeout: in step 1 only the worker's
            # own requeue (reject on worker lost) can bring the task back, not a redelivery by timeout.
            env_a = {**env, "STEWARD_TEST_VISIBILITY_TIMEOUT": "3600"}
            worker_a = celery_worker("killed-a", env_a, logs[0], pool="prefork")
            workers.append(worker_a)
            assert wait_until(lambda: worker_ready(logs[0]), 30), log()

            # 1. The pool process dies mid-task; the worker runs the task again.
            lock = CaseLock(first_case)
            producer.send_task("steward.surveys.tasks.send_case_survey", args=[first_case.pk])
            assert wait_until(_waiting_on_lock, 15), log()
            (pool_pid,) = pool_processes(worker_a)
            os.kill(pool_pid, signal.SIGKILL)
            assert wait_until(lambda: "WorkerLostError" in log(), 10), log()
            lock.release()
            assert wait_until(lambda: _effect_once(first_case, smtp), 20), log()

            # 2. The whole worker dies mid-task; a second worker takes the task after the timeout.
            lock = CaseLock(second_case)
            producer.send_task("steward.surveys.tasks.send_case_survey", args=[second_case.pk])
            assert wait_until(_waiting_on_lock, 15), log()
            os.killpg(worker_a.pid, signal.SIGKILL)
            worker_a.wait(10)
            lock.release()
            assert Survey.objects.filter(case=second_case).count() == 0  # the killed attempt rolled back
            workers.append(celery_worker("killed-b", env, logs[1]))
            assert wait_until(lambda: _effect_once(second_case, smtp), 30), log()
            assert "send_case_survey" in logs[1].read_text()  # the second worker ran it

            # 3. A worker killed while it sends a notification (inside the SMTP conversation): the mail
            # is sent again once its sender's lease has run out (2 s here), and exactly once.
            row = _pending_mail(second_case)
            smtp.hold.set()
            producer.send_task("steward.notifications.tasks.send_outbound", args=[row.pk])
            assert wait_until(smtp.held.is_set, 15), log()
            os.killpg(workers[1].pid, signal.SIGKILL)
            workers[1].wait(10)
            smtp.released.set()
            workers.append(celery_worker("killed-c", env, logs[2]))
            assert wait_until(lambda: worker_ready(logs[2]), 30), log()
            # The redelivered task sends it (the lease ran out while worker C started); were it back
            # too early, the flush (beat, every minute) would: both claim the row, so never twice.
            producer.send_task("steward.notifications.tasks.flush_outbox")
            assert wait_until(lambda: _sent_once(row, smtp), 20), log()
        finally:
            for worker in workers:
                stop_process(worker)
            producer.close()
            redis.stop()

        for case in (first_case, second_case):
            assert Survey.objects.filter(case=case).count() == 1
            assert CaseEvent.objects.filter(case=case, kind=events.SURVEY_SENT).count() == 1
        assert smtp.duplicates() == {}
        assert smtp.total() == 3  # two survey mails, the mail whose sender was killed
        assert OutboundMail.objects.get(pk=row.pk).attempts == 2  # the killed attempt, the one that sent
