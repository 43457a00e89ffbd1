"""Scale-out: two real Celery worker processes on a shared Redis broker and PostgreSQL run 1,000 jobs,
each exactly once (README "Scale-out"). The job records itself in a table with a unique constraint, so
a job run twice fails loudly instead of hiding.

Runs only where Redis and PostgreSQL answer (scripts/test.sh exports STEWARD_TEST_REDIS_URL when a Redis
is reachable); elsewhere it is skipped with the reason. The broker is a Redis database number of its own
(STEWARD_TEST_SCALE_REDIS_URL, default db 14) and a queue of its own, so it never meets another worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from steward.bench.models import JobRun
from steward.core.tests.faults import redis_reachable

JOBS = 1000
REDIS_URL = os.environ.get("STEWARD_TEST_SCALE_REDIS_URL", "redis://127.0.0.1:6379/14")
WAIT_SECONDS = 50


pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not redis_reachable(REDIS_URL), reason=f"no Redis at {REDIS_URL}"),
]


def _worker(queue: str, name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-Q", queue]
    command += ["-n", f"{name}@%h", "--without-heartbeat", "--without-gossip", "--without-mingle"]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)


def test_two_workers_run_each_of_a_thousand_jobs_exactly_once(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the workers share the test database: run with DATABASE_URL=postgres://…")
    run = uuid.uuid4().hex[:12]
    queue = f"steward-scale-{run}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "steward.bench.tests.worker_settings",
        "CELERY_BROKER_URL": REDIS_URL,
        "STEWARD_TEST_QUEUE": queue,
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    workers = [_worker(queue, f"{queue}-{i}", env, log) for i, log in enumerate(logs, start=1)]
    producer = Celery("steward-scale-producer", broker=REDIS_URL, set_as_current=False)
    try:
        for job in range(JOBS):
            producer.send_task("steward.bench.tasks.record_job_run", args=[run, job], queue=queue)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and JobRun.objects.filter(run=run).count() < JOBS:
            if any(w.poll() is not None for w in workers):
                break
            time.sleep(0.5)
        time.sleep(1)  # a job run twice would show up now (and fail on the unique constraint)
        rows = list(JobRun.objects.filter(run=run).values_list("job", "worker"))
        tail = "\n".join(log.read_text()[-1500:] for log in logs)
        assert sorted(job for job, _ in rows) == list(range(JOBS)), tail
        per_worker = Counter(worker for _, worker in rows)
        assert len(per_worker) == 2, per_worker  # both processes took work
        assert "IntegrityError" not in tail  # no job ran a second time
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        producer.close()
