"""The scale-out test's job: a notification/rollup-like task that records where it ran."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.utils import timezone

from .models import JobRun


@shared_task(acks_late=True)
def record_job_run(run: str, job: int) -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    JobRun.objects.create(run=run, job=job, worker=worker, executed_at=timezone.now())
    return worker
