"""A real SMTP conversation: Steward's mail goes through Django's SMTP backend to aiosmtpd on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from steward.cases.services import case_open, case_reply
from steward.mail.identity import case_number_from_message_id, case_number_from_subject, case_token
from steward.notifications.models import MailState, NotificationKind, OutboundMail
from steward.notifications.tasks import send_outbound
from steward.testing import Personas

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=default_policy) for _f, _t, raw in self.received]  # type: ignore[misc]


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check it started, so port 0 cannot be used.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_settings(port: int) -> dict[str, object]:
    """Django's real SMTP backend, plain (no TLS, no login), to a server on loopback."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
    }


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with override_settings(**smtp_settings(port)):
            yield inbox, port
    finally:
        controller.stop()


def test_a_notification_crosses_a_real_smtp_server_intact(staff: Personas, smtp_server) -> None:
    inbox, _port = smtp_server
    case = case_open(
        actor=None,
        customer=staff.customer,
        subject="เครื่องชาร์จไม่ทำงาน",  # a Thai subject survives the header encoding
        description="ชาร์จไม่เข้า",
        owner=staff.adviser,
        external_id="<thai-1@customer.example>",
    )
    received_row = OutboundMail.objects.get(case=case, kind=NotificationKind.CASE_RECEIVED)
    assert send_outbound(received_row.pk) == "sent"
    case_reply(actor=staff.adviser, case=case, body="เราส่งเครื่องชาร์จใหม่ให้แล้ว\n<b>not bold</b>")
    reply_row = OutboundMail.objects.get(case=case, kind=NotificationKind.REPLY)
    assert send_outbound(reply_row.pk) == "sent"

    assert len(inbox.received) == 2
    mail_from, rcpt_tos, _raw = inbox.received[1]
    assert mail_from == "support@steward.localhost"
    assert rcpt_tos == ["somchai@example.com"]
    message = inbox.messages()[1]

    assert case_token(case.number) in message["Subject"]
    assert case_number_from_subject(message["Subject"]) == case.number
    assert "เครื่องชาร์จไม่ทำงาน" in message["Subject"]
    # Long headers may be folded (legal CFWS); clients read the ids, so compare without the fold.
    assert message["Message-ID"].strip() == reply_row.message_id
    assert case_number_from_message_id(message["Message-ID"]) == case.number
    assert message["In-Reply-To"].strip() == received_row.message_id
    assert message["References"].split() == ["<thai-1@customer.example>", received_row.message_id]
    assert message["Content-Language"] == "th"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Auto-Response-Suppress"] == "All"

    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "เราส่งเครื่องชาร์จใหม่ให้แล้ว" in text.get_content()
    assert "<b>not bold</b>" in text.get_content()
    assert "เราส่งเครื่องชาร์จใหม่ให้แล้ว" in html.get_content()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html.get_content()
    assert '<html lang="th">' in html.get_content()

    # The first mail answered the customer's own message.
    first = inbox.messages()[0]
    assert first["In-Reply-To"].strip() == "<thai-1@customer.example>"
    for row in (received_row, reply_row):
        row.refresh_from_db()
        assert row.state == MailState.SENT


def test_a_mail_server_that_is_down_leaves_the_mail_failed_not_lost(staff: Personas) -> None:
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=free_port(),  # nothing listens there: connection refused
        STEWARD_MAIL_MAX_RETRIES=1,
    ):
        assert send_outbound.delay(row.pk).get() == "failed"  # eager: both attempts run now
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.FAILED, 2)
    assert "ConnectionRefusedError" in row.last_error
