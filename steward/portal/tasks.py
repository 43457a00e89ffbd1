"""Background work of the portal: take ids, load, call a service."""

from __future__ import annotations

import smtplib
from datetime import timedelta

from celery import shared_task

from steward.core import timeutil
from steward.customers.models import Customer

from . import services


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=3,
    acks_late=True,
)
def send_login_link_task(customer_id: int, next_path: str | None = None) -> None:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is not None:
        services.login_link_send(customer=customer, next_path=next_path)


@shared_task
def purge_login_tokens_task() -> int:
    """Periodic (Celery beat, e.g. daily): drop sign-in tokens expired for more than a day."""
    return services.login_tokens_purge(before=timeutil.now() - timedelta(days=1))
