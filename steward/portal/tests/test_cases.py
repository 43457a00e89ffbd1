"""The customer's cases: isolation, public conversation only, owner or backup, writing, confirming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from django.utils.formats import date_format

from steward.accounts.services import absence_create
from steward.cases.models import Attachment, Case, CaseEvent, Channel, Closure, EventKind, Status
from steward.cases.services import (
    case_add_note,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_reply,
    commitment_set,
)
from steward.customers.services import customer_create
from steward.portal.models import PortalCaseKey
from steward.portal.services import case_key
from steward.testing import DONE, NEED

from .helpers import case_url, sign_in

pytestmark = pytest.mark.django_db


def text_file(name="photo.txt", body="สวัสดี ข้อความ"):
    return SimpleUploadedFile(name, body.encode(), content_type="text/plain")


@pytest.fixture
def other_customer(personas):
    return customer_create(actor=None, name="Ivan Petrov", email="ivan@example.com", language="ru")


@pytest.fixture
def other_case(personas, other_customer):
    return case_open(
        actor=personas.adviser,
        customer=other_customer,
        subject="Invoice twice",
        description="I was billed twice.",
        owner=personas.adviser,
        attachments=[text_file("invoice.txt", "invoice")],
    )


@pytest.fixture
def signed_in(client, customer):
    sign_in(client, customer)
    return client


# ---------------------------------------------------------------- isolation and unguessable URLs


def test_customer_gets_404_on_another_customers_case(signed_in, other_case):
    att = other_case.attachments.get()
    for path in (
        case_url(other_case),
        case_url(other_case, f"files/{att.pk}/"),
    ):
        assert signed_in.get(path).status_code == 404
    for suffix in ("message/", "confirm/", "not-solved/"):
        assert signed_in.post(case_url(other_case, suffix), {"body": "x", "reason": "x"}).status_code == 404
    assert other_case.messages.count() == 1
    assert signed_in.get("/en/portal/").content.decode().count("Invoice twice") == 0


def test_case_urls_use_a_random_key_not_the_case_number(signed_in, case):
    key = case_key(case)
    assert len(key) == 22 and str(case.pk) != key
    assert signed_in.get(f"/en/portal/cases/{case.pk}/").status_code == 404
    assert signed_in.get("/en/portal/cases/AAAAAAAAAAAAAAAAAAAAAA/").status_code == 404
    list_page = signed_in.get("/en/portal/").content.decode()
    assert f"/en/portal/cases/{key}/" in list_page
    assert case_key(case) == key  # stable once created
    assert PortalCaseKey.objects.filter(case=case).count() == 1


def test_a_404_uses_the_portal_layout(signed_in):
    response = signed_in.get("/en/portal/cases/nope/")
    assert response.status_code == 404
    assert 'class="portal"' in response.content.decode()


# ---------------------------------------------------------------- what the customer sees


def test_internal_notes_and_handoff_summaries_never_reach_the_customer(signed_in, personas, case):
    note = case_add_note(
        actor=personas.adviser,
        case=case,
        body="INTERNAL: customer seems angry",
        attachments=[text_file("internal-photo.txt", "secret")],
    )
    case_reply(actor=personas.adviser, case=case, body="We are on it.", attachments=[text_file("manual.txt")])
    case_hand_off(
        actor=personas.adviser,
        case=case,
        to_user=personas.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
    )
    page = signed_in.get(case_url(case)).content.decode()
    assert "My new phone stopped charging after two days." in page
    assert "We are on it." in page and "manual.txt" in page
    assert "Now handled by Other" in page
    for secret in ("INTERNAL", "internal-photo.txt", NEED, DONE):
        assert secret not in page
    note_att = note.attachments.get()
    assert signed_in.get(case_url(case, f"files/{note_att.pk}/")).status_code == 404
    reply_att = Attachment.objects.get(original_name="manual.txt")
    download = signed_in.get(case_url(case, f"files/{reply_att.pk}/"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == "สวัสดี ข้อความ".encode()


def test_owner_and_next_step_are_shown(signed_in, personas, case):
    due = timezone.now() + timedelta(days=2)
    commitment_set(actor=personas.adviser, case=case, description="Call you about the repair", due_at=due)
    page = signed_in.get(case_url(case)).content.decode()
    assert "Adviser (Adviser)" in page
    assert "Call you about the repair" in page
    assert "Received: we will answer soon" in page


def test_backup_is_shown_standing_in_while_the_owner_is_away(signed_in, personas, case):
    now = timezone.now()
    absence_create(
        actor=None,
        user=personas.adviser,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=3),
        reason="Leave",
    )
    page = signed_in.get(case_url(case)).content.decode()
    assert "Backup (Adviser), standing in while Adviser is away" in page
    assert "Leave" not in page  # the reason for an absence is private


def test_owner_and_backup_both_away_says_a_colleague_will_answer(signed_in, personas, case):
    now = timezone.now()
    for user in (personas.adviser, personas.backup):
        absence_create(
            actor=None,
            user=user,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=1),
            reason="Off",
        )
    page = signed_in.get(case_url(case)).content.decode()
    assert "Adviser is away; a colleague will answer you." in page


def _billing_task(personas, case):
    from steward.cases.task_services import task_create

    return task_create(
        actor=personas.adviser, case=case, sector=personas.billing, description="Refund the duplicated fee."
    )


def test_waiting_on_shows_the_sector_and_date_until_the_task_is_done(signed_in, personas, case):
    from steward.cases.task_services import task_complete, task_take

    assert 'data-testid="waiting-on"' not in signed_in.get(case_url(case)).content.decode()
    task = _billing_task(personas, case)
    expected = timezone.localtime(task.due_at).date()
    page = signed_in.get(case_url(case)).content.decode()
    assert 'data-testid="waiting-on"' in page
    assert f"Waiting on Billing, expected by {date_format(expected, 'DATE_FORMAT')}" in page
    assert "Refund the duplicated fee." not in page  # the sector's instructions stay internal
    listing = signed_in.get("/en/portal/").content.decode()
    assert "Waiting on Billing" in listing
    task_take(actor=personas.sector_member, task=task)
    task_complete(actor=personas.sector_member, task=task, note="Refunded.")
    assert "Waiting on" not in signed_in.get(case_url(case)).content.decode()
    assert "Waiting on" not in signed_in.get("/en/portal/").content.decode()


def test_waiting_on_is_in_the_customers_language(client, personas, case):
    case.customer.language = "es"
    case.customer.save(update_fields=["language"])
    sign_in(client, case.customer)
    _billing_task(personas, case)
    page = client.get(case_url(case, lang="es")).content.decode()
    assert 'data-testid="waiting-on"' in page and "Billing" in page


def test_case_list_query_count_stays_constant(client, django_assert_max_num_queries, personas, customer):
    sign_in(client, customer)
    client.get("/en/portal/")  # first visit creates the keys of existing cases

    def add_cases(n):
        for i in range(n):
            case_open(
                actor=personas.adviser,
                customer=customer,
                subject=f"Case {i}",
                description="Help",
                owner=personas.backup,
            )

    add_cases(2)
    with django_assert_max_num_queries(7):
        assert client.get("/en/portal/").status_code == 200
    add_cases(15)
    from steward.cases.task_services import task_create

    for open_case in Case.objects.filter(customer=customer)[:5]:
        task_create(actor=personas.backup, case=open_case, sector=personas.billing, description="Check")
    with django_assert_max_num_queries(7):
        response = client.get("/en/portal/")
    assert response.content.decode().count('class="p-card"') == 18


def test_case_page_query_count_does_not_grow_with_the_conversation(
    signed_in, django_assert_max_num_queries, personas, case
):
    signed_in.get(case_url(case))
    for i in range(10):
        case_reply(actor=personas.adviser, case=case, body=f"Reply {i}", attachments=[text_file(f"f{i}.txt")])
    with django_assert_max_num_queries(11):  # 10 + one for "waiting on <sector>"
        assert signed_in.get(case_url(case)).status_code == 200


# ---------------------------------------------------------------- writing


def test_new_case_with_attachment_goes_to_the_routed_owner(signed_in, customer, personas):
    response = signed_in.post(
        "/en/portal/new/",
        {"subject": "Screen cracked", "description": "It fell.", "attachments": [text_file("crack.txt")]},
    )
    case = Case.objects.get(subject="Screen cracked")
    assert response.status_code == 302 and response["Location"] == case_url(case)
    assert case.customer_id == customer.pk
    assert case.channel == Channel.PORTAL
    assert case.opened_by is None
    # The routing rule: the adviser with the fewest open cases (the personas' case belongs to Adviser).
    assert case.owner_id != personas.adviser.pk and case.owner.role == "adviser"
    assert case.attachments.get().original_name == "crack.txt"
    assert "Thank you. We received your case." in signed_in.get(response["Location"]).content.decode()


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=1024 * 1024)
def test_oversized_attachment_is_refused_in_the_form_and_nothing_is_lost(signed_in):
    big = SimpleUploadedFile("big.txt", b"a" * (1024 * 1024 + 1), content_type="text/plain")
    response = signed_in.post(
        "/en/portal/new/", {"subject": "Big file", "description": "See the file.", "attachments": [big]}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "big.txt is too large: the limit is 1 MB a file." in body
    assert "See the file." in body and 'value="Big file"' in body  # what was typed is kept
    assert not Case.objects.filter(subject="Big file").exists()


def test_empty_new_case_is_a_form_error(signed_in):
    response = signed_in.post("/en/portal/new/", {"subject": "", "description": ""})
    assert response.status_code == 400
    assert "p-error" in response.content.decode()


def test_message_with_attachment_on_an_existing_case(signed_in, case):
    response = signed_in.post(
        case_url(case, "message/"),
        {"body": "Here is the receipt.", "attachments": [text_file("receipt.txt")]},
    )
    assert response.status_code == 302
    message = case.messages.order_by("-id").first()
    assert (
        message.body == "Here is the receipt."
        and message.channel == Channel.PORTAL
        and message.direction == "in"
    )
    att = message.attachments.get()
    page = signed_in.get(case_url(case)).content.decode()
    assert "Here is the receipt." in page and case_url(case, f"files/{att.pk}/") in page
    assert signed_in.get(case_url(case, f"files/{att.pk}/")).status_code == 200


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=1024 * 1024)
def test_oversized_attachment_on_a_message_is_refused(signed_in, case):
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"0" * (1024 * 1024), content_type="application/pdf")
    response = signed_in.post(case_url(case, "message/"), {"body": "The scan.", "attachments": [big]})
    assert response.status_code == 400
    assert "big.pdf is too large" in response.content.decode()
    assert case.messages.count() == 1


def test_a_30_mb_attachment_is_refused_with_the_real_limit(signed_in, case):
    huge = SimpleUploadedFile(
        "video.zip", b"PK\x03\x04" + b"0" * (30 * 1024 * 1024), content_type="application/zip"
    )
    response = signed_in.post(case_url(case, "message/"), {"body": "The video.", "attachments": [huge]})
    assert response.status_code == 400
    assert "video.zip is too large: the limit is 10 MB a file." in response.content.decode()
    assert "The video." in response.content.decode()
    assert case.messages.count() == 1 and not Attachment.objects.filter(original_name="video.zip").exists()


def test_empty_message_is_a_form_error(signed_in, case):
    response = signed_in.post(case_url(case, "message/"), {"body": "  "})
    assert response.status_code == 400
    assert case.messages.count() == 1


# ---------------------------------------------------------------- confirm / not solved in the portal


def test_customer_confirms_the_solution_in_the_portal(signed_in, personas, case):
    case_propose_solution(actor=personas.adviser, case=case, solution="Replaced the charger.")
    page = signed_in.get(case_url(case)).content.decode()
    assert "Did our solution work?" in page
    response = signed_in.post(case_url(case, "confirm/"))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closure == Closure.CONFIRMED
    event = case.events.get(kind=EventKind.SOLUTION_CONFIRMED)
    assert event.actor is None and event.data["channel"] == "portal"
    page = signed_in.get(case_url(case)).content.decode()
    assert "Solved and closed" in page and "Did our solution work?" not in page


def test_confirm_without_a_proposal_is_refused_with_a_message(signed_in, case):
    response = signed_in.post(case_url(case, "confirm/"), follow=True)
    assert response.status_code == 200
    assert "Only a proposed solution can be confirmed." in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.NEW


def test_not_solved_needs_a_reason_and_reopens_the_case(signed_in, personas, case):
    case_propose_solution(actor=personas.adviser, case=case, solution="Replaced the charger.")
    refused = signed_in.post(case_url(case, "not-solved/"), {"reason": ""})
    assert refused.status_code == 400
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED
    response = signed_in.post(case_url(case, "not-solved/"), {"reason": "Still does not charge."})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.REOPENED and case.reopen_count == 1
    event = CaseEvent.objects.get(case=case, kind=EventKind.REOPENED)
    assert event.actor is None and event.data["reason"] == "Still does not charge."
    assert "Still does not charge." in signed_in.get(case_url(case)).content.decode()


def test_forms_need_csrf(customer, case):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    sign_in(client, customer)
    assert client.post(case_url(case, "message/"), {"body": "hi"}).status_code == 403
    assert client.post("/en/portal/sign-in/", {"email": "somchai@example.com"}).status_code == 403


def test_language_switch_keeps_the_customer_in_the_portal(signed_in):
    response = signed_in.post("/en/accounts/language/", {"language": "es", "next": "/en/portal/"})
    assert response.status_code == 302 and response["Location"] == "/es/portal/"
    page = signed_in.get("/es/portal/")
    assert page.status_code == 200 and '<html lang="es">' in page.content.decode()


@pytest.mark.parametrize("lang", ["th", "ru", "es", "en"])
def test_portal_pages_render_in_every_language(signed_in, personas, case, lang):
    case_propose_solution(actor=personas.adviser, case=case, solution="Done.")
    for path in (f"/{lang}/portal/", f"/{lang}/portal/new/", case_url(case, lang=lang)):
        response = signed_in.get(path)
        assert response.status_code == 200
        assert f'<html lang="{lang}">' in response.content.decode()
