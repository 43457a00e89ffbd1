"""IMAP polling: fetch unseen mail, store it, and only then flag it \\Seen on the server."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessageFlags

from .services import mail_receive

logger = logging.getLogger(__name__)


def _mailbox() -> BaseMailBox:
    host, port = settings.STEWARD_IMAP_HOST, settings.STEWARD_IMAP_PORT
    # A timeout on every socket operation: a server (or a NAT on the way) that goes silent without
    # closing the connection made the poll wait forever, and with it the worker and every later poll.
    timeout = settings.STEWARD_IMAP_TIMEOUT
    box: BaseMailBox = (
        MailBox(host, port, timeout=timeout)
        if settings.STEWARD_IMAP_SSL
        else MailBoxUnencrypted(host, port, timeout=timeout)
    )
    return box.login(settings.STEWARD_IMAP_USER, settings.STEWARD_IMAP_PASSWORD, settings.STEWARD_IMAP_FOLDER)


def _fetch_raw(box: BaseMailBox, uid: str) -> bytes | None:
    """The message's exact bytes; BODY.PEEK leaves it unseen."""
    status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _flag_seen(box: BaseMailBox, uid: str) -> Callable[[], None]:
    def flag() -> None:
        box.flag(uid, MailMessageFlags.SEEN, True)

    return flag


@shared_task(name="steward.mail.tasks.poll_imap")
def poll_imap() -> dict[str, Any]:
    """Receive every unseen message in the configured folder, up to STEWARD_IMAP_BATCH a run.

    A message is flagged \\Seen once `mail_receive` committed (quarantined mail is stored too). When
    `mail_receive` fails unexpectedly, the message stays unseen and the next poll tries it again; a
    message received twice is recognised by its Message-ID and recorded as a duplicate.
    """
    if not settings.STEWARD_IMAP_HOST:
        return {"skipped": "STEWARD_IMAP_HOST is not set"}
    if transaction.get_connection().in_atomic_block:
        # Flags must follow each message's own commit, not an outer transaction that may roll back.
        raise RuntimeError("poll_imap must run outside a database transaction")
    stored: list[str] = []
    failed: list[str] = []
    with _mailbox() as box:
        uids = box.uids(AND(seen=False))[: settings.STEWARD_IMAP_BATCH]
        for uid in uids:
            raw = _fetch_raw(box, uid)
            if raw is None:
                failed.append(uid)
                continue
            try:
                inbound = mail_receive(raw=raw)
            except Exception:
                logger.exception(
                    "IMAP message %s could not be received; it stays unseen for the next poll", uid
                )
                failed.append(uid)
                continue
            # Runs at once when mail_receive committed (the task runs outside any transaction).
            transaction.on_commit(_flag_seen(box, uid))
            stored.append(uid)
            logger.info("IMAP message %s: %s %s", uid, inbound.state, inbound.reason[:200])
    return {"stored": len(stored), "failed": len(failed)}
