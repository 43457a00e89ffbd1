"""Webhooks against a real HTTP server on localhost (http.server in a thread)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from steward.surveys import webhooks
from steward.surveys.models import DeliveryState, WebhookDelivery
from steward.surveys.services import survey_answer

from .helpers import confirmed_case, send

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver: answers with the queued status codes (then 200) and keeps what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.calls: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    with Receiver([]) as r:
        settings.STEWARD_WEBHOOK_URLS = [r.url]
        yield r


def _low_score(adviser, customer, django_capture_on_commit_callbacks) -> None:
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    with django_capture_on_commit_callbacks(execute=True):
        survey_answer(survey=survey, answers={"csat": 1, "comment": "Nobody called me back."})


def test_low_score_posts_a_signed_webhook(receiver, adviser, customer, django_capture_on_commit_callbacks):
    _low_score(adviser, customer, django_capture_on_commit_callbacks)
    assert len(receiver.calls) == 1
    call = receiver.calls[0]
    headers = {k.lower(): v for k, v in call["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-steward-event"] == "survey.low_score"
    assert webhooks.verify(
        call["body"], headers["x-steward-timestamp"], headers["x-steward-signature"], "test-secret"
    )
    assert not webhooks.verify(
        call["body"], headers["x-steward-timestamp"], headers["x-steward-signature"], "wrong"
    )
    payload = json.loads(call["body"])
    assert payload["event"] == "survey.low_score"
    assert payload["data"]["csat"] == 1 and payload["data"]["follow_up"]["reason"] == "low_csat"
    delivery = WebhookDelivery.objects.get()
    assert (
        delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1 and delivery.last_status == 200
    )


def test_a_500_is_retried_until_the_receiver_accepts(
    receiver, adviser, customer, django_capture_on_commit_callbacks
):
    receiver.statuses = [500, 503]
    _low_score(adviser, customer, django_capture_on_commit_callbacks)
    assert len(receiver.calls) == 3
    assert receiver.calls[0]["body"] == receiver.calls[2]["body"]  # the same delivery each time
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 3


def test_a_receiver_that_keeps_failing_marks_the_delivery_failed(
    receiver, settings, adviser, customer, django_capture_on_commit_callbacks
):
    settings.STEWARD_WEBHOOK_MAX_RETRIES = 2
    receiver.statuses = [500] * 10
    _low_score(adviser, customer, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 3 and delivery.last_status == 500 and delivery.last_error == "HTTP 500"
    assert len(receiver.calls) == 3
    # A duplicate task finds the delivery finished and sends nothing.
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == webhooks.SKIPPED
    assert len(receiver.calls) == 3


def test_an_unreachable_receiver_is_recorded_not_raised(settings, adviser, customer):
    settings.STEWARD_WEBHOOK_URLS = ["http://127.0.0.1:9/nothing-listens-here"]
    delivery = webhooks.webhook_emit(event="survey.low_score", payload={"x": 1})[0]
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == webhooks.RETRY
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1 and delivery.last_error


def test_without_configured_urls_nothing_is_recorded(adviser, customer, django_capture_on_commit_callbacks):
    _low_score(adviser, customer, django_capture_on_commit_callbacks)
    assert not WebhookDelivery.objects.exists()


def test_flush_retries_deliveries_whose_task_was_lost(receiver, adviser, customer):
    from datetime import timedelta

    from django.utils import timezone

    from steward.surveys.tasks import flush_webhooks

    delivery = webhooks.webhook_emit(event="survey.low_score", payload={"x": 1})[
        0
    ]  # never committed: no task
    assert flush_webhooks() == 0  # too recent: its task may still come
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert flush_webhooks() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and len(receiver.calls) == 1


def test_admin_lists_the_survey_records(admin_client, adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 1})
    for model in (
        "survey",
        "surveyresponse",
        "followup",
        "npscampaign",
        "questionnaireversion",
        "questionwording",
        "webhookdelivery",
    ):
        assert admin_client.get(f"/en/admin/surveys/{model}/").status_code == 200, model
    page = admin_client.get(f"/en/admin/surveys/survey/{survey.pk}/change/")
    assert page.status_code == 200 and survey.token_hash not in page.content.decode()


def test_with_a_broker_a_failed_attempt_asks_celery_to_retry_later(receiver):
    from celery.exceptions import Retry

    from steward.surveys.tasks import WebhookRetry, deliver_webhook

    receiver.statuses = [500]
    delivery = webhooks.webhook_emit(event="survey.low_score", payload={"x": 1})[0]
    # Called as a worker would (not eagerly): one attempt, then a retry with backoff, not a loop.
    with pytest.raises((Retry, WebhookRetry)):
        deliver_webhook(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.state == DeliveryState.PENDING and len(receiver.calls) == 1
    assert webhooks.retry_delay(1).total_seconds() == 30 and webhooks.retry_delay(10).total_seconds() == 3600
