"""Sessions and API tokens (issue 10, ASVS V7.2.4 / V7.4.1 / V7.4.2): a new session at sign-in, ended
at sign-out and on deactivation; API tokens revocable by their user and by a manager (UI and API)."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from steward.accounts.models import UserSession
from steward.accounts.services import token_revoke, user_set_active
from steward.core.errors import NotPermitted
from steward.testing import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # throttles and axes counters
    yield
    cache.clear()


def _sign_in(client: Client, username: str) -> None:
    r = client.post("/en/accounts/login/", {"username": username, "password": PASSWORD})
    assert r.status_code == 302, r.status_code


def test_sign_in_gives_a_new_session_key(client, adviser):
    client.get("/en/accounts/login/")
    client.session.save()
    before = client.session.session_key
    _sign_in(client, "adviser")
    after = client.session.session_key
    assert before and after and before != after
    assert not Session.objects.filter(session_key=before).exists()
    assert UserSession.objects.filter(user=adviser, session_key=after).exists()


def test_sign_out_ends_the_session(client, adviser):
    _sign_in(client, "adviser")
    key = client.session.session_key
    assert client.post("/en/accounts/logout/").status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    assert client.get("/en/cases/").status_code == 302  # back to sign-in


def test_deactivation_ends_every_session_and_token(adviser, manager):
    browsers = [Client(), Client()]
    for browser in browsers:
        _sign_in(browser, "adviser")
    token = Token.objects.create(user=adviser)
    user_set_active(actor=manager, user=adviser, active=False)
    assert not UserSession.objects.filter(user=adviser).exists()
    for browser in browsers:
        assert not Session.objects.filter(session_key=browser.session.session_key).exists()
        assert browser.get("/en/cases/").status_code == 302
    assert not Token.objects.filter(key=token.key).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/cases/").status_code == 401


def test_unticking_active_in_the_admin_ends_sessions_too(adviser):
    browser = Client()
    _sign_in(browser, "adviser")
    Token.objects.create(user=adviser)
    adviser.is_active = False
    adviser.save()  # what the Django admin does
    assert not Session.objects.filter(session_key=browser.session.session_key).exists()
    assert not Token.objects.filter(user=adviser).exists()


def test_only_managers_deactivate_and_nobody_deactivates_themself(adviser, manager, backup):
    from steward.core.errors import DomainError

    with pytest.raises(NotPermitted):
        user_set_active(actor=adviser, user=backup, active=False)
    with pytest.raises(DomainError):
        user_set_active(actor=manager, user=manager, active=False)


def test_users_page_deactivates_and_revokes(client, personas):
    adviser, manager = personas.adviser, personas.manager
    Token.objects.create(user=adviser)
    client.force_login(personas.adviser)
    assert client.get("/en/accounts/users/").status_code == 404
    assert client.post(f"/en/accounts/users/{personas.backup.pk}/active/", {"active": "0"}).status_code == 404
    client.force_login(manager)
    page = client.get("/en/accounts/users/")
    assert page.status_code == 200 and "adviser" in page.content.decode()
    assert client.post(f"/en/accounts/users/{adviser.pk}/token/revoke/").status_code == 302
    assert not Token.objects.filter(user=adviser).exists()
    assert client.post(f"/en/accounts/users/{adviser.pk}/active/", {"active": "0"}).status_code == 302
    adviser.refresh_from_db()
    assert not adviser.is_active
    assert client.post(f"/en/accounts/users/{adviser.pk}/active/", {"active": "1"}).status_code == 302
    adviser.refresh_from_db()
    assert adviser.is_active


def test_user_revokes_own_token_in_preferences(client, adviser):
    Token.objects.create(user=adviser)
    client.force_login(adviser)
    assert "Revoke my API token" in client.get("/en/accounts/preferences/").content.decode()
    assert client.post("/en/accounts/token/revoke/").status_code == 302
    assert not Token.objects.filter(user=adviser).exists()
    assert "You have no API token" in client.get("/en/accounts/preferences/").content.decode()


def test_api_token_revocation_by_its_user(adviser):
    api = APIClient()
    key = api.post("/api/v1/auth/token/", {"username": "adviser", "password": PASSWORD}).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    assert api.delete("/api/v1/auth/token/current/").status_code == 204
    assert api.get("/api/v1/cases/").status_code == 401


def test_api_token_revocation_by_a_manager_only(adviser, manager, backup):
    token = Token.objects.create(user=adviser)
    api = APIClient()
    api.force_authenticate(backup)
    assert api.delete(f"/api/v1/users/{adviser.pk}/token/").status_code == 404
    assert Token.objects.filter(key=token.key).exists()
    api.force_authenticate(manager)
    assert api.delete(f"/api/v1/users/{adviser.pk}/token/").status_code == 204
    assert not Token.objects.filter(key=token.key).exists()
    assert api.delete("/api/v1/users/999999/token/").status_code == 404


def test_token_revoke_service_refuses_others(adviser, backup):
    Token.objects.create(user=adviser)
    with pytest.raises(NotPermitted):
        token_revoke(actor=backup, user=adviser)


def test_sixth_attempt_is_refused_even_when_wrong_and_while_locked(client, adviser):
    for _ in range(4):
        assert client.post("/en/accounts/login/", {"username": "adviser", "password": "x"}).status_code == 200
    # The fifth failure locks (its own answer is already the lockout page); the sixth is refused.
    assert client.post("/en/accounts/login/", {"username": "adviser", "password": "x"}).status_code == 429
    assert client.post("/en/accounts/login/", {"username": "adviser", "password": "x"}).status_code == 429
    assert (
        client.post("/en/accounts/login/", {"username": "adviser", "password": PASSWORD}).status_code == 429
    )
    assert "_auth_user_id" not in client.session
