"""REST API for cases: auth, lists, detail, every write, every refusal. Set-up goes through services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from steward.accounts.services import absence_create
from steward.cases.models import Case, Closure, Status
from steward.cases.services import (
    case_add_note,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_reply,
    commitment_set,
)
from steward.customers.services import customer_create
from steward.testing import DONE, NEED, PASSWORD, make_user

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(adviser) -> APIClient:
    return as_user(adviser)


@pytest.fixture
def fresh_throttles():
    cache.clear()  # the anonymous throttle and nothing else lives in the test cache
    yield
    cache.clear()


def tomorrow() -> str:
    return (timezone.now() + timedelta(days=1)).isoformat()


def upload(name: str = "receipt.txt", content: bytes = b"paid in full") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


# ---------------------------------------------------------------- authentication


def test_token_for_the_right_password_opens_the_api(personas, fresh_throttles):
    client = APIClient()
    r = client.post("/api/v1/auth/token/", {"username": "adviser", "password": PASSWORD}, format="json")
    assert r.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    assert client.get("/api/v1/cases/").status_code == 200


def test_wrong_password_is_a_400_and_repeated_failures_lock_the_token_endpoint(personas, fresh_throttles):
    client = APIClient()
    wrong = {"username": "adviser", "password": "not-the-password"}
    first = client.post("/api/v1/auth/token/", wrong, format="json")
    assert first.status_code == 400 and first.json()["non_field_errors"]
    for _ in range(4):  # AXES_FAILURE_LIMIT is 5: the same counter as the sign-in page
        client.post("/api/v1/auth/token/", wrong, format="json")
    right = client.post("/api/v1/auth/token/", {"username": "adviser", "password": PASSWORD}, format="json")
    assert right.status_code == 429 and "Too many failed sign-in attempts" in right.json()["detail"]
    assert not Token.objects.exists()


def test_token_request_without_fields_names_them(fresh_throttles):
    r = APIClient().post("/api/v1/auth/token/", {}, format="json")
    assert r.status_code == 400 and {"username", "password"} <= set(r.json())


def test_anonymous_callers_get_a_401_with_a_token_challenge(case):
    r = APIClient().get("/api/v1/cases/")
    assert r.status_code == 401 and r["WWW-Authenticate"] == "Token"
    assert APIClient().post(f"/api/v1/cases/{case.pk}/notes/", {"body": "x"}).status_code == 401


def test_session_auth_reads_but_writes_need_the_csrf_token(adviser, case):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(adviser)
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    r = client.post(f"/api/v1/cases/{case.pk}/notes/", {"body": "Called the customer."}, format="json")
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert not case.notes.exists()


# ---------------------------------------------------------------- opening and listing


def test_create_case_returns_detail_with_owner_backup_and_no_next_step(api, customer, adviser, backup):
    r = api.post(
        "/api/v1/cases/",
        {
            "customer": customer.pk,
            "subject": "Router broken",
            "description": "No lights.",
            "kind": "complaint",
        },
        format="json",
    )
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["ownership"]["owner"]["id"] == adviser.pk
    assert body["ownership"]["backup"]["id"] == backup.pk
    assert body["next_step"] is None
    assert (body["status"], body["kind"], body["channel"]) == ("new", "complaint", "api")
    assert [e.kind for e in Case.objects.get(pk=body["id"]).events.order_by("version")] == [
        "opened",
        "message_in",
    ]


def test_create_case_for_another_owner_who_cannot_own_cases_is_refused(api, customer, sector_member):
    r = api.post(
        "/api/v1/cases/",
        {"customer": customer.pk, "subject": "S", "description": "D", "owner": sector_member.pk},
        format="json",
    )
    assert r.status_code == 400 and "owner" in r.json()


def test_a_customer_the_caller_may_not_see_reads_as_unknown(customer, sector_member):
    payload = {"subject": "S", "description": "D"}
    hidden = as_user(sector_member).post(
        "/api/v1/cases/", {**payload, "customer": customer.pk}, format="json"
    )
    missing = as_user(sector_member).post("/api/v1/cases/", {**payload, "customer": 999999}, format="json")
    assert hidden.status_code == missing.status_code == 400
    assert set(hidden.json()) == set(missing.json()) == {"customer"}


def test_malformed_case_payload_gets_field_messages(api):
    r = api.post("/api/v1/cases/", {"customer": "abc", "kind": "rant", "priority": 7}, format="json")
    assert r.status_code == 400
    assert {"customer", "subject", "description", "kind", "priority"} <= set(r.json())


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ('{"customer": 1, "subject": "\\ud800", "description": "x"}', "application/json", 400),
        ("<case/>", "application/xml", 415),
        ("abc", "multipart/form-data", 400),
    ],
)
def test_unreadable_bodies_are_client_errors(api, body, content_type, status):
    assert api.generic("POST", "/api/v1/cases/", body, content_type=content_type).status_code == status


def test_list_filters_by_status_kind_owner_customer_sector_scope_overdue_and_text(
    api, personas, adviser, other_adviser, manager, customer, case
):
    other_customer = customer_create(actor=None, name="Ana Ruiz", email="ana@example.com")
    invoice = case_open(
        actor=adviser,
        customer=other_customer,
        subject="Invoice wrong",
        description="Twice.",
        kind="complaint",
    )
    case_open(actor=manager, customer=customer, subject="Manager's own", description="Need help.")
    case_propose_solution(actor=adviser, case=invoice, solution="Refunded the second charge.")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    commitment_set(
        actor=adviser, case=case, description="Call back", due_at=an_hour_ago, at=an_hour_ago - timedelta(1)
    )

    def subjects(as_client: APIClient, **params) -> set[str]:
        r = as_client.get("/api/v1/cases/", params)
        assert r.status_code == 200, r.json()
        return {c["subject"] for c in r.json()["results"]}

    mgr = as_user(manager)
    assert subjects(api, q="invoice") == {"Invoice wrong"}
    assert subjects(api, q=f"#{case.pk}") == {case.subject}
    assert subjects(api, q="ana@example") == {"Invoice wrong"}
    assert subjects(api, kind="complaint") == {"Invoice wrong"}
    assert subjects(api, status="solution_proposed") == {"Invoice wrong"}
    assert subjects(api, status="open") == {case.subject, "Invoice wrong"}
    assert subjects(api, status="closed") == set()
    assert subjects(api, customer=other_customer.pk) == {"Invoice wrong"}
    assert subjects(mgr, owner=manager.pk) == {"Manager's own"}
    assert subjects(mgr, scope="mine") == {"Manager's own"}
    assert subjects(mgr, sector=personas.front_desk.pk) == {case.subject, "Invoice wrong"}
    assert subjects(api, scope="mine") == {case.subject, "Invoice wrong"}
    assert subjects(api, scope="team") == {case.subject, "Invoice wrong"}
    assert subjects(as_user(other_adviser), scope="all") == set()
    assert subjects(api, overdue="true") == {case.subject}
    assert subjects(api, overdue="false") == {case.subject, "Invoice wrong"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"owner": "x"}, "owner"),
        ({"owner": "-1"}, "owner"),
        ({"customer": str(2**70)}, "customer"),
        ({"sector": "1.5"}, "sector"),
        ({"status": "bogus"}, "status"),
        ({"kind": "rant"}, "kind"),
        ({"scope": "everyone"}, "scope"),
        ({"overdue": "maybe"}, "overdue"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_list_filters_are_400s_naming_the_filter(api, params, field):
    r = api.get("/api/v1/cases/", params)
    assert r.status_code == 400 and field in r.json()


def test_list_is_cursor_paginated_without_gaps_or_repeats(api, adviser, customer, case):
    for i in range(6):
        case_open(actor=adviser, customer=customer, subject=f"Case {i}", description="Something.")
    seen: list[int] = []
    page = api.get("/api/v1/cases/", {"page_size": 3}).json()
    while True:
        assert len(page["results"]) <= 3
        seen += [c["id"] for c in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()
    assert sorted(seen) == sorted(Case.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 7
    bad = api.get(
        "/api/v1/cases/", {"cursor": "garbage"}
    )  # bad input: a 400 naming it (was an undocumented 404)
    assert (bad.status_code, list(bad.json())) == (400, ["cursor"])


def _count_queries(client: APIClient, path: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path, params).status_code == 200
    return len(ctx)


def _open_cases(n: int, adviser, customer) -> None:
    for i in range(n):
        case = case_open(actor=adviser, customer=customer, subject=f"S{i}", description="D")
        commitment_set(
            actor=adviser, case=case, description="Call", due_at=timezone.now() + timedelta(days=1)
        )


def test_case_list_query_count_is_the_same_for_10_and_100_rows(api, adviser, customer):
    _open_cases(9, adviser, customer)  # and the persona's case: 10
    ten = _count_queries(api, "/api/v1/cases/", {"page_size": 200})
    _open_cases(90, adviser, customer)
    assert Case.objects.count() == 100
    assert _count_queries(api, "/api/v1/cases/", {"page_size": 200}) == ten


def _activity(case: Case, *, manager, adviser, other_adviser, rounds: int) -> None:
    """Replies, notes with files, next steps and handoffs back and forth."""
    for i in range(rounds):
        case_reply(actor=manager, case=case, body=f"Reply {i}", attachments=[upload(f"r{i}.txt")])
        case_add_note(actor=manager, case=case, body=f"Note {i}", attachments=[upload(f"n{i}.txt")])
        commitment_set(
            actor=manager, case=case, description=f"Step {i}", due_at=timezone.now() + timedelta(1)
        )
        to = other_adviser if case.owner_id == adviser.pk else adviser
        case_hand_off(actor=manager, case=case, to_user=to, customer_need=NEED, done_so_far=DONE)
        case.refresh_from_db()


@pytest.mark.parametrize(
    "endpoint", ["events", "messages", "notes", "handoffs", "commitments", "attachments"]
)
def test_case_history_lists_cost_the_same_queries_however_long_the_history(
    endpoint, case, manager, adviser, other_adviser
):
    mgr = as_user(manager)
    path = f"/api/v1/cases/{case.pk}/{endpoint}/"
    _activity(case, manager=manager, adviser=adviser, other_adviser=other_adviser, rounds=1)
    short = _count_queries(mgr, path)
    _activity(case, manager=manager, adviser=adviser, other_adviser=other_adviser, rounds=8)
    assert len(mgr.get(path).json()) >= 9
    assert _count_queries(mgr, path) == short


# ---------------------------------------------------------------- detail


def test_detail_shows_owner_backup_who_acts_next_step_and_version(api, case, adviser, backup):
    commitment_set(actor=adviser, case=case, description="Call back", due_at=timezone.now() + timedelta(2))
    commitment_set(
        actor=adviser, case=case, description="Send the part", due_at=timezone.now() + timedelta(1)
    )
    body = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert body["next_step"]["description"] == "Send the part"
    assert body["ownership"] == {
        "owner": {"id": adviser.pk, "username": "adviser", "name": adviser.display_name, "role": "adviser"},
        "backup": {"id": backup.pk, "username": "backup", "name": backup.display_name, "role": "adviser"},
        "owner_away": False,
        "acting": {"id": adviser.pk, "username": "adviser", "name": adviser.display_name, "role": "adviser"},
        "user_can_act": True,
    }
    case.refresh_from_db()
    assert body["version"] == case.version
    assert body["follow_up_of"] is None and body["closed_at"] is None and body["created_at"]


def test_while_the_owner_is_away_the_backup_acts_and_the_api_says_so(case, adviser, backup):
    now = timezone.now()
    absence_create(
        actor=None, user=adviser, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(1), reason="Ill"
    )
    body = as_user(backup).get(f"/api/v1/cases/{case.pk}/").json()
    assert body["ownership"]["owner_away"] is True
    assert body["ownership"]["acting"]["id"] == backup.pk
    assert body["ownership"]["user_can_act"] is True
    r = as_user(backup).post(
        f"/api/v1/cases/{case.pk}/messages/", {"body": "I cover for Adviser."}, format="json"
    )
    assert r.status_code == 201


# ---------------------------------------------------------------- conversation


def test_reply_then_stale_reply_is_a_409_with_changes(api, case, manager):
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/",
        {"body": "Looking", "expected_version": case.version},
        format="json",
    )
    assert r.status_code == 201 and r.json()["direction"] == "out"
    stale = api.post(
        f"/api/v1/cases/{case.pk}/messages/", {"body": "Again", "expected_version": 1}, format="json"
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_version"] > 1 and body["expected_version"]
    assert any("Adviser" in change for change in body["changes"])
    assert case.messages.filter(body="Again").count() == 0


def test_reply_on_a_version_before_another_agents_handoff_is_a_409_naming_it(
    api, case, manager, other_adviser
):
    version_seen = case.version
    case_hand_off(actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE)
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/",
        {"body": "Hello", "expected_version": version_seen},
        format="json",
    )
    assert r.status_code == 409
    assert len(r.json()["changes"]) == 1 and "Manager" in r.json()["changes"][0]


def test_reply_waiting_for_the_customer_sets_the_status(api, case):
    r = api.post(f"/api/v1/cases/{case.pk}/messages/", {"body": "Send a photo?", "wait_for_customer": True})
    assert r.status_code == 201
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["status"] == Status.WAITING_CUSTOMER


def test_reply_with_a_file_lists_it_on_the_message(api, case):
    r = api.post(
        f"/api/v1/cases/{case.pk}/messages/",
        {"body": "Your receipt", "attachments": [upload()]},
        format="multipart",
    )
    assert r.status_code == 201, r.json()
    messages = api.get(f"/api/v1/cases/{case.pk}/messages/").json()
    assert messages[-1]["attachments"][0]["original_name"] == "receipt.txt"
    download = api.get(messages[-1]["attachments"][0]["download"])
    assert b"".join(download.streaming_content) == b"paid in full"


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=50)
@pytest.mark.parametrize(
    "bad",
    [
        SimpleUploadedFile("big.txt", b"a" * 100, content_type="text/plain"),
        SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 20, content_type="application/pdf"),
        SimpleUploadedFile("run.sh", b"#!/bin/sh\nrm -rf /\n", content_type="text/plain"),
    ],
    ids=["oversize", "executable-named-pdf", "script"],
)
@pytest.mark.parametrize("endpoint", ["messages", "notes"])
def test_oversize_and_forbidden_attachments_are_400_and_nothing_is_saved(api, case, bad, endpoint):
    bad.seek(0)
    r = api.post(
        f"/api/v1/cases/{case.pk}/{endpoint}/",
        {"body": "See file", "attachments": [upload(), bad]},
        format="multipart",
    )
    assert r.status_code == 400 and "attachments" in r.json()
    assert case.messages.count() == 1 and not case.notes.exists() and not case.attachments.exists()


def test_attachments_are_listed_and_downloaded_as_files(api, adviser, case):
    case_add_note(actor=adviser, case=case, body="Receipt", attachments=[upload(content=b"paid")])
    listed = api.get(f"/api/v1/cases/{case.pk}/attachments/").json()
    assert listed[0]["original_name"] == "receipt.txt" and listed[0]["size"] == 4
    r = api.get(listed[0]["download"])
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert r["X-Content-Type-Options"] == "nosniff"
    assert b"".join(r.streaming_content) == b"paid"
    assert api.get(f"/api/v1/cases/{case.pk}/attachments/999999/").status_code == 404


def test_another_cases_attachment_is_a_404(api, adviser, customer, case):
    other = case_open(actor=adviser, customer=customer, subject="Other", description="Other need")
    note = case_add_note(actor=adviser, case=other, body="File", attachments=[upload()])
    att = note.attachments.get()
    assert api.get(f"/api/v1/cases/{case.pk}/attachments/{att.pk}/").status_code == 404


def test_notes_with_files_and_repeat_explanation_are_recorded(api, case):
    r = api.post(
        f"/api/v1/cases/{case.pk}/notes/", {"body": "Internal", "attachments": [upload()]}, format="multipart"
    )
    assert r.status_code == 201 and r.json()["attachments"][0]["size"] == len(b"paid in full")
    assert api.get(f"/api/v1/cases/{case.pk}/notes/").json()[0]["body"] == "Internal"
    r = api.post(f"/api/v1/cases/{case.pk}/repeat-explanation/", {"comment": "again"}, format="json")
    assert r.status_code == 201 and r.json()["kind"] == "repeat_explanation"
    assert r.json()["data"]["comment"] == "again"


def test_an_empty_note_is_a_400(api, case):
    r = api.post(f"/api/v1/cases/{case.pk}/notes/", {"body": "   "}, format="json")
    assert r.status_code == 400 and "body" in r.json()


def test_a_reader_who_may_not_act_gets_403_for_owner_actions_but_may_note(case, executive, backup):
    for user in (executive, backup):  # sees every case / covers only while the owner is away
        client = as_user(user)
        r = client.post(f"/api/v1/cases/{case.pk}/messages/", {"body": "Hello"}, format="json")
        assert r.status_code == 403 and r.json()["detail"]
        assert (
            client.post(f"/api/v1/cases/{case.pk}/notes/", {"body": "Seen."}, format="json").status_code
            == 201
        )
    assert case.messages.count() == 1


# ---------------------------------------------------------------- handoffs


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
    assert [e["version"] for e in events] == sorted(e["version"] for e in events)
    handoffs = new_owner.get(f"/api/v1/cases/{case.pk}/handoffs/").json()
    assert handoffs[0]["customer_need"] == NEED and handoffs[0]["to_user"]["id"] == other_adviser.pk
    assert new_owner.get(f"/api/v1/cases/{case.pk}/").json()["ownership"]["owner"]["id"] == other_adviser.pk


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"customer_need": "see history", "done_so_far": DONE}, "customer_need"),
        ({"customer_need": NEED, "done_so_far": "as above"}, "done_so_far"),
        ({"customer_need": "", "done_so_far": DONE}, "customer_need"),
        ({"done_so_far": DONE}, "customer_need"),
    ],
    ids=["pointer-need", "pointer-done", "blank-need", "missing-need"],
)
def test_handoff_without_a_real_summary_is_a_400(api, case, other_adviser, payload, field):
    r = api.post(
        f"/api/v1/cases/{case.pk}/handoffs/", {"to_user": other_adviser.pk, **payload}, format="json"
    )
    assert r.status_code == 400 and field in r.json()
    assert not case.handoffs.exists()


def test_handoff_to_someone_who_cannot_own_the_case_is_refused(api, case, sector_member):
    gone = make_user("gone")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    for to_user in (sector_member.pk, gone.pk, 999999, "abc", None):
        r = api.post(
            f"/api/v1/cases/{case.pk}/handoffs/",
            {"to_user": to_user, "customer_need": NEED, "done_so_far": DONE},
            format="json",
        )
        assert r.status_code == 400 and "to_user" in r.json(), to_user
    assert not case.handoffs.exists()


def test_stale_handoff_is_a_409(api, case, adviser):
    seen = case.version
    case_reply(actor=adviser, case=case, body="Hi")
    r = api.post(
        f"/api/v1/cases/{case.pk}/handoffs/",
        {"to_user": adviser.backup_id, "customer_need": NEED, "done_so_far": DONE, "expected_version": seen},
        format="json",
    )
    assert r.status_code == 409 and r.json()["changes"]


# ---------------------------------------------------------------- next steps


def test_next_step_set_and_resolved(api, case):
    r = api.post(
        f"/api/v1/cases/{case.pk}/commitments/",
        {"description": "Call back", "due_at": tomorrow()},
        format="json",
    )
    assert r.status_code == 201
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["next_step"]["description"] == "Call back"
    assert api.get(f"/api/v1/cases/{case.pk}/commitments/").json()[0]["state"] == "open"
    url = f"/api/v1/cases/{case.pk}/commitments/{r.json()['id']}/resolve/"
    r = api.post(url, {"state": "kept", "note": "Called at 10."}, format="json")
    assert r.status_code == 200 and r.json()["state"] == "kept"
    again = api.post(url, {"state": "broken"}, format="json")
    assert again.status_code == 400 and "state" in again.json()
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["next_step"] is None


def test_next_step_in_the_past_or_malformed_is_a_400(api, case):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    r = api.post(
        f"/api/v1/cases/{case.pk}/commitments/", {"description": "Call", "due_at": past}, format="json"
    )
    assert r.status_code == 400 and "due_at" in r.json()
    r = api.post(f"/api/v1/cases/{case.pk}/commitments/", {"due_at": "next week"}, format="json")
    assert r.status_code == 400 and {"description", "due_at"} <= set(r.json())
    step = api.post(
        f"/api/v1/cases/{case.pk}/commitments/", {"description": "Call", "due_at": tomorrow()}, format="json"
    )
    r = api.post(
        f"/api/v1/cases/{case.pk}/commitments/{step.json()['id']}/resolve/", {"state": "open"}, format="json"
    )
    assert r.status_code == 400 and "state" in r.json()


def test_commitment_of_another_case_is_a_404(api, case, adviser, customer):
    other = case_open(actor=adviser, customer=customer, subject="Other", description="Other need")
    step = commitment_set(
        actor=adviser, case=other, description="x", due_at=timezone.now() + timedelta(days=1)
    )
    r = api.post(f"/api/v1/cases/{case.pk}/commitments/{step.pk}/resolve/", {"state": "kept"}, format="json")
    assert r.status_code == 404
    assert (
        api.post(f"/api/v1/cases/{case.pk}/commitments/{2**70}/resolve/", {"state": "kept"}).status_code
        == 404
    )


# ---------------------------------------------------------------- solution, closure, status


def test_propose_does_not_close_and_confirm_needs_a_note(api, case):
    r = api.post(f"/api/v1/cases/{case.pk}/propose/", {"solution": "Replaced the charger."}, format="json")
    assert r.status_code == 200 and r.json()["status"] == Status.SOLUTION_PROPOSED
    assert r.json()["closed_at"] is None
    r = api.post(f"/api/v1/cases/{case.pk}/confirm/", {"channel": "phone"}, format="json")
    assert r.status_code == 400 and "note" in r.json()
    r = api.post(f"/api/v1/cases/{case.pk}/confirm/", {"channel": "phone", "note": "   "}, format="json")
    assert r.status_code == 400 and "note" in r.json()
    r = api.post(
        f"/api/v1/cases/{case.pk}/confirm/",
        {"channel": "phone", "note": "Confirmed on the phone."},
        format="json",
    )
    assert (
        r.status_code == 200 and r.json()["closure"] == Closure.CONFIRMED and r.json()["status"] == "closed"
    )


def test_confirm_without_a_proposal_or_on_a_customer_channel_is_refused(api, case, adviser):
    r = api.post(
        f"/api/v1/cases/{case.pk}/confirm/", {"channel": "phone", "note": "Said yes."}, format="json"
    )
    assert r.status_code == 400 and "status" in r.json()
    case_propose_solution(actor=adviser, case=case, solution="Done")
    r = api.post(
        f"/api/v1/cases/{case.pk}/confirm/", {"channel": "email", "note": "Said yes."}, format="json"
    )
    assert r.status_code == 400 and "channel" in r.json()
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["status"] == Status.SOLUTION_PROPOSED


def test_stale_proposal_is_a_409(api, case, adviser):
    seen = case.version
    case_add_note(actor=adviser, case=case, body="Checked stock.")
    r = api.post(
        f"/api/v1/cases/{case.pk}/propose/", {"solution": "New part", "expected_version": seen}, format="json"
    )
    assert r.status_code == 409 and r.json()["current_version"] == seen + 1


def test_close_unconfirmed_needs_a_manager_and_a_reason(api, case, manager):
    r = api.post(f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": "No answer for two weeks."})
    assert r.status_code == 403
    mgr = as_user(manager)
    for reason in ("", "short"):
        r = mgr.post(f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": reason})
        assert r.status_code == 400 and "reason" in r.json()
    r = mgr.post(f"/api/v1/cases/{case.pk}/close-unconfirmed/", {"reason": "No answer for two weeks."})
    assert r.status_code == 200 and r.json()["closure"] == Closure.UNCONFIRMED
    assert r.json()["closure_note"] == "No answer for two weeks."


def test_reopen_after_proposal_needs_a_reason(api, case, adviser):
    r = api.post(f"/api/v1/cases/{case.pk}/reopen/", {"reason": "Still broken."}, format="json")
    assert r.status_code == 400 and "reason" in r.json()  # nothing proposed yet
    case_propose_solution(actor=adviser, case=case, solution="Done")
    assert api.post(f"/api/v1/cases/{case.pk}/reopen/", {"reason": " "}, format="json").status_code == 400
    r = api.post(
        f"/api/v1/cases/{case.pk}/reopen/", {"reason": "Customer says it still fails."}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == Status.REOPENED and r.json()["reopen_count"] == 1


def test_status_is_set_by_hand_but_closing_goes_through_confirmation(api, case, adviser):
    seen = case.version
    r = api.post(f"/api/v1/cases/{case.pk}/status/", {"status": "waiting_customer"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "waiting_customer"
    for status in ("closed", "solution_proposed", "nonsense"):
        r = api.post(f"/api/v1/cases/{case.pk}/status/", {"status": status}, format="json")
        assert r.status_code == 400 and "status" in r.json()
    r = api.post(
        f"/api/v1/cases/{case.pk}/status/", {"status": "open", "expected_version": seen}, format="json"
    )
    assert r.status_code == 409
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["closed_at"] is None


@pytest.mark.parametrize(
    ("endpoint", "payload"),
    [
        ("messages", {"body": 1, "expected_version": "two"}),
        ("messages", {"body": "x", "expected_version": 2**64}),
        ("messages", {"body": "x" * 100_001}),
        ("notes", {"body": "a\x00b"}),
        ("handoffs", {"to_user": {"id": 1}}),
        ("commitments", {"description": ["x"], "due_at": 5}),
        ("propose", {}),
        ("confirm", {"channel": "carrier pigeon"}),
        ("reopen", {"reason": None}),
        ("status", {"status": ["open"]}),
        ("repeat-explanation", {"comment": "x" * 501}),
    ],
)
def test_malformed_payloads_on_case_actions_are_400s_with_field_messages(api, case, endpoint, payload):
    r = api.post(f"/api/v1/cases/{case.pk}/{endpoint}/", payload, format="json")
    assert r.status_code == 400
    body = r.json()
    assert body and all(isinstance(v, list) and v for v in body.values()), body
    case.refresh_from_db()
    assert case.version == 2  # untouched: opened + first message


# ---------------------------------------------------------------- what may not be seen is not there

CASE_ENDPOINTS = [
    ("get", ""),
    ("get", "messages/"),
    ("post", "messages/"),
    ("get", "notes/"),
    ("post", "notes/"),
    ("get", "handoffs/"),
    ("post", "handoffs/"),
    ("get", "commitments/"),
    ("post", "commitments/"),
    ("post", "commitments/{commitment}/resolve/"),
    ("post", "propose/"),
    ("post", "confirm/"),
    ("post", "close-unconfirmed/"),
    ("post", "reopen/"),
    ("post", "repeat-explanation/"),
    ("post", "status/"),
    ("get", "attachments/"),
    ("get", "attachments/{attachment}/"),
    ("get", "events/"),
]


def _valid_payload(suffix: str, *, to_user: int) -> dict[str, object]:
    payloads: dict[str, dict[str, object]] = {
        "messages/": {"body": "Hello"},
        "notes/": {"body": "Note"},
        "handoffs/": {"to_user": to_user, "customer_need": NEED, "done_so_far": DONE},
        "commitments/": {"description": "Call", "due_at": tomorrow()},
        "commitments/{commitment}/resolve/": {"state": "kept"},
        "propose/": {"solution": "Fixed"},
        "confirm/": {"channel": "phone", "note": "Said yes"},
        "close-unconfirmed/": {"reason": "No answer for two weeks."},
        "reopen/": {"reason": "Still broken"},
        "repeat-explanation/": {"comment": "again"},
        "status/": {"status": "waiting_customer"},
    }
    return payloads.get(suffix, {})


@pytest.mark.parametrize("persona", ["other_adviser", "sector_member", "outsider"])
@pytest.mark.parametrize(
    ("method", "suffix"), CASE_ENDPOINTS, ids=[f"{m}-{s or 'detail'}" for m, s in CASE_ENDPOINTS]
)
def test_a_case_the_caller_may_not_see_is_a_404_like_a_missing_one(personas, persona, method, suffix):
    case, adviser = personas.case, personas.adviser
    note = case_add_note(actor=adviser, case=case, body="File", attachments=[upload()])
    step = commitment_set(actor=adviser, case=case, description="Call", due_at=timezone.now() + timedelta(1))
    case.refresh_from_db()
    version = case.version
    ids = {"commitment": step.pk, "attachment": note.attachments.get().pk}
    client = as_user(getattr(personas, persona))
    payload = _valid_payload(suffix, to_user=personas.other_adviser.pk)

    hidden = getattr(client, method)(
        f"/api/v1/cases/{case.pk}/" + suffix.format(**ids), payload, format="json"
    )
    missing = getattr(client, method)("/api/v1/cases/999999/" + suffix.format(**ids), payload, format="json")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    case.refresh_from_db()
    assert case.version == version


@pytest.mark.parametrize("case_id", ["abc", "1.5", "-1", str(2**70), "%00"])
@pytest.mark.parametrize("suffix", ["", "events/", "messages/"])
def test_malformed_case_ids_are_404s(api, case_id, suffix):
    assert api.get(f"/api/v1/cases/{case_id}/{suffix}").status_code == 404
    if suffix == "messages/":
        assert api.post(f"/api/v1/cases/{case_id}/{suffix}", {"body": "x"}, format="json").status_code == 404


# ---------------------------------------------------------------- browsable API


def test_browsable_api_renders_pages_and_forms_for_a_signed_in_user(client, adviser, case):
    client.force_login(adviser)
    for path in ("/api/v1/cases/", f"/api/v1/cases/{case.pk}/", f"/api/v1/cases/{case.pk}/messages/"):
        r = client.get(path, HTTP_ACCEPT="text/html")
        assert r.status_code == 200 and r["Content-Type"].startswith("text/html"), path
    page = client.get("/api/v1/cases/", HTTP_ACCEPT="text/html").content.decode()
    assert 'name="subject"' in page  # the create form shows the input fields, not the list's
