"""Uploads (issue 10, ASVS V5.2 / V5.3 / V3.2.1): the limits a request and its files have, the
generated storage names, and downloads always as attachments (staff page, API and portal)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from rest_framework.test import APIClient

from steward.cases.models import Attachment
from steward.cases.services import case_add_note, case_reply
from steward.core.errors import DomainError
from steward.portal.models import PortalCaseKey
from steward.portal.session import SESSION_KEY

pytestmark = pytest.mark.django_db


def _txt(name: str, size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"a" * size, content_type="text/plain")


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=1000, STEWARD_ATTACHMENT_REQUEST_MAX_BYTES=1500)
def test_files_each_under_the_limit_but_too_large_together_are_refused(case, adviser):
    with pytest.raises(DomainError) as err:
        case_add_note(
            actor=adviser, case=case, body="x", attachments=[_txt("a.txt", 800), _txt("b.txt", 800)]
        )
    assert err.value.code == "too_large" and "together" in str(err.value.message)
    assert not Attachment.objects.filter(case=case).exists()
    note = case_add_note(
        actor=adviser, case=case, body="x", attachments=[_txt("a.txt", 700), _txt("b.txt", 700)]
    )
    assert note.attachments.count() == 2


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=1000, STEWARD_ATTACHMENT_REQUEST_MAX_BYTES=1500)
def test_the_case_page_shows_the_total_limit(client, case, adviser):
    client.force_login(adviser)
    files = [_txt("a.txt", 800), _txt("b.txt", 800)]
    r = client.post(f"/en/cases/{case.pk}/note/", {"body": "x", "attachments": files})
    assert r.status_code == 400 and "too large together" in r.content.decode()


@override_settings(STEWARD_REQUEST_MAX_BYTES=2000)
def test_a_request_body_over_the_limit_is_a_413_before_it_is_read(client, case, adviser):
    client.force_login(adviser)
    r = client.post(f"/en/cases/{case.pk}/note/", {"body": "x", "attachments": _txt("a.txt", 3000)})
    assert r.status_code == 413 and "too large" in r.content.decode()
    api = APIClient()
    api.force_authenticate(adviser)
    r = api.post(f"/api/v1/cases/{case.pk}/notes/", {"body": "x", "attachments": [_txt("a.txt", 3000)]})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    assert not case.notes.exists()


def test_more_than_20_files_in_one_request_are_refused(client, case, adviser):
    client.force_login(adviser)
    files = [_txt(f"{i}.txt", 5) for i in range(21)]
    r = client.post(f"/en/cases/{case.pk}/note/", {"body": "x", "attachments": files})
    assert r.status_code == 400
    assert not case.notes.exists()


def test_stored_names_are_generated_never_the_uploaders(case, adviser):
    note = case_add_note(
        actor=adviser, case=case, body="x", attachments=[_txt("../../etc/passwd%00.txt", 10)]
    )
    att = note.attachments.get()
    stored = str(att.file.name)
    assert stored.startswith(f"attachments/{case.pk}/") and "passwd" not in stored and ".." not in stored
    assert len(stored.rsplit("/", 1)[1]) == 32  # a random uuid4 hex
    assert "/" not in att.original_name and ".." not in att.original_name


def test_every_download_is_an_attachment_with_nosniff(client, case, adviser, customer):
    reply = case_reply(actor=adviser, case=case, body="Label", attachments=[_txt("label.txt", 10)])
    att = reply.attachments.get()
    client.force_login(adviser)
    staff = client.get(f"/en/cases/{case.pk}/attachments/{att.pk}/")
    api = APIClient()
    api.force_authenticate(adviser)
    via_api = api.get(f"/api/v1/cases/{case.pk}/attachments/{att.pk}/")
    portal = APIClient()  # any client; the portal session is set below
    session = portal.session
    session[SESSION_KEY] = customer.pk
    session.save()
    key = PortalCaseKey.objects.get_or_create(case=case)[0].key
    via_portal = portal.get(f"/en/portal/cases/{key}/files/{att.pk}/")
    for response in (staff, via_api, via_portal):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
