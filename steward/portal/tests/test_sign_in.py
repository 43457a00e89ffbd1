"""Magic-link sign-in: single use, expiry, forged links, enumeration-safe answers, throttles."""

from __future__ import annotations

import re
import smtplib
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import TestCase, override_settings
from django.utils import timezone

from steward.notifications.models import MailState, NotificationKind, OutboundMail
from steward.portal.models import PortalLoginToken
from steward.portal.services import hash_token, login_token_create
from steward.portal.session import SESSION_KEY
from steward.portal.tasks import purge_login_tokens_task

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/(\w\w)/portal/sign-in/link/([\w-]+)/)")


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.STEWARD_BASE_URL = "http://testserver"


def link_parts(sent: Any) -> tuple[str, str, str]:
    """(path, language, raw token) of the sign-in link in a sent mail."""
    match = LINK.search(str(sent.body))
    assert match is not None, sent.body
    path, lang, token = match.groups()
    return path, lang, token


def ask_link(client, email, **extra):
    # The mail goes through the outbox and is sent when the request's transaction commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/en/portal/sign-in/", {"email": email}, **extra)


def test_known_address_gets_a_link_in_the_customers_language_as_text_and_html(client, customer):
    response = ask_link(client, "Somchai@Example.com")
    assert response.status_code == 302 and response["Location"] == "/en/portal/sign-in/sent/"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["somchai@example.com"]
    path, lang, token = link_parts(sent)
    assert lang == "th"  # the customer's language, not the page's
    html, mime = sent.alternatives[0]  # type: ignore[union-attr]
    assert mime == "text/html" and path in str(html)
    # Only the hash is stored: the raw token appears nowhere in the database.
    row = PortalLoginToken.objects.get(customer=customer)
    assert row.token_hash == hash_token(token) and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(minutes=30)


def test_unknown_address_gets_the_same_answer_and_no_mail(client, customer):
    known = ask_link(client, "somchai@example.com")
    unknown = ask_link(client, "nobody@example.com")
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert len(mail.outbox) == 1
    page = client.get(unknown["Location"])
    assert "If we know this address, we sent a sign-in link to it." in page.content.decode()


def test_invalid_address_is_a_form_error_not_a_500(client):
    response = ask_link(client, "not an address")
    assert response.status_code == 400
    assert 'class="p-error"' in response.content.decode()


def test_get_on_the_link_does_not_use_it_and_post_signs_in_once(client, customer):
    ask_link(client, "somchai@example.com")
    path = link_parts(mail.outbox[0])[0]
    page = client.get(path)
    assert page.status_code == 200
    assert PortalLoginToken.objects.get().used_at is None  # a mail scanner's prefetch changes nothing
    old_session = client.session.session_key

    response = client.post(path)
    assert response.status_code == 302 and response["Location"] == "/th/portal/"
    assert response.cookies["django_language"].value == "th"
    assert client.session[SESSION_KEY] == customer.pk
    assert client.session.session_key != old_session  # rotated on sign-in
    assert client.get("/th/portal/").status_code == 200

    again = client.post(path.replace("/th/", "/en/", 1))
    assert again.status_code == 410
    body = again.content.decode()
    assert "This sign-in link has already been used." in body
    assert 'name="email"' in body  # a form to ask for a new link


def test_expired_link_shows_a_clear_page_with_a_form(client, customer):
    raw = login_token_create(customer=customer, at=timezone.now() - timedelta(minutes=31))
    for method in (client.get, client.post):
        response = method(f"/en/portal/sign-in/link/{raw}/")
        assert response.status_code == 410
        assert "This sign-in link has expired." in response.content.decode()
    assert SESSION_KEY not in client.session


@override_settings(STEWARD_PORTAL_LINK_MINUTES=5)
def test_link_lifetime_comes_from_the_setting(customer):
    now = timezone.now()
    login_token_create(customer=customer, at=now)
    assert PortalLoginToken.objects.get().expires_at == now + timedelta(minutes=5)


@pytest.mark.parametrize("token", ["forged", "a" * 43, "../../etc", "%00"])
def test_forged_link_is_refused_clearly(client, customer, token):
    login_token_create(customer=customer)
    response = client.post(f"/en/portal/sign-in/link/{token}/")
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert "This sign-in link is not valid." in response.content.decode()
    assert SESSION_KEY not in client.session


def test_requests_for_one_address_are_throttled(client, customer):
    for _ in range(5):
        assert ask_link(client, "somchai@example.com").status_code == 302
    refused = ask_link(client, "SOMCHAI@example.com")
    assert refused.status_code == 429
    assert len(mail.outbox) == 5


@override_settings(STEWARD_PORTAL_LIMIT_PER_IP=3)
def test_requests_from_one_client_are_throttled_whatever_the_address(client, customer):
    for i in range(3):
        assert ask_link(client, f"someone{i}@example.com").status_code == 302
    assert ask_link(client, "somchai@example.com").status_code == 429
    assert len(mail.outbox) == 0
    # Another client address is not affected.
    assert ask_link(client, "somchai@example.com", REMOTE_ADDR="10.0.0.9").status_code == 302


@override_settings(STEWARD_PORTAL_LINK_LIMIT_PER_IP=3)
def test_link_guessing_is_throttled(client, customer):
    for i in range(3):
        assert client.get(f"/en/portal/sign-in/link/guess{i}/").status_code == 400
    assert client.get("/en/portal/sign-in/link/guess9/").status_code == 429


def test_sign_out_ends_the_customer_session(client, customer):
    raw = login_token_create(customer=customer)
    client.post(f"/en/portal/sign-in/link/{raw}/")
    assert client.get("/en/portal/").status_code == 200
    assert client.get("/en/portal/sign-out/").status_code == 405  # sign-out is a POST
    response = client.post("/en/portal/sign-out/")
    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert client.get("/en/portal/")["Location"] == "/en/portal/sign-in/"


def test_anonymous_visitor_is_sent_to_sign_in(client, case):
    from steward.portal.services import case_key

    response = client.get("/en/portal/")
    assert response.status_code == 302 and response["Location"] == "/en/portal/sign-in/"
    # Any other page is kept as the place to come back to after signing in.
    for path in ("/en/portal/new/", f"/en/portal/cases/{case_key(case)}/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/en/portal/sign-in/?" + urlencode({"next": path})


def test_staff_session_does_not_open_the_portal(client, adviser):
    client.force_login(adviser)
    assert client.get("/en/portal/")["Location"] == "/en/portal/sign-in/"


def test_a_mail_server_that_is_down_gives_the_same_answer_not_a_500(client, customer, caplog):
    with mock.patch(
        "steward.portal.services.send_login_link", side_effect=smtplib.SMTPServerDisconnected("down")
    ) as send:
        response = ask_link(client, "somchai@example.com")
    assert response.status_code == 302 and response["Location"] == "/en/portal/sign-in/sent/"
    assert send.call_count >= 1
    assert "could not send a portal sign-in link" in caplog.text


def test_expired_tokens_are_purged_and_fresh_ones_kept(customer):
    now = timezone.now()
    login_token_create(customer=customer, at=now - timedelta(days=3))
    fresh = login_token_create(customer=customer, at=now)
    assert purge_login_tokens_task() == 1
    assert list(PortalLoginToken.objects.values_list("token_hash", flat=True)) == [hash_token(fresh)]


def test_the_sign_in_mail_goes_through_the_outbox_with_automatic_headers(client, customer):
    ask_link(client, "somchai@example.com")
    row = OutboundMail.objects.get(kind=NotificationKind.PORTAL_SIGN_IN)
    assert row.kind == NotificationKind.PORTAL_SIGN_IN and row.case is None
    assert row.state == MailState.SENT and row.language == "th" and row.to == "somchai@example.com"
    sent = mail.outbox[-1]
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    assert sent.extra_headers["Message-ID"] == row.message_id
    assert link_parts(sent)[2]  # the link is in the mail that went out


def test_a_failing_mail_server_leaves_a_failed_outbox_row_and_the_same_answer(client, customer):
    with mock.patch(
        "django.core.mail.backends.locmem.EmailBackend.send_messages",
        side_effect=smtplib.SMTPServerDisconnected("down"),
    ):
        response = ask_link(client, "somchai@example.com")
    assert response.status_code == 302 and response["Location"] == "/en/portal/sign-in/sent/"
    row = OutboundMail.objects.get(kind=NotificationKind.PORTAL_SIGN_IN)
    assert row.state == MailState.FAILED and "down" in row.last_error  # visible in the admin
    assert PortalLoginToken.objects.filter(customer=customer).count() == 1
