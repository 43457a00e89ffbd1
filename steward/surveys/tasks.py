"""Background work of the surveys app: take ids, load, call a service."""

from __future__ import annotations

from celery import Task, shared_task

from . import webhooks


@shared_task(name="steward.surveys.tasks.send_case_survey")
def send_case_survey(case_id: int) -> int | None:
    """Send the case survey (idempotent: a second run finds the survey and sends nothing)."""
    from steward.cases.models import Case

    from .services import survey_send

    case = Case.objects.select_related("customer").filter(pk=case_id).first()
    if case is None:
        return None
    survey = survey_send(case=case)
    return survey.pk if survey is not None else None


@shared_task(name="steward.surveys.tasks.send_nps_campaign")
def send_nps_campaign(campaign_id: int) -> int:
    from .services import nps_campaign_run

    return nps_campaign_run(campaign_id=campaign_id).sent


class WebhookRetry(Exception):
    """The receiver did not accept the call yet; Celery tries again later."""


@shared_task(bind=True, name="steward.surveys.tasks.deliver_webhook", max_retries=None)
def deliver_webhook(self: Task, delivery_id: int) -> str:
    """POST one webhook delivery; on failure retry with backoff until its attempts are used up."""
    outcome = webhooks.webhook_attempt(delivery_id=delivery_id)
    while outcome == webhooks.RETRY and self.request.is_eager:
        # Eager mode (no broker): Celery cannot schedule a retry, so try again at once until the
        # delivery succeeds or has used its attempts and is failed (shown in the admin).
        outcome = webhooks.webhook_attempt(delivery_id=delivery_id)
    if outcome == webhooks.RETRY:
        from .models import WebhookDelivery

        attempts = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 1
        )
        raise self.retry(
            countdown=webhooks.retry_delay(attempts).total_seconds(), exc=WebhookRetry(delivery_id)
        )
    return outcome


@shared_task(name="steward.surveys.tasks.sweep_case_surveys")
def sweep_case_surveys() -> int:
    """Periodic (beat): send the survey of cases closed in the last week whose task never ran."""
    from datetime import timedelta

    from steward.core import timeutil

    from .selectors import cases_missing_survey
    from .services import survey_send

    sent = 0
    for case in cases_missing_survey(since=timeutil.now() - timedelta(days=7))[:200]:
        if survey_send(case=case) is not None:
            sent += 1
    return sent


@shared_task(name="steward.surveys.tasks.flush_webhooks")
def flush_webhooks() -> int:
    """Periodic (beat): deliveries still pending an hour on lost their task (broker down): try again."""
    from datetime import timedelta

    from steward.core import timeutil

    from .models import DeliveryState, WebhookDelivery

    stale = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, created_at__lt=timeutil.now() - timedelta(hours=1)
    ).values_list("pk", flat=True)[:200]
    for delivery_id in stale:
        webhooks.webhook_attempt(delivery_id=delivery_id)
    return len(stale)
