"""The audit log: written by signals and services, append-only, read by managers and administrators."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from steward.accounts.models import Role
from steward.accounts.services import token_revoke, user_set_active, user_set_backup
from steward.audit.models import Action, AuditEntry
from steward.audit.services import audit_record
from steward.testing import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))


def test_sign_in_failures_lockout_and_sign_out_are_logged(client, adviser):
    AuditEntry.objects.all()  # nothing yet from the personas
    for _ in range(5):
        client.post(
            "/en/accounts/login/", {"username": "adviser", "password": "wrong"}, REMOTE_ADDR="10.1.2.3"
        )
    failed = AuditEntry.objects.filter(action=Action.LOGIN_FAILED)
    assert failed.count() == 5
    entry = failed.first()
    assert entry is not None and entry.target_name == "adviser" and entry.ip_address == "10.1.2.3"
    assert "wrong" not in str(entry.details)  # never the password
    assert AuditEntry.objects.filter(action=Action.LOCKED_OUT, target_name="adviser").count() == 1
    cache.clear()
    from axes.utils import reset

    reset(username="adviser")
    assert (
        client.post("/en/accounts/login/", {"username": "adviser", "password": PASSWORD}).status_code == 302
    )
    login = AuditEntry.objects.get(action=Action.LOGIN)
    assert login.actor == adviser and login.actor_name == "adviser"
    client.post("/en/accounts/logout/")
    assert AuditEntry.objects.filter(action=Action.LOGOUT, actor=adviser).exists()


def test_role_activation_backup_and_token_changes_are_logged(adviser, manager, backup, other_adviser):
    adviser.role = Role.MANAGER
    adviser._audit_actor = manager
    adviser.save()
    role = AuditEntry.objects.get(action=Action.ROLE_CHANGED, target_id=str(adviser.pk))
    assert role.details == {"changes": {"role": ["adviser", "manager"]}} and role.actor == manager
    user_set_backup(actor=manager, user=adviser, backup=other_adviser)
    assert AuditEntry.objects.filter(action=Action.BACKUP_CHANGED, target_id=str(adviser.pk)).exists()
    Token.objects.create(user=adviser)
    assert AuditEntry.objects.filter(action=Action.TOKEN_CREATED, actor=adviser).exists()
    token_revoke(actor=manager, user=adviser)
    revoked = AuditEntry.objects.get(action=Action.TOKEN_REVOKED)
    assert revoked.actor == manager and revoked.target_id == str(adviser.pk)
    user_set_active(actor=manager, user=adviser, active=False)
    user_set_active(actor=manager, user=adviser, active=True)
    assert AuditEntry.objects.filter(action=Action.USER_DEACTIVATED, actor=manager).exists()
    assert AuditEntry.objects.filter(action=Action.USER_ACTIVATED, actor=manager).exists()


def test_a_token_from_the_api_is_logged(adviser):
    APIClient().post("/api/v1/auth/token/", {"username": "adviser", "password": PASSWORD})
    assert AuditEntry.objects.filter(action=Action.TOKEN_CREATED, actor=adviser).count() == 1


def test_the_log_is_append_only(adviser):
    entry = audit_record(Action.LOGIN, actor=adviser)
    entry.details = {"x": 1}
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action=Action.LOGOUT)
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_managers_read_the_log_with_pagination_others_get_404(
    client, personas, django_assert_max_num_queries
):
    for i in range(120):
        audit_record(Action.LOGIN_FAILED, target_name=f"user{i}")
    for persona in ("adviser", "backup", "sector_member", "executive", "outsider"):
        client.force_login(getattr(personas, persona))
        assert client.get("/en/audit/").status_code == 404, persona
    client.force_login(personas.manager)
    with django_assert_max_num_queries(12):
        page = client.get("/en/audit/")
    text = page.content.decode()
    assert page.status_code == 200 and "user119" in text and "user60" not in text and "Page 1 of 3" in text
    page3 = client.get("/en/audit/?page=3").content.decode()
    assert "user0<" in page3
    filtered = client.get("/en/audit/?action=login&actor=manager").content.decode()
    assert "user119" not in filtered
    assert client.get("/en/audit/?action=bogus&page=x").status_code == 200


def test_event_log_export_is_logged(client, manager):
    client.force_login(manager)
    response = client.get("/en/analytics/export/csv/")
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action=Action.DATA_EXPORTED)
    assert entry.actor == manager and entry.details == {"export": "event_log", "format": "csv"}


def test_a_role_change_in_the_admin_names_who_made_it(client, personas):
    from steward.testing import make_user

    root = make_user("root", role=Role.ADMIN)
    client.force_login(root)
    adviser = personas.adviser
    page = client.get(f"/en/admin/accounts/user/{adviser.pk}/change/")
    form = page.context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None and k not in ("password", "groups", "user_permissions", "last_login")
    }
    data.update(
        role=Role.MANAGER,
        date_joined_0=adviser.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=adviser.date_joined.strftime("%H:%M:%S"),
        is_active="on",
    )
    data.pop("date_joined", None)
    for key in ("is_staff", "is_superuser"):
        data.pop(key, None)
    response = client.post(f"/en/admin/accounts/user/{adviser.pk}/change/", data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    entry = AuditEntry.objects.get(action=Action.ROLE_CHANGED, target_id=str(adviser.pk))
    assert entry.actor == root and entry.details["changes"]["role"] == ["adviser", "manager"]
