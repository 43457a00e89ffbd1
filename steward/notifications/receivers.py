"""The outbox's hook into the case event log (connected in NotificationsConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from steward.cases.models import CaseEvent

from .services import outbox_write_for_event

logger = logging.getLogger(__name__)


def write_notifications(sender: Any, *, event: CaseEvent, **kwargs: Any) -> None:
    """Write the event's notifications in the case transaction. No I/O here: sending is after commit.

    A savepoint keeps a notification fault (a template error) from undoing the case change itself:
    the adviser's reply is recorded either way, and the fault is logged as an error.
    """
    try:
        with transaction.atomic():
            outbox_write_for_event(event=event)
    except Exception:
        logger.exception("Notifications for case event %s (%s) could not be written", event.pk, event.kind)
