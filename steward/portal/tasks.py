"""Background work of the portal: take ids, load, call a service."""

from __future__ import annotations

import smtplib

from celery import shared_task

from steward.customers.models import Customer

from . import services


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=True,
    max_retries=3,
    acks_late=True,
)
def send_login_link_task(customer_id: int) -> None:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is not None:
        services.login_link_send(customer=customer)
