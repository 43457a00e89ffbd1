from __future__ import annotations

import pytest
from django.conf import settings

from steward.accounts.services import user_set_language
from steward.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_sets_the_users_language_and_prefix(client, adviser):
    user_set_language(user=adviser, language="th")
    r = client.post("/en/accounts/login/", {"username": "adviser", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith("/th/")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "th"


def test_pages_render_in_each_language_by_prefix(client, adviser):
    client.force_login(adviser)
    for lang in ("en", "th", "ru", "es"):
        r = client.get(f"/{lang}/cases/")
        assert r.status_code == 200 and f'lang="{lang}"' in r.content.decode()


def test_language_switch_saves_preference_and_keeps_the_page(client, adviser):
    client.force_login(adviser)
    r = client.post("/en/accounts/language/", {"language": "ru", "next": "/en/cases/?scope=all"})
    assert r.status_code == 302 and r["Location"] == "/ru/cases/?scope=all"
    adviser.refresh_from_db()
    assert adviser.language == "ru"


def test_language_switch_refuses_foreign_redirects(client):
    r = client.post("/en/accounts/language/", {"language": "es", "next": "https://evil.example/"})
    assert r.status_code == 302 and "evil" not in r["Location"]


def test_unprefixed_url_redirects_to_cookie_language(client, adviser):
    client.force_login(adviser)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    r = client.get("/cases/")
    assert r.status_code == 302 and r["Location"].startswith("/es/cases/")


def test_wrong_password_shows_an_error_and_lockout_after_five(client, adviser):
    for _ in range(4):
        r = client.post("/en/accounts/login/", {"username": "adviser", "password": "wrong"})
        assert r.status_code == 200 and "correct username and password" in r.content.decode()
    client.post(
        "/en/accounts/login/", {"username": "adviser", "password": "wrong"}
    )  # the fifth failure locks
    r = client.post("/en/accounts/login/", {"username": "adviser", "password": PASSWORD})
    assert r.status_code == 429
    assert "Too many failed sign-in attempts" in r.content.decode()


def test_logout_requires_post(client, adviser):
    client.force_login(adviser)
    assert client.get("/en/accounts/logout/").status_code == 405
    assert client.post("/en/accounts/logout/").status_code == 302


def test_preferences_page(client, adviser):
    client.force_login(adviser)
    assert client.get("/en/accounts/preferences/").status_code == 200


def test_absences_page_is_for_managers_and_refuses_overlaps(client, adviser, manager):
    client.force_login(adviser)
    assert client.get("/en/accounts/absences/").status_code == 403
    client.force_login(manager)
    data = {
        "user": adviser.pk,
        "starts_at": "2030-01-10T08:00",
        "ends_at": "2030-01-10T18:00",
        "reason": "Course",
    }
    assert client.post("/en/accounts/absences/", data).status_code == 302
    page = client.get("/en/accounts/absences/").content.decode()
    assert "Course" in page and "Backup" in page
    r = client.post(
        "/en/accounts/absences/", {**data, "starts_at": "2030-01-10T12:00", "ends_at": "2030-01-10T20:00"}
    )
    assert r.status_code == 400 and "overlaps an existing absence" in r.content.decode()


def test_admin_refuses_a_backup_who_cannot_own_cases(client, personas):
    from steward.accounts.services import user_create

    admin = user_create(username="root", role="admin")
    client.force_login(admin)
    adviser = personas.adviser
    page = client.get(f"/en/admin/accounts/user/{adviser.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions")
    }
    data.update(
        {"backup": personas.sector_member.pk, "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    r = client.post(f"/en/admin/accounts/user/{adviser.pk}/change/", data)
    assert r.status_code == 200 and "The backup must be an adviser or a manager." in r.content.decode()
    adviser.refresh_from_db()
    assert adviser.backup == personas.backup
    assert client.get("/en/admin/accounts/absence/add/").status_code == 403
