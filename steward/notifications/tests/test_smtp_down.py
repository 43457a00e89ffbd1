"""Fault: the mail server is down. Mail waits in the outbox, is retried with growing delays, and is sent
once (exactly once) when a real SMTP server (aiosmtpd on loopback) answers again.

The clock is passed in (`now=`), so the backoff is checked without sleeping: the periodic flush at
each moment decides what is due, as `flush_outbox` does every minute in production.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from steward.core import timeutil
from steward.notifications import services
from steward.notifications.models import MailState, NotificationKind, OutboundMail
from steward.testing import Personas

from .test_smtp_roundtrip import Inbox, free_port, smtp_settings

pytestmark = pytest.mark.django_db


class BusyInbox(Inbox):
    """A server that is up but refuses mail for now (421), as a mail server does while overloaded."""

    busy = True

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        if self.busy:
            return "421 4.3.2 Service not available, try again later"
        return await super().handle_DATA(server, session, envelope)


def test_mail_is_retried_with_backoff_while_the_server_is_down_and_sent_once_when_it_returns(
    staff: Personas,
) -> None:
    port = free_port()
    inbox = BusyInbox()
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    assert row.state == MailState.PENDING  # the test's transaction never commits: no task sent it
    backoff = timedelta(seconds=60)
    t0 = timeutil.now()

    def attempts_at(now) -> tuple[int, str, int]:
        sent = services.outbox_flush(now=now)
        row.refresh_from_db()
        return sent, row.state, row.attempts

    with override_settings(
        **smtp_settings(port),
        EMAIL_TIMEOUT=10,
        STEWARD_MAIL_RETRY_BACKOFF=int(backoff.total_seconds()),
        STEWARD_MAIL_RETRY_BACKOFF_MAX=3600,
        STEWARD_MAIL_MAX_RETRIES=5,
    ):
        # 1. Nothing listens on the port: connection refused; the row waits one backoff.
        assert attempts_at(t0) == (0, MailState.PENDING, 1)
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at == t0 + backoff
        assert attempts_at(t0 + backoff - timedelta(seconds=1)) == (0, MailState.PENDING, 1)  # not yet due

        # 2. Still down at the second attempt; the delay doubles.
        t1 = t0 + backoff
        assert attempts_at(t1) == (0, MailState.PENDING, 2)
        assert row.next_attempt_at == t1 + 2 * backoff

        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            # 3. The server is back but busy (421 to the message): a transient answer, retried too.
            t2 = t1 + 2 * backoff
            assert attempts_at(t2 - timedelta(seconds=1)) == (0, MailState.PENDING, 2)
            assert attempts_at(t2) == (0, MailState.PENDING, 3)
            assert "421" in row.last_error
            assert row.next_attempt_at == t2 + 4 * backoff
            assert inbox.received == []

            # 4. It accepts mail again: the next due flush sends the row, once.
            inbox.busy = False
            t3 = t2 + 4 * backoff
            assert attempts_at(t3) == (1, MailState.SENT, 4)
            assert row.last_error == "" and row.sent_at is not None
            assert attempts_at(t3 + timedelta(hours=2)) == (0, MailState.SENT, 4)
        finally:
            controller.stop()

    assert len(inbox.received) == 1
    (message,) = inbox.messages()
    assert message["Message-ID"].strip() == row.message_id
    assert inbox.received[0][1] == [row.to]
