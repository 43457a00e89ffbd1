"""The outbox's hook into the case event log (connected in NotificationsConfig.ready)."""

from __future__ import annotations

import logging
from typing import Any

from steward.cases.models import CaseEvent, Message

from .notices import Hints
from .services import outbox_write_for_event

logger = logging.getLogger(__name__)


def write_notifications(
    sender: Any, *, event: CaseEvent, message: Message | None = None, opening: bool = False, **kwargs: Any
) -> None:
    """Write the event's notifications in the case transaction. No I/O here: sending is after commit.

    A fault (a template error) never undoes the case change itself: the adviser's reply is recorded
    either way, and the fault is logged as an error. The savepoint that makes this so is taken by
    outbox_write_for_event around its writes, only when the event notifies someone (issue 9).
    `message` and `opening` are what the service knows already (notices.Hints).
    """
    try:
        outbox_write_for_event(event=event, hints=Hints(message=message, opening=opening))
    except Exception:
        logger.exception("Notifications for case event %s (%s) could not be written", event.pk, event.kind)
