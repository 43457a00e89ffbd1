"""The background sender's batches (services.outbound_deliver_many): claimed in one statement, sent over
one SMTP session, marked sent in one statement; each mail's failure stays its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from steward.core.tests.faults import free_port
from steward.notifications import services
from steward.notifications.models import MailState, OutboundMail
from steward.notifications.tests.backends import FLAKY, FlakyBackend

pytestmark = pytest.mark.django_db


def _rows(n: int) -> list[OutboundMail]:
    return [
        services.outbox_enqueue(
            to=f"customer{i}@example.com",
            language="en",
            kind="case_received",
            subject=f"Mail {i}",
            text=f"Body {i}",
            html="",
        )
        for i in range(n)
    ]


def test_a_batch_costs_two_statements_whatever_its_size(django_assert_num_queries):
    rows = _rows(5)
    mail.outbox.clear()
    with django_assert_num_queries(2):  # the claim (with the rows read back) and the "sent" mark
        outcomes = services.outbound_deliver_many(outbound_ids=[r.pk for r in rows])
    assert outcomes == {r.pk: services.Delivery(services.SENT) for r in rows}
    assert [m.subject for m in mail.outbox] == [f"Mail {i}" for i in range(5)]  # in the ids' order
    for row in OutboundMail.objects.filter(pk__in=[r.pk for r in rows]):
        assert (row.state, row.attempts, row.locked_until, row.last_error) == (MailState.SENT, 1, None, "")
        assert row.sent_at is not None


def test_rows_sent_or_held_elsewhere_are_skipped_and_the_rest_sent():
    sent, held, pending = _rows(3)
    services.outbound_deliver(outbound_id=sent.pk)
    now = timezone.now()
    assert services._claim(held.pk, now) is not None  # another sender holds it
    mail.outbox.clear()
    outcomes = services.outbound_deliver_many(outbound_ids=[sent.pk, held.pk, pending.pk, 987654321], now=now)
    assert outcomes[sent.pk].outcome == outcomes[held.pk].outcome == services.SKIPPED
    assert outcomes[987654321].outcome == services.SKIPPED  # no such row
    assert outcomes[pending.pk].outcome == services.SENT
    assert [m.subject for m in mail.outbox] == [pending.subject]
    held.refresh_from_db()
    assert held.state == MailState.PENDING and held.locked_until is not None


@override_settings(EMAIL_BACKEND=FLAKY, STEWARD_MAIL_MAX_RETRIES=3)
def test_a_failure_in_a_batch_is_that_mails_alone():
    first, second, third = _rows(3)
    FlakyBackend.failures_left = 1  # the server drops the first mail's session
    now = timezone.now()
    outcomes = services.outbound_deliver_many(outbound_ids=[first.pk, second.pk, third.pk], now=now)
    assert [outcomes[r.pk].outcome for r in (first, second, third)] == [
        services.RETRY,
        services.SENT,
        services.SENT,
    ]
    first.refresh_from_db()
    assert (first.state, first.attempts, first.locked_until) == (MailState.PENDING, 1, None)
    assert first.next_attempt_at == now + timedelta(seconds=60)
    assert "SMTPServerDisconnected" in first.last_error
    assert [m.subject for m in mail.outbox] == [second.subject, third.subject]


@override_settings(EMAIL_BACKEND="steward.notifications.tests.backends.RefusingBackend")
def test_a_refused_recipient_in_a_batch_fails_at_once():
    rows = _rows(2)
    outcomes = services.outbound_deliver_many(outbound_ids=[r.pk for r in rows])
    assert {d.outcome for d in outcomes.values()} == {services.FAILED}
    assert set(OutboundMail.objects.filter(pk__in=[r.pk for r in rows]).values_list("state", flat=True)) == {
        MailState.FAILED
    }


def test_a_batch_is_one_smtp_session(settings):
    """A real SMTP exchange (aiosmtpd): five mails, one EHLO; a session the server dropped is opened
    again for the next mail."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        pytest.skip("aiosmtpd (a dev dependency) is not installed")

    class Server:
        sessions = 0
        accepted: list[str] = []
        refuse_next = False

        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            Server.sessions += 1
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server, session, envelope):
            if Server.refuse_next:
                Server.refuse_next = False
                return "451 4.3.0 Try again later"
            Server.accepted.append(envelope.rcpt_tos[0])
            return "250 OK"

    port = free_port()
    controller = Controller(Server(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        rows = _rows(5)
        outcomes = services.outbound_deliver_many(outbound_ids=[r.pk for r in rows])
        assert {d.outcome for d in outcomes.values()} == {services.SENT}
        assert Server.sessions == 1
        assert Server.accepted == [f"customer{i}@example.com" for i in range(5)]

        Server.refuse_next = True  # the first mail of the next batch: a transient failure
        again = _rows(3)
        outcomes = services.outbound_deliver_many(outbound_ids=[r.pk for r in again])
        assert [outcomes[r.pk].outcome for r in again] == [services.RETRY, services.SENT, services.SENT]
        assert Server.sessions == 3  # the failed session closed, one more for the rest
    finally:
        controller.stop()
