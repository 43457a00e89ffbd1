"""Sending the outbox: broker outages, retries with backoff, failure on the case page, no duplicates."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from steward.cases.models import Case
from steward.cases.services import case_reply
from steward.notifications import services
from steward.notifications.models import MailState, NotificationKind, OutboundMail
from steward.notifications.selectors import failed_mail_for_case
from steward.notifications.tasks import flush_outbox, send_outbound
from steward.notifications.tests.backends import FLAKY, FlakyBackend
from steward.testing import Personas

pytestmark = pytest.mark.django_db


def reply(staff: Personas, capture, body: str = "We replaced the charger.") -> OutboundMail:
    with capture(execute=True):
        case_reply(actor=staff.adviser, case=staff.case, body=body)
    return OutboundMail.objects.get(case=staff.case, kind=NotificationKind.REPLY)


def test_a_committed_change_is_sent_after_the_commit(
    staff: Personas, django_capture_on_commit_callbacks
) -> None:
    row = reply(staff, django_capture_on_commit_callbacks)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.locked_until) == (MailState.SENT, 1, None)
    assert row.sent_at is not None
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["somchai@example.com"] and sent.subject == row.subject


def test_every_mail_says_it_is_automatic_so_auto_responders_stay_quiet(
    staff: Personas, django_capture_on_commit_callbacks
) -> None:
    reply(staff, django_capture_on_commit_callbacks)
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=default_policy)
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["Content-Language"] == "th"
    assert parsed["From"] == "support@steward.localhost"


def test_a_broker_outage_keeps_the_mail_pending_and_the_flush_sends_it(
    staff: Personas, django_capture_on_commit_callbacks, caplog
) -> None:
    with mock.patch.object(send_outbound, "delay", side_effect=OperationalError("Connection refused")):
        row = reply(staff, django_capture_on_commit_callbacks)  # the request does not fail
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.PENDING, 0)
    assert mail.outbox == []
    assert "flush_outbox will send it" in caplog.text

    assert flush_outbox() == 2  # the reply, and the case-received mail of the persona case
    row.refresh_from_db()
    assert row.state == MailState.SENT
    assert [m.subject for m in mail.outbox].count(row.subject) == 1
    assert flush_outbox() == 0  # nothing left


def test_a_task_run_twice_sends_the_mail_once(staff: Personas, django_capture_on_commit_callbacks) -> None:
    row = reply(staff, django_capture_on_commit_callbacks)
    assert send_outbound(row.pk) == services.SKIPPED
    assert send_outbound.delay(row.pk).get() == services.SKIPPED
    assert flush_outbox() == 1  # only the persona case's received mail, never the reply again
    assert len([m for m in mail.outbox if m.subject == row.subject]) == 1


def test_a_row_another_sender_holds_is_left_alone_until_its_lease_runs_out(staff: Personas) -> None:
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    now = timezone.now()
    assert services._claim(row.pk, now)  # a worker took it, then died mid-send
    assert services.outbound_deliver(outbound_id=row.pk, now=now).outcome == services.SKIPPED
    assert services.outbox_flush(now=now) == 0
    later = now + services.send_lease() + timedelta(seconds=1)
    assert services.outbox_flush(now=later) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.SENT, 2)
    assert len(mail.outbox) == 1


@override_settings(EMAIL_BACKEND=FLAKY, STEWARD_MAIL_MAX_RETRIES=3)
def test_a_transient_failure_is_retried_and_then_sent(
    staff: Personas, django_capture_on_commit_callbacks
) -> None:
    FlakyBackend.failures_left = 2
    row = reply(staff, django_capture_on_commit_callbacks)  # eager Celery runs the retries at once
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (MailState.SENT, 3, "")
    assert len(mail.outbox) == 1


@override_settings(EMAIL_BACKEND=FLAKY, STEWARD_MAIL_MAX_RETRIES=2)
def test_after_the_last_retry_the_mail_is_failed_and_shown_on_the_case_page(
    staff: Personas, django_capture_on_commit_callbacks, client
) -> None:
    FlakyBackend.failures_left = -1
    row = reply(staff, django_capture_on_commit_callbacks, body="Your refund is on its way.")
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.FAILED, 3)
    assert "SMTPServerDisconnected" in row.last_error
    assert FlakyBackend.calls == 3
    assert mail.outbox == []
    assert list(failed_mail_for_case(staff.case)) == [row]
    assert flush_outbox() == 0  # a failed row is not retried behind anyone's back

    client.force_login(staff.adviser)
    page = client.get(reverse("cases:detail", args=[staff.case.pk])).content.decode()
    assert 'data-testid="failed-mail"' in page
    # In the page's language (the catalogs may be compiled): the heading as the adviser reads it.
    lang = page.split('<html lang="', 1)[1].split('"', 1)[0]
    with translation.override(lang):
        assert gettext("Mail to the customer could not be sent") in page
    assert "somchai@example.com" in page and "SMTPServerDisconnected" in page


def test_a_case_page_without_failed_mail_shows_no_notice(staff: Personas, client) -> None:
    client.force_login(staff.adviser)
    page = client.get(reverse("cases:detail", args=[staff.case.pk])).content.decode()
    assert 'data-testid="failed-mail"' not in page


@override_settings(EMAIL_BACKEND=FLAKY, STEWARD_MAIL_MAX_RETRIES=5)
def test_backoff_grows_exponentially_between_attempts(staff: Personas) -> None:
    FlakyBackend.failures_left = -1
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    now = timezone.now()
    delays = []
    for _ in range(3):
        assert services.outbound_deliver(outbound_id=row.pk, now=now).outcome == services.RETRY
        row.refresh_from_db()
        delays.append(row.next_attempt_at - now)
        assert services.outbox_flush(now=now) == 0  # not due yet
        now = row.next_attempt_at
    assert delays == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]


@override_settings(EMAIL_BACKEND="steward.notifications.tests.backends.RefusingBackend")
def test_a_refused_recipient_fails_at_once(staff: Personas) -> None:
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    assert services.outbound_deliver(outbound_id=row.pk).outcome == services.FAILED
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.FAILED, 1)


@override_settings(EMAIL_BACKEND=FLAKY, STEWARD_MAIL_MAX_RETRIES=0)
def test_a_failed_mail_is_shown_in_the_admin_and_can_be_sent_again(
    staff: Personas, client, django_capture_on_commit_callbacks
) -> None:
    FlakyBackend.failures_left = 1
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    services.outbound_deliver(outbound_id=row.pk)
    row.refresh_from_db()
    assert row.state == MailState.FAILED

    admin = get_user_model().objects.create_superuser("root", "root@staff.example", "x-very-long-pass")
    client.force_login(admin)
    changelist = reverse("admin:notifications_outboundmail_changelist")
    page = client.get(changelist, {"state__exact": "failed"}).content.decode()
    assert "somchai@example.com" in page and "SMTPServerDisconnected" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "send_again", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == MailState.SENT
    assert len(mail.outbox) == 1


def test_outbox_enqueue_is_public_for_mail_without_a_case(django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        row = services.outbox_enqueue(
            to="ana@example.com",
            language="es",
            kind=NotificationKind.PORTAL_SIGN_IN,
            subject="Tu enlace\nde acceso",
            text="https://example.com/link",
            html="<p>link</p>",
        )
    row.refresh_from_db()
    assert row.case is None and row.state == MailState.SENT
    assert row.subject == "Tu enlace de acceso"  # never a header with a line break
    assert row.message_id.startswith("<") and row.message_id.endswith(">")
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=default_policy)
    assert parsed["Message-ID"].strip() == row.message_id and parsed["Auto-Submitted"] == "auto-generated"


def test_outbox_enqueue_refuses_a_bad_address() -> None:
    from steward.core.errors import DomainError

    with pytest.raises(DomainError):
        services.outbox_enqueue(
            to="not-an-address", language="en", kind="other", subject="s", text="t", html=""
        )


def test_the_periodic_tasks_are_on_the_beat_schedule() -> None:
    from steward.notifications.tasks import remind_due_commitments

    scheduled = {entry["task"] for entry in celery_app.conf.beat_schedule.values()}
    assert {flush_outbox.name, remind_due_commitments.name} <= scheduled
    assert flush_outbox.name == "steward.notifications.tasks.flush_outbox"


def test_case_has_no_failed_mail_query_per_row(staff: Personas, django_assert_max_num_queries) -> None:
    case = Case.objects.get(pk=staff.case.pk)
    with django_assert_max_num_queries(1):
        list(failed_mail_for_case(case))


@override_settings(EMAIL_BACKEND=FLAKY)
def test_on_a_worker_a_transient_failure_goes_to_celerys_retry_with_backoff(staff: Personas) -> None:
    """Outside eager mode the task hands the SMTP error to autoretry_for, which schedules the retry
    with the same backoff the row records for the flush."""
    FlakyBackend.failures_left = -1
    row = OutboundMail.objects.get(case=staff.case, kind=NotificationKind.CASE_RECEIVED)
    scheduled: list[dict] = []

    def fake_retry(**kwargs):
        scheduled.append(kwargs)
        return Retry("scheduled", when=kwargs.get("countdown"))

    with mock.patch.object(send_outbound, "retry", side_effect=fake_retry), pytest.raises(Retry):
        send_outbound(row.pk)  # called as a worker would: not eager
    row.refresh_from_db()
    assert (row.state, row.attempts) == (MailState.PENDING, 1)
    assert isinstance(scheduled[0]["exc"], smtplib.SMTPServerDisconnected)
    assert scheduled[0]["countdown"] == services.retry_delay(1).total_seconds() == 60
    assert row.next_attempt_at - row.created_at >= timedelta(seconds=60)


@override_settings(EMAIL_BACKEND=FLAKY)
def test_a_flush_stops_at_the_first_transient_failure_and_the_next_one_carries_on(
    staff: Personas, django_capture_on_commit_callbacks
) -> None:
    with mock.patch.object(send_outbound, "delay", side_effect=OperationalError("Connection refused")):
        reply(staff, django_capture_on_commit_callbacks)
    assert OutboundMail.objects.filter(state=MailState.PENDING).count() == 2
    FlakyBackend.failures_left = 1  # the mail server drops the first connection, then recovers
    now = timezone.now()
    assert services.outbox_flush(now=now) == 0
    assert FlakyBackend.calls == 1  # the second row did not wait out the same failure
    assert services.outbox_flush(now=now) == 1  # the other row; the failed one waits for its backoff
    assert services.outbox_flush(now=now + services.retry_delay(1)) == 1
    assert OutboundMail.objects.filter(state=MailState.SENT).count() == 2
