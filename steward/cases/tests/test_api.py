from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from steward.cases.models import Case, Closure, Status
from steward.cases.services import case_open, case_propose_solution, case_reply, commitment_set
from steward.testing import DONE, NEED, PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(adviser) -> APIClient:
    client = APIClient()
    client.force_authenticate(adviser)
    return client


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_token_auth_works_and_wrong_password_is_a_400(personas):
    client = APIClient()
    bad = client.post("/api/v1/auth/token/", {"username": "adviser", "password": "nope"}, format="json")
    assert bad.status_code == 400
    ok = client.post("/api/v1/auth/token/", {"username": "adviser", "password": PASSWORD}, format="json")
    assert ok.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {ok.json()['token']}")
    assert client.get("/api/v1/cases/").status_code == 200


def test_anonymous_gets_401():
    assert APIClient().get("/api/v1/cases/").status_code == 401


def test_create_case_returns_detail_with_owner_backup_and_no_next_step(api, customer, adviser, backup):
    r = api.post(
        "/api/v1/cases/",
        {
            "customer": customer.pk,
            "subject": "Router broken",
            "description": "No lights at all.",
            "kind": "complaint",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["ownership"]["owner"]["id"] == adviser.pk
    assert body["ownership"]["backup"]["id"] == backup.pk
    assert body["next_step"] is None
    assert body["status"] == "new"
    assert Case.objects.get(pk=body["id"]).events.count() == 2


def test_malformed_case_payload_gets_field_messages(api):
    r = api.post("/api/v1/cases/", {"customer": "abc", "kind": "rant"}, format="json")
    assert r.status_code == 400
    body = r.json()
    assert {"customer", "subject", "description", "kind"} <= set(body)


def test_invalid_json_is_a_400(api):
    r = api.generic("POST", "/api/v1/cases/", "{not json", content_type="application/json")
    assert r.status_code == 400


def test_list_filters_by_status_and_search(api, personas, adviser, customer):
    case_open(actor=adviser, customer=customer, subject="Invoice wrong", description="Charged twice.")
    r = api.get("/api/v1/cases/", {"q": "invoice"})
    assert [c["subject"] for c in r.json()["results"]] == ["Invoice wrong"]
    r = api.get("/api/v1/cases/", {"status": "closed"})
    assert r.json()["results"] == []
    r = api.get("/api/v1/cases/", {"owner": "x"})
    assert r.status_code == 400


def test_list_is_cursor_paginated(api, adviser, customer):
    for i in range(5):
        case_open(actor=adviser, customer=customer, subject=f"Case {i}", description="Something.")
    first = api.get("/api/v1/cases/", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = api.get(first["next"]).json()
    assert {c["id"] for c in first["results"]}.isdisjoint({c["id"] for c in second["results"]})


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/cases/", {"page_size": 200}).status_code == 200
    return len(ctx)


def test_case_list_query_count_is_the_same_for_10_and_100_rows(api, adviser, customer):
    for _ in range(10):
        case = case_open(actor=adviser, customer=customer, subject="S", description="D")
        commitment_set(
            actor=adviser, case=case, description="Call", due_at=timezone.now() + timedelta(days=1)
        )
    ten = _count_list_queries(api)
    for _ in range(90):
        case_open(actor=adviser, customer=customer, subject="S", description="D")
    assert _count_list_queries(api) == ten


def test_reply_then_stale_reply_is_a_409_with_changes(api, case, manager):
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/",
        {"body": "Looking", "expected_version": case.version},
        format="json",
    )
    assert r.status_code == 201
    stale = api.post(
        f"/api/v1/cases/{case.pk}/messages/", {"body": "Again", "expected_version": 1}, format="json"
    )
    assert stale.status_code == 409
    assert stale.json()["changes"] and stale.json()["current_version"] > 1


def test_handoff_without_real_summary_is_a_400(api, case, other_adviser):
    r = api.post(
        f"/api/v1/cases/{case.pk}/handoffs/",
        {"to_user": other_adviser.pk, "customer_need": "see history", "done_so_far": DONE},
        format="json",
    )
    assert r.status_code == 400 and "customer_need" in r.json()


def test_handoff_to_a_sector_member_is_refused(api, case, sector_member):
    r = api.post(
        f"/api/v1/cases/{case.pk}/handoffs/",
        {"to_user": sector_member.pk, "customer_need": NEED, "done_so_far": DONE},
        format="json",
    )
    assert r.status_code == 400 and "to_user" in r.json()


def test_handoff_and_history_visible_to_new_owner(api, case, other_adviser):
    r = api.post(
        f"/api/v1/cases/{case.pk}/handoffs/",
        {
            "to_user": other_adviser.pk,
            "customer_need": NEED,
            "done_so_far": DONE,
            "expected_version": case.version,
        },
        format="json",
    )
    assert r.status_code == 201
    new_owner = as_user(other_adviser)
    events = new_owner.get(f"/api/v1/cases/{case.pk}/events/").json()
    assert [e["kind"] for e in events][-1] == "handoff"
    handoffs = new_owner.get(f"/api/v1/cases/{case.pk}/handoffs/").json()
    assert handoffs[0]["customer_need"] == NEED


def test_next_step_set_and_resolved(api, case):
    due = (timezone.now() + timedelta(days=1)).isoformat()
    r = api.post(
        f"/api/v1/cases/{case.pk}/commitments/", {"description": "Call back", "due_at": due}, format="json"
    )
    assert r.status_code == 201
    detail = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert detail["next_step"]["description"] == "Call back"
    r = api.post(
        f"/api/v1/cases/{case.pk}/commitments/{r.json()['id']}/resolve/", {"state": "kept"}, format="json"
    )
    assert r.status_code == 200 and r.json()["state"] == "kept"


def test_commitment_of_another_case_is_a_404(api, case, adviser, customer):
    other = case_open(actor=adviser, customer=customer, subject="Other", description="Other need")
    step = commitment_set(
        actor=adviser, case=other, description="x", due_at=timezone.now() + timedelta(days=1)
    )
    r = api.post(f"/api/v1/cases/{case.pk}/commitments/{step.pk}/resolve/", {"state": "kept"}, format="json")
    assert r.status_code == 404


def test_propose_does_not_close_and_confirm_needs_a_note(api, case):
    r = api.post(f"/api/v1/cases/{case.pk}/propose/", {"solution": "Replaced the charger."}, format="json")
    assert r.status_code == 200 and r.json()["status"] == Status.SOLUTION_PROPOSED
    r = api.post(f"/api/v1/cases/{case.pk}/confirm/", {"channel": "phone"}, format="json")
    assert r.status_code == 400 and "note" in r.json()
    r = api.post(
        f"/api/v1/cases/{case.pk}/confirm/",
        {"channel": "phone", "note": "Confirmed on the phone."},
        format="json",
    )
    assert r.status_code == 200 and r.json()["closure"] == Closure.CONFIRMED


def test_close_unconfirmed_needs_a_manager_and_a_reason(api, case, manager):
    assert (
        api.post(
            f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": "No answer for two weeks."}
        ).status_code
        == 403
    )
    mgr = as_user(manager)
    assert mgr.post(f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": ""}).status_code == 400
    r = mgr.post(f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": "No answer for two weeks."})
    assert r.status_code == 200 and r.json()["closure"] == Closure.UNCONFIRMED


def test_reopen_after_proposal(api, case, adviser):
    case_propose_solution(actor=adviser, case=case, solution="Done")
    r = api.post(
        f"/api/v1/cases/{case.pk}/reopen/", {"reason": "Customer says it still fails."}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == Status.REOPENED


def test_notes_status_and_repeat_explanation(api, case, adviser):
    case_reply(actor=adviser, case=case, body="Hi")
    assert api.post(f"/api/v1/cases/{case.pk}/notes/", {"body": "Internal"}, format="json").status_code == 201
    assert (
        api.post(
            f"/api/v1/cases/{case.pk}/repeat-explanation/", {"comment": "again"}, format="json"
        ).status_code
        == 201
    )
    r = api.post(f"/api/v1/cases/{case.pk}/status/", {"status": "waiting_customer"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "waiting_customer"
    assert (
        api.post(f"/api/v1/cases/{case.pk}/status/", {"status": "closed"}, format="json").status_code == 400
    )


def test_invisible_and_malformed_ids_are_404(case, other_adviser):
    client = as_user(other_adviser)
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 404
    assert client.get("/api/v1/cases/abc/").status_code == 404
    assert client.get("/api/v1/cases/999999/").status_code == 404


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=50)
def test_oversize_and_forbidden_attachments_are_400(api, case):
    big = SimpleUploadedFile("big.txt", b"a" * 100, content_type="text/plain")
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/", {"body": "See file", "attachments": [big]}, format="multipart"
    )
    assert r.status_code == 400 and "attachments" in r.json()
    exe = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 20, content_type="application/pdf")
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/", {"body": "See file", "attachments": [exe]}, format="multipart"
    )
    assert r.status_code == 400 and "attachments" in r.json()
    assert case.messages.count() == 1  # nothing was half-saved


def test_customers_are_listed_for_staff_not_for_sector_members(api, personas, sector_member):
    assert api.get("/api/v1/customers/").json()["results"]
    assert as_user(sector_member).get("/api/v1/customers/").json()["results"] == []


def test_customer_create_rejects_duplicate_email(api, customer):
    r = api.post("/api/v1/customers/", {"name": "Dup", "email": customer.email}, format="json")
    assert r.status_code == 400 and "email" in r.json()
    r = api.post(
        "/api/v1/customers/", {"name": "New one", "email": "new@example.com", "language": "es"}, format="json"
    )
    assert r.status_code == 201


def test_attachments_are_listed_and_downloaded_as_files(api, adviser, case):
    from steward.cases.services import case_add_note

    case_add_note(
        actor=adviser,
        case=case,
        body="Receipt",
        attachments=[SimpleUploadedFile("receipt.txt", b"paid", content_type="text/plain")],
    )
    listed = api.get(f"/api/v1/cases/{case.pk}/attachments/").json()
    assert listed[0]["original_name"] == "receipt.txt" and listed[0]["size"] == 4
    r = api.get(listed[0]["download"])
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert b"".join(r.streaming_content) == b"paid"
    assert api.get(f"/api/v1/cases/{case.pk}/attachments/999999/").status_code == 404


def test_sector_member_cannot_create_customers(sector_member):
    r = as_user(sector_member).post("/api/v1/customers/", {"name": "X"}, format="json")
    assert r.status_code == 403
