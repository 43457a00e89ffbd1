"""Outbound webhooks: a JSON POST to every URL in STEWARD_WEBHOOK_URLS, signed with HMAC-SHA256.

Each call is a `WebhookDelivery` row written in the transaction of the change that caused it and sent
by a Celery task after the commit, retried with backoff until it succeeds or uses its attempts.

The receiver checks `X-Steward-Signature: sha256=<hex>`, the HMAC-SHA256 with STEWARD_WEBHOOK_SECRET
of `<X-Steward-Timestamp>.<raw body>` (the timestamp lets it refuse old replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from steward.core import timeutil

from .models import DeliveryState, WebhookDelivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Steward-Signature"
TIMESTAMP_HEADER = "X-Steward-Timestamp"
EVENT_HEADER = "X-Steward-Event"
DELIVERY_HEADER = "X-Steward-Delivery"

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"


def sign(body: bytes, timestamp: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(body: bytes, timestamp: str, signature: str, secret: str) -> bool:
    """What a receiver does (and the tests): constant-time comparison of the signature."""
    return hmac.compare_digest(sign(body, timestamp, secret), signature)


def max_attempts() -> int:
    return max(1, int(settings.STEWARD_WEBHOOK_MAX_RETRIES) + 1)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 60 s, 120 s … capped at an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _schedule(delivery_id: int) -> None:
    from .tasks import deliver_webhook

    try:
        deliver_webhook.delay(delivery_id)
    except Exception:
        logger.warning("Webhook delivery %s stays pending: could not queue it", delivery_id, exc_info=True)


@transaction.atomic
def webhook_emit(*, event: str, payload: dict[str, Any]) -> list[WebhookDelivery]:
    """One delivery per configured URL, sent after the surrounding transaction commits."""
    urls = [u for u in settings.STEWARD_WEBHOOK_URLS if u]
    now = timeutil.now()
    deliveries = []
    for url in urls:
        delivery = WebhookDelivery.objects.create(
            event=event, url=url, payload={"event": event, "data": payload}, created_at=now
        )
        delivery_id = delivery.pk
        transaction.on_commit(lambda delivery_id=delivery_id: _schedule(delivery_id))  # type: ignore[misc]
        deliveries.append(delivery)
    return deliveries


@dataclass(frozen=True)
class Attempt:
    outcome: str
    status: int | None = None
    error: str = ""


def _post(delivery: WebhookDelivery, at: datetime) -> Attempt:
    body = json.dumps(delivery.payload, cls=DjangoJSONEncoder, sort_keys=True).encode()
    timestamp = str(int(at.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Steward-Webhook/1",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
    }
    secret = settings.STEWARD_WEBHOOK_SECRET
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, timestamp, secret)
    request = urllib.request.Request(delivery.url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=settings.STEWARD_WEBHOOK_TIMEOUT) as reply:  # noqa: S310
            return Attempt(DELIVERED, status=reply.status)
    except urllib.error.HTTPError as exc:
        return Attempt(RETRY, status=exc.code, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Attempt(RETRY, error=str(exc)[:500] or exc.__class__.__name__)


def webhook_attempt(*, delivery_id: int, at: datetime | None = None) -> str:
    """Make one attempt at a delivery and record it. Returns delivered / retry / failed / skipped."""
    at = at or timeutil.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return SKIPPED
        # The HTTP call is made holding the row lock, so a duplicate task waits and then skips.
        attempt = _post(delivery, at)
        delivery.attempts += 1
        delivery.last_status = attempt.status
        delivery.last_error = attempt.error
        if attempt.outcome == DELIVERED:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = timeutil.now()
            outcome = DELIVERED
        elif delivery.attempts >= max_attempts():
            delivery.state = DeliveryState.FAILED
            outcome = FAILED
            logger.error(
                "Webhook delivery %s failed after %s attempts: %s",
                delivery.pk,
                delivery.attempts,
                attempt.error,
            )
        else:
            outcome = RETRY
        delivery.save(update_fields=["attempts", "last_status", "last_error", "state", "delivered_at"])
    return outcome
