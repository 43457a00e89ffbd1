"""Which case event notifies whom, in which language, with which subject token and threading headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation

from steward.accounts.services import absence_create
from steward.cases.models import Case, CommitmentState
from steward.cases.services import (
    case_close_unconfirmed,
    case_confirm_solution,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_receive_message,
    case_reply,
    commitment_resolve,
    commitment_set,
)
from steward.customers.services import customer_create
from steward.mail.identity import case_number_from_message_id, case_number_from_subject, case_token
from steward.notifications.models import MailState, NotificationKind, OutboundMail, RecipientKind
from steward.testing import DONE, NEED, Personas

pytestmark = pytest.mark.django_db


def mails(case: Case, kind: str | None = None) -> list[OutboundMail]:
    qs = OutboundMail.objects.filter(case=case)
    return list(qs.filter(kind=kind) if kind else qs)


def only(case: Case, kind: str) -> OutboundMail:
    rows = mails(case, kind)
    assert len(rows) == 1, [r.kind for r in mails(case)]
    return rows[0]


def assert_case_mail(row: OutboundMail, case: Case) -> None:
    """Every mail about a case: the case token in the subject, a Message-ID naming the case."""
    assert case_token(case.number) in row.subject
    assert case_number_from_subject(row.subject) == case.number
    assert case_number_from_message_id(row.message_id) == case.number
    assert row.state == MailState.PENDING
    assert row.text_body.strip() and "<html" in row.html_body


def english_customer(staff: Personas) -> None:
    """These tests read the English wording; the persona customer reads Thai (with compiled catalogues)."""
    staff.customer.language = "en"
    staff.customer.save(update_fields=["language"])


# ---------------------------------------------------------------- opening


def test_opening_tells_the_customer_who_takes_care_in_their_language(staff: Personas) -> None:
    row = only(staff.case, NotificationKind.CASE_RECEIVED)
    assert_case_mail(row, staff.case)
    assert row.to == "somchai@example.com"
    assert row.recipient_kind == RecipientKind.CUSTOMER
    assert row.language == "th"
    assert "Adviser" in row.text_body  # the owner, by name
    assert "My new phone stopped charging" in row.text_body
    assert f"{settings.STEWARD_BASE_URL}/th/portal/" in row.text_body  # rendered with Thai active
    assert row.in_reply_to == "" and row.references == ""  # the customer's first message had no id


def test_the_adviser_who_opens_a_case_for_themselves_is_not_told_about_it(staff: Personas) -> None:
    assert mails(staff.case, NotificationKind.ASSIGNED) == []


def test_a_case_opened_by_a_colleague_is_announced_to_its_owner(staff: Personas) -> None:
    case = case_open(
        actor=staff.manager,
        customer=staff.customer,
        subject="Invoice twice",
        description="I was charged twice.",
        owner=staff.adviser,
    )
    row = only(case, NotificationKind.ASSIGNED)
    assert_case_mail(row, case)
    assert (row.to, row.language, row.recipient_kind) == ("adviser@staff.example", "ru", RecipientKind.USER)
    assert row.user == staff.adviser
    assert "Manager" in row.text_body
    assert f"{settings.STEWARD_BASE_URL}/ru/cases/{case.pk}/" in row.text_body  # Russian case page


def test_a_case_that_arrived_by_mail_is_announced_to_its_owner(staff: Personas) -> None:
    case = case_open(
        actor=None,
        customer=staff.customer,
        subject="Screen broken",
        description="The screen cracked.",
        owner=staff.other_adviser,
        external_id="<first@customer.example>",
    )
    assigned = only(case, NotificationKind.ASSIGNED)
    assert (assigned.to, assigned.language) == ("other@staff.example", "es")
    received = only(case, NotificationKind.CASE_RECEIVED)
    # The customer's mail is the parent of Steward's answer.
    assert received.in_reply_to == "<first@customer.example>"
    assert received.references == "<first@customer.example>"


def test_a_next_step_promised_right_after_opening_gets_its_own_mail(staff: Personas) -> None:
    due = timezone.now() + timedelta(days=2)
    with transaction.atomic():
        case = case_open(
            actor=staff.adviser, customer=staff.customer, subject="Refund", description="Refund please."
        )
        commitment_set(actor=staff.adviser, case=case, description="Refund booked", due_at=due)
    # The next step exists only after opening; the received mail says the next step will follow,
    # and the next-step mail carries it.
    assert "Refund booked" in only(case, NotificationKind.NEXT_STEP).text_body


def test_a_customer_without_an_address_gets_no_mail_and_nothing_breaks(staff: Personas) -> None:
    walk_in = customer_create(actor=None, name="No Mail", language="es")
    case = case_open(actor=staff.adviser, customer=walk_in, subject="Walk-in", description="Help.")
    case_reply(actor=staff.adviser, case=case, body="Done.")
    assert mails(case) == []


def test_an_unknown_language_falls_back_to_the_site_language(staff: Personas) -> None:
    customer = customer_create(actor=None, name="Ana", email="ana@example.com", language="pt-BR")
    case = case_open(actor=staff.adviser, customer=customer, subject="Hola", description="Ayuda.")
    assert only(case, NotificationKind.CASE_RECEIVED).language == settings.LANGUAGE_CODE


# ---------------------------------------------------------------- conversation


def test_a_reply_goes_to_the_customer_threaded_under_earlier_mail(staff: Personas) -> None:
    case = case_open(
        actor=staff.adviser,
        customer=staff.customer,
        subject="Late parcel",
        description="Where is my parcel?",
        external_id="<q1@customer.example>",
    )
    received = only(case, NotificationKind.CASE_RECEIVED)
    case_reply(actor=staff.adviser, case=case, body="It left the warehouse today.")
    reply = only(case, NotificationKind.REPLY)
    assert_case_mail(reply, case)
    assert reply.language == "th"
    assert "It left the warehouse today." in reply.text_body
    assert reply.in_reply_to == received.message_id
    assert reply.references.split() == ["<q1@customer.example>", received.message_id]
    assert reply.message_id not in (received.message_id,)


def test_the_customers_latest_mail_joins_the_thread(staff: Personas) -> None:
    case = staff.case
    received = only(case, NotificationKind.CASE_RECEIVED)
    case_receive_message(case=case, body="Any news?", external_id="news@customer.example")
    case_reply(actor=staff.adviser, case=case, body="Tomorrow.")
    reply = only(case, NotificationKind.REPLY)
    # An id stored without brackets is still threaded, in brackets, as the latest parent.
    assert reply.in_reply_to == "<news@customer.example>"
    assert reply.references.split() == [received.message_id, "<news@customer.example>"]


def test_user_text_is_escaped_in_html_and_kept_as_written_in_text(staff: Personas) -> None:
    case_reply(actor=staff.adviser, case=staff.case, body='Use <script>alert("x")</script> & wait')
    reply = only(staff.case, NotificationKind.REPLY)
    assert '<script>alert("x")</script> & wait' in reply.text_body
    assert "<script>" not in reply.html_body
    assert "&lt;script&gt;" in reply.html_body


def test_a_customer_message_tells_the_owner(staff: Personas) -> None:
    case_receive_message(case=staff.case, body="It still does not charge.")
    row = only(staff.case, NotificationKind.CUSTOMER_WROTE)
    assert_case_mail(row, staff.case)
    assert (row.to, row.language) == ("adviser@staff.example", "ru")
    assert "It still does not charge." in row.text_body
    assert "Somchai Jaidee" in row.subject
    # Staff mail threads among staff mail only: never under the customer's messages.
    assert row.in_reply_to == ""


def test_while_the_owner_is_away_the_backup_is_told_too(staff: Personas) -> None:
    now = timezone.now()
    absence_create(
        actor=None,
        user=staff.adviser,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        reason="Training",
    )
    case_receive_message(case=staff.case, body="Hello?")
    assert {r.to for r in mails(staff.case, NotificationKind.CUSTOMER_WROTE)} == {
        "adviser@staff.example",
        "backup@staff.example",
    }


def test_staff_recording_a_customer_message_is_not_told_about_it(staff: Personas) -> None:
    case_receive_message(case=staff.case, body="Phoned in: still broken.", recorded_by=staff.adviser)
    assert mails(staff.case, NotificationKind.CUSTOMER_WROTE) == []


def test_an_automatic_message_notifies_nobody(staff: Personas) -> None:
    before = OutboundMail.objects.count()
    case_receive_message(case=staff.case, body="I am out of office until Monday.", is_automatic=True)
    assert OutboundMail.objects.count() == before


# ---------------------------------------------------------------- ownership


def test_a_handoff_tells_the_customer_the_new_owner_and_the_new_owner_the_summary(staff: Personas) -> None:
    case_hand_off(
        actor=staff.adviser,
        case=staff.case,
        to_user=staff.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
    )
    to_customer = only(staff.case, NotificationKind.HANDOFF)
    assert_case_mail(to_customer, staff.case)
    assert to_customer.language == "th"
    assert "Other" in to_customer.subject
    with translation.override("th"):  # the role in the customer's language (when catalogs are compiled)
        role = str(staff.other_adviser.get_role_display())
    assert f"Other ({role})" in to_customer.text_body  # name and role
    to_owner = only(staff.case, NotificationKind.HANDED_OVER)
    assert (to_owner.to, to_owner.language) == ("other@staff.example", "es")
    assert NEED in to_owner.text_body and DONE in to_owner.text_body
    assert NEED in to_owner.html_body


def test_a_manager_taking_a_case_over_is_not_told_about_it(staff: Personas) -> None:
    case_hand_off(
        actor=staff.manager, case=staff.case, to_user=staff.manager, customer_need=NEED, done_so_far=DONE
    )
    assert mails(staff.case, NotificationKind.HANDED_OVER) == []
    assert len(mails(staff.case, NotificationKind.HANDOFF)) == 1


# ---------------------------------------------------------------- next steps, solution, closure


def test_a_next_step_tells_the_customer_what_and_when_and_a_change_says_so(staff: Personas) -> None:
    english_customer(staff)
    due = timezone.now() + timedelta(days=1)
    first = commitment_set(actor=staff.adviser, case=staff.case, description="Courier pick-up", due_at=due)
    row = only(staff.case, NotificationKind.NEXT_STEP)
    assert_case_mail(row, staff.case)
    assert "Courier pick-up" in row.text_body and "Courier pick-up" in row.html_body
    assert "changed" not in row.subject
    commitment_resolve(actor=staff.adviser, commitment=first, state=CommitmentState.CANCELLED)
    commitment_set(actor=staff.adviser, case=staff.case, description="Courier on Friday", due_at=due)
    changed = mails(staff.case, NotificationKind.NEXT_STEP)[-1]
    assert "Courier on Friday" in changed.text_body
    assert "changed" in changed.subject


def test_a_proposed_solution_carries_absolute_confirm_and_not_solved_links(staff: Personas) -> None:
    english_customer(staff)
    case_propose_solution(actor=staff.adviser, case=staff.case, solution="Replace the cable; it was faulty.")
    row = only(staff.case, NotificationKind.SOLUTION_PROPOSED)
    assert_case_mail(row, staff.case)
    assert "Replace the cable; it was faulty." in row.text_body
    links = [line.split(": ", 1)[1] for line in row.text_body.splitlines() if "solved: http" in line]
    assert len(links) == 2
    for link in links:
        assert link.startswith(settings.STEWARD_BASE_URL)
        assert f'href="{link}"' in row.html_body


def test_closing_tells_the_customer_confirmed_or_not(staff: Personas) -> None:
    english_customer(staff)
    case_propose_solution(actor=staff.adviser, case=staff.case, solution="Fixed.")
    case_confirm_solution(case=staff.case)
    confirmed = only(staff.case, NotificationKind.CLOSED)
    assert_case_mail(confirmed, staff.case)
    assert "Thank you for confirming" in confirmed.text_body

    other = case_open(
        actor=staff.adviser, customer=staff.customer, subject="Other", description="Other need."
    )
    case_close_unconfirmed(actor=staff.manager, case=other, reason="Customer unreachable for two weeks.")
    unconfirmed = only(other, NotificationKind.CLOSED)
    assert "Thank you" not in unconfirmed.text_body
    assert "unreachable" not in unconfirmed.text_body  # the manager's reason is internal


def test_events_nobody_is_told_about_write_no_mail(staff: Personas) -> None:
    from steward.cases.services import case_add_note, case_set_status

    before = OutboundMail.objects.count()
    case_add_note(actor=staff.adviser, case=staff.case, body="Internal only.")
    case_set_status(actor=staff.adviser, case=staff.case, status="waiting_sector")
    assert OutboundMail.objects.count() == before


# ---------------------------------------------------------------- transactions


def test_a_rolled_back_change_leaves_no_mail_and_sends_nothing(
    staff: Personas, django_capture_on_commit_callbacks
) -> None:
    before = OutboundMail.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        case_reply(actor=staff.adviser, case=staff.case, body="Never sent.")
        raise RuntimeError("the request failed after the reply")
    assert OutboundMail.objects.count() == before
    assert callbacks == [] and mail.outbox == []


def test_a_notification_fault_does_not_undo_the_case_change(staff: Personas, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ValueError("template bug")

    monkeypatch.setattr("steward.notifications.services.render_notice", broken)
    message = case_reply(actor=staff.adviser, case=staff.case, body="Recorded anyway.")
    assert message.pk and mails(staff.case, NotificationKind.REPLY) == []


def test_history_loaded_while_muted_notifies_nobody(staff: Personas) -> None:
    from steward.notifications.services import notifications_muted

    before = OutboundMail.objects.count()
    with notifications_muted():
        case = case_open(
            actor=staff.manager,
            customer=staff.customer,
            subject="Old",
            description="Old need.",
            owner=staff.adviser,
        )
        case_reply(actor=staff.adviser, case=case, body="Old reply.")
    assert OutboundMail.objects.count() == before
    case_reply(actor=staff.adviser, case=case, body="A reply today.")  # outside the block: told again
    assert len(mails(case, NotificationKind.REPLY)) == 1


@pytest.mark.parametrize("repeated", [None, 3, 30])
@pytest.mark.parametrize("minute", [9, 15])  # the customer's mail before the kept tail, inside it
def test_a_long_thread_gets_the_headers_the_whole_thread_gives(staff: Personas, repeated, minute) -> None:
    """Issue 9: on PostgreSQL the headers are taken from the thread's first mail and its last ones only
    (services._thread_rows); they equal those of the whole thread (`_thread_rows_all`), with mails at
    equal times, the customer's latest mail among them, and that mail repeating one of our ids."""
    from steward.notifications import services

    case = staff.case
    at = timezone.now()
    sent = []
    for i in range(40):
        row = services.outbox_enqueue(
            to=staff.customer.email,
            language="en",
            kind=NotificationKind.REPLY,
            subject="s",
            text="t",
            html="",
            case=case,
        )
        OutboundMail.objects.filter(pk=row.pk).update(created_at=at + timedelta(minutes=i // 2))
        sent.append(row)
    external = "mail@customer.example" if repeated is None else sent[repeated].message_id.strip("<>")
    case_receive_message(
        case=case, body="Any news?", external_id=external, at=at + timedelta(minutes=minute, seconds=30)
    )
    for to, kind in ((staff.customer.email, RecipientKind.CUSTOMER), ("x@staff.example", RecipientKind.USER)):
        fast = services.threading_headers(case, to=to, recipient_kind=kind)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(services, "_thread_rows", services._thread_rows_all)
            whole = services.threading_headers(case, to=to, recipient_kind=kind)
        assert fast == whole
        assert len(whole[1].split()) == (services.REFERENCES_KEPT if to == staff.customer.email else 0)


def test_a_reply_reads_its_thread_and_the_portal_key_together(staff: Personas) -> None:
    """Issue 9: on PostgreSQL a reply's mail reads the customer's thread and the case's portal key in
    one statement before it is rendered; the mail links the case's existing key and threads as the
    whole thread says."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from steward.notifications import services
    from steward.portal.services import case_keys

    key = case_keys([staff.case.pk])[staff.case.pk]
    case_reply(actor=staff.adviser, case=staff.case, body="First.")
    fresh = Case.objects.get(pk=staff.case.pk)  # as the next request reads it
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(services, "_thread_rows", services._thread_rows_all)
        expected = services.threading_headers(
            Case.objects.get(pk=fresh.pk), to=staff.customer.email, recipient_kind=RecipientKind.CUSTOMER
        )
    with CaptureQueriesContext(connection) as queries:
        case_reply(actor=staff.adviser, case=fresh, body="Second.")
    last = OutboundMail.objects.filter(case=staff.case, kind=NotificationKind.REPLY).latest("id")
    assert key in last.text_body and key in last.html_body
    assert (last.in_reply_to, last.references) == expected
    key_reads = [q["sql"] for q in queries.captured_queries if "portal_portalcasekey" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(key_reads) == 1 and "outboundmail" in key_reads[0]  # read with the thread


def test_a_reply_on_a_case_without_a_portal_key_makes_one_without_looking_twice(staff: Personas) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from steward.portal.models import PortalCaseKey

    PortalCaseKey.objects.filter(case=staff.case).delete()
    fresh = Case.objects.get(pk=staff.case.pk)
    with CaptureQueriesContext(connection) as queries:
        case_reply(actor=staff.adviser, case=fresh, body="On it.")
    key = PortalCaseKey.objects.get(case=staff.case).key
    last = OutboundMail.objects.filter(case=staff.case, kind=NotificationKind.REPLY).latest("id")
    assert key in last.text_body
    key_statements = [q["sql"] for q in queries.captured_queries if "portal_portalcasekey" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(key_statements) == 2  # read with the thread (none), then made
        assert key_statements[1].startswith("INSERT")
