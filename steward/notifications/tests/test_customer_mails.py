"""What the customer reads: "case received" per channel, the portal link in every mail, and the
confirm link of a proposed solution followed from the mail itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase
from django.utils import timezone

from steward.cases import task_services as ts
from steward.cases.models import Case, CaseEvent, Channel, Closure, EventKind, Status
from steward.cases.services import (
    case_close_unconfirmed,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_reply,
    commitment_set,
)
from steward.mail.services import mail_receive
from steward.mail.tests.helpers import make_mail
from steward.notifications.compose import portal_url
from steward.notifications.models import NotificationKind, OutboundMail
from steward.portal.services import portal_case_open
from steward.testing import DONE, NEED, Personas

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_url_and_fresh_throttles(settings):
    settings.STEWARD_BASE_URL = "http://testserver"
    cache.clear()
    yield
    cache.clear()


def received(case: Case) -> OutboundMail:
    [row] = OutboundMail.objects.filter(case=case, kind=NotificationKind.CASE_RECEIVED)
    return row


# ---------------------------------------------------------------- "case received", per channel


def test_case_received_for_a_case_written_in_the_portal(staff: Personas) -> None:
    case = portal_case_open(customer=staff.customer, subject="Screen flickers", description="Since Monday.")
    assert case.channel == Channel.PORTAL
    row = received(case)
    assert row.to == staff.customer.email and row.language == "th"
    assert "Since Monday." in row.text_body
    assert case.owner.display_name in row.text_body
    assert portal_url("th") in row.text_body and row.in_reply_to == ""


def test_case_received_for_a_case_opened_by_mail_answers_in_the_customers_thread(staff: Personas) -> None:
    raw = make_mail(
        sender="Maria Lopez <maria@example.org>",
        subject="Mi pedido no llegó",
        body="Hola, mi pedido no ha llegado todavía. ¿Pueden ayudarme?",
        message_id="<first@client.example>",
    )
    inbound = mail_receive(raw=raw)
    case = inbound.case
    assert case is not None and case.channel == Channel.EMAIL
    row = received(case)
    assert row.to == "maria@example.org"
    assert row.in_reply_to == "<first@client.example>"  # the reply sits under the customer's own mail
    assert "mi pedido no ha llegado" in row.text_body
    assert portal_url(row.language) in row.text_body


def test_case_received_for_a_phone_call_says_what_we_noted_not_what_they_wrote(staff: Personas) -> None:
    staff.customer.language = "en"
    staff.customer.save(update_fields=["language"])
    case = case_open(
        actor=staff.adviser,
        customer=staff.customer,
        subject="Called about the invoice",
        description="Customer says the invoice shows a fee twice.",
        owner=staff.adviser,
        channel=Channel.PHONE,
    )
    row = received(case)
    assert "What you told us, as we noted it:" in row.text_body
    assert "What you told us, as we noted it:" in row.html_body
    assert "What you wrote:" not in row.text_body
    assert "the invoice shows a fee twice" in row.text_body


def test_case_received_in_english_for_a_written_case_says_what_you_wrote(staff: Personas) -> None:
    staff.customer.language = "en"
    staff.customer.save(update_fields=["language"])
    case = portal_case_open(customer=staff.customer, subject="Screen flickers", description="Since Monday.")
    assert "What you wrote:" in received(case).text_body


# ---------------------------------------------------------------- the portal link in every customer mail


def test_every_customer_mail_links_the_portal_where_owner_and_next_step_are_shown(staff: Personas) -> None:
    case = staff.case
    case_reply(actor=staff.adviser, case=case, body="We are checking the charger.")
    commitment_set(
        actor=staff.adviser,
        case=case,
        description="Courier pick-up",
        due_at=timezone.now() + timedelta(days=1),
    )
    ts.task_create(actor=staff.adviser, case=case, sector=staff.billing, description="Refund the fee.")
    case_hand_off(
        actor=staff.adviser, case=case, to_user=staff.other_adviser, customer_need=NEED, done_so_far=DONE
    )
    case.refresh_from_db()
    for task in case.sector_tasks.all():
        ts.task_cancel(actor=staff.other_adviser, task=task)
    case_propose_solution(actor=staff.other_adviser, case=case, solution="A new charger is on its way.")
    case_close_unconfirmed(actor=staff.manager, case=case, reason="No answer.")
    link = portal_url("th")
    kinds = {
        NotificationKind.CASE_RECEIVED,
        NotificationKind.REPLY,
        NotificationKind.NEXT_STEP,
        NotificationKind.SECTOR_STEP,
        NotificationKind.HANDOFF,
        NotificationKind.SOLUTION_PROPOSED,
        NotificationKind.CLOSED,
    }
    rows = OutboundMail.objects.filter(case=case, kind__in=kinds)
    assert {r.kind for r in rows} == kinds
    for row in rows:
        assert row.to == staff.customer.email
        assert link in row.text_body, row.kind
        assert f'href="{link}"' in row.html_body, row.kind


# ---------------------------------------------------------------- the confirm link, followed from the mail

CONFIRM = re.compile(r"http://testserver(/\w\w/portal/solution/[^\s/]+/confirm/)")


def test_the_confirm_link_in_the_mail_shows_a_button_then_closes_the_case_once(staff: Personas) -> None:
    case = staff.case
    with TestCase.captureOnCommitCallbacks(execute=True):
        case_propose_solution(actor=staff.adviser, case=case, solution="A new charger is on its way.")
    sent = [m for m in mail.outbox if "ST#" in str(m.subject) and m.to == [staff.customer.email]][-1]
    match = CONFIRM.search(str(sent.body))
    assert match is not None, sent.body
    path = match.group(1)
    html, _mime = sent.alternatives[0]  # type: ignore[attr-defined]
    assert path in str(html)

    browser = Client()
    page = browser.get(path)  # a mail scanner's prefetch, or the customer opening the link
    assert page.status_code == 200
    assert 'method="post"' in page.content.decode() and "<button" in page.content.decode()
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED  # GET changed nothing

    done = browser.post(path)
    assert done.status_code == 200
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closure == Closure.CONFIRMED

    again = browser.post(path)  # the same link used a second time
    assert again.status_code == 200
    assert CaseEvent.objects.filter(case=case, kind=EventKind.SOLUTION_CONFIRMED).count() == 1
    assert OutboundMail.objects.filter(case=case, kind=NotificationKind.CLOSED).count() == 1


# ---------------------------------------------------------------- the link to the case itself


def test_every_customer_mail_links_straight_to_the_case_in_the_portal(staff: Personas) -> None:
    from steward.portal.services import case_key

    case = portal_case_open(customer=staff.customer, subject="Screen flickers", description="Since Monday.")
    case_reply(actor=case.owner, case=case, body="Please send a photo.")
    link = f"http://testserver/th/portal/cases/{case_key(case)}/"  # absolute, in the customer's language
    to_customer = OutboundMail.objects.filter(case=case, to=staff.customer.email)
    assert {r.kind for r in to_customer} >= {NotificationKind.CASE_RECEIVED, NotificationKind.REPLY}
    for row in to_customer:
        assert link in row.text_body and f'href="{link}"' in row.html_body, row.kind
        assert portal_url("th") in row.text_body  # "all your requests" stays as a second link
    to_staff = OutboundMail.objects.filter(case=case).exclude(to=staff.customer.email)
    assert to_staff.exists()  # the owner was told of the new case
    for row in to_staff:  # advisers get the agent case page, never the customer's key
        assert "/portal/cases/" not in row.text_body and "/portal/cases/" not in row.html_body
