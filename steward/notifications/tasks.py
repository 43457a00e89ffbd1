"""Celery tasks of the outbox: take ids, call a service; nothing else."""

from __future__ import annotations

import smtplib

from celery import Task, shared_task
from django.conf import settings

from . import services


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=settings.STEWARD_MAIL_RETRY_BACKOFF,
    retry_backoff_max=settings.STEWARD_MAIL_RETRY_BACKOFF_MAX,
    retry_jitter=False,  # so the row's next_attempt_at and the task's retry agree
    max_retries=settings.STEWARD_MAIL_MAX_RETRIES,
)
def send_outbound(self: Task, outbound_id: int) -> str:
    """Send one outbox row. A transient SMTP failure retries with backoff; the row counts attempts and
    becomes `failed` after the last one. Running it twice sends the mail once."""
    delivery = services.outbound_deliver(outbound_id=outbound_id)
    while delivery.outcome == services.RETRY and self.request.is_eager:
        # Eager mode (no broker): Celery cannot schedule a retry, so try again at once until the
        # row is sent or has used its attempts and is failed (shown on the case page).
        delivery = services.outbound_deliver(outbound_id=outbound_id)
    if delivery.outcome == services.RETRY and delivery.error is not None:
        max_retries = self.max_retries if self.max_retries is not None else 0
        if self.request.retries < max_retries:
            raise delivery.error  # autoretry_for schedules the retry with backoff
        # Celery's retries are used up but the row has attempts left: the flush sends it when due.
    return delivery.outcome


@shared_task
def flush_outbox() -> int:
    """Periodic (beat): send pending rows that no task sent (broker down, retries lost)."""
    return services.outbox_flush()


@shared_task
def remind_due_commitments() -> int:
    """Periodic (beat): tell owners of next steps due within the hour or overdue, once each."""
    return services.commitments_remind_due()
