"""Service rules of the case continuity core, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.accounts.models import Role
from steward.accounts.services import absence_create
from steward.cases import services as svc
from steward.cases.attachments import sniff_content_type
from steward.cases.models import Case, Category, Closure, CommitmentState, EventKind, Status
from steward.cases.summaries import summary_problem
from steward.core.errors import DomainError, NotPermitted, StaleVersion
from steward.customers.services import customer_create
from steward.testing import DONE, NEED, make_user

pytestmark = pytest.mark.django_db
NOW = timezone.now


def kinds(case: Case) -> list[str]:
    return list(case.events.order_by("version").values_list("kind", flat=True))


def test_every_event_bumps_the_version_by_one(case, adviser):
    svc.case_reply(actor=adviser, case=case, body="Hello")
    svc.case_add_note(actor=adviser, case=case, body="Checked")
    case.refresh_from_db()
    assert list(case.events.order_by("version").values_list("version", flat=True)) == list(
        range(1, case.version + 1)
    )
    assert kinds(case) == [EventKind.OPENED, EventKind.MESSAGE_IN, EventKind.MESSAGE_OUT, EventKind.NOTE]


def test_first_response_is_set_by_the_first_reply_only(case, adviser):
    first = svc.case_reply(actor=adviser, case=case, body="One")
    svc.case_reply(actor=adviser, case=case, body="Two", at=NOW() + timedelta(minutes=5))
    case.refresh_from_db()
    assert case.first_response_at == first.created_at
    assert case.status == Status.OPEN


def test_proposing_does_not_close_and_confirmation_closes(case, adviser):
    svc.case_propose_solution(actor=adviser, case=case, solution="Replaced")
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED and case.closed_at is None and case.solution_proposed_at
    svc.case_confirm_solution(case=case, channel="portal")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.closure == Closure.CONFIRMED and case.closed_at


def test_staff_recorded_confirmation_needs_a_note(case, adviser):
    svc.case_propose_solution(actor=adviser, case=case, solution="Replaced")
    with pytest.raises(DomainError) as err:
        svc.case_confirm_solution(case=case, actor=adviser, channel="phone")
    assert err.value.field == "note"


def test_cannot_confirm_without_a_proposed_solution(case):
    with pytest.raises(DomainError):
        svc.case_confirm_solution(case=case)


def test_closing_unconfirmed_needs_a_manager_and_a_reason(case, adviser, manager):
    with pytest.raises(NotPermitted):
        svc.case_close_unconfirmed(actor=adviser, case=case, reason="Customer unreachable for weeks")
    with pytest.raises(DomainError) as err:
        svc.case_close_unconfirmed(actor=manager, case=case, reason="short")
    assert err.value.field == "reason"
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")
    case.refresh_from_db()
    assert case.closure == Closure.UNCONFIRMED and case.closure_note


def test_customer_message_reopens_a_proposed_case(case, adviser):
    svc.case_propose_solution(actor=adviser, case=case, solution="Replaced")
    svc.case_receive_message(case=case, body="Still broken")
    case.refresh_from_db()
    assert case.status == Status.REOPENED and case.reopen_count == 1
    assert kinds(case)[-1] == EventKind.REOPENED


def test_customer_message_reopens_a_recently_closed_case_but_not_an_old_one(case, adviser):
    t0 = NOW() - timedelta(days=10)
    c = Case.objects.get(pk=case.pk)
    svc.case_propose_solution(actor=adviser, case=c, solution="Done", at=t0)
    svc.case_confirm_solution(case=c, at=t0 + timedelta(hours=1))
    with pytest.raises(DomainError) as err:
        svc.case_receive_message(case=c, body="Hello again")
    assert err.value.code == "closed_too_long"
    svc.case_receive_message(case=c, body="Hello again", at=t0 + timedelta(days=3))
    c.refresh_from_db()
    assert c.status == Status.REOPENED and c.closed_at is None


def test_customer_message_ends_waiting_on_customer(case, adviser):
    svc.case_reply(actor=adviser, case=case, body="Which model?", wait_for_customer=True)
    case.refresh_from_db()
    assert case.status == Status.WAITING_CUSTOMER
    svc.case_receive_message(case=case, body="Model X")
    case.refresh_from_db()
    assert case.status == Status.OPEN


def test_automatic_message_does_not_reopen(case, adviser):
    svc.case_propose_solution(actor=adviser, case=case, solution="Done")
    svc.case_receive_message(case=case, body="I am out of office", is_automatic=True)
    case.refresh_from_db()
    assert case.status == Status.SOLUTION_PROPOSED


@pytest.mark.parametrize(
    "need",
    [
        "",
        "   ",
        "see history",
        "Ver historial",
        "см. историю",
        "ดูประวัติ",
        "too short",
        "aaaaaaaaaaaaaaaaaaaaaaaa",
    ],
)
def test_handoff_without_a_real_summary_is_rejected(case, adviser, other_adviser, need):
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(
            actor=adviser, case=case, to_user=other_adviser, customer_need=need, done_so_far=DONE
        )
    assert err.value.field == "customer_need"
    case.refresh_from_db()
    assert case.owner == adviser


def test_handoff_with_a_thai_summary_is_accepted(case, adviser, other_adviser):
    handoff = svc.case_hand_off(
        actor=adviser,
        case=case,
        to_user=other_adviser,
        customer_need="ลูกค้าต้องการเครื่องใหม่ที่ชาร์จไฟได้ก่อนวันศุกร์นี้",
        done_so_far="ตรวจสอบประกันแล้ว สั่งเครื่องทดแทนจากคลังสินค้า",
    )
    case.refresh_from_db()
    assert case.owner == other_adviser and handoff.from_user == adviser
    assert (
        Case.objects.visible_to(adviser).filter(pk=case.pk).exists()
    )  # the previous owner can still read it


def test_handoff_to_someone_who_cannot_own_cases_is_rejected(case, adviser, sector_member, executive):
    inactive = make_user("gone")
    inactive.is_active = False
    inactive.save()
    for target in (sector_member, executive, inactive, adviser):
        with pytest.raises(DomainError) as err:
            svc.case_hand_off(actor=adviser, case=case, to_user=target, customer_need=NEED, done_so_far=DONE)
        assert err.value.field == "to_user"


def test_closed_case_cannot_be_handed_over(case, adviser, manager, other_adviser):
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")
    with pytest.raises(DomainError):
        svc.case_hand_off(
            actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE
        )


def test_other_adviser_and_executive_may_not_act(case, other_adviser, executive):
    for user in (other_adviser, executive):
        with pytest.raises(NotPermitted):
            svc.case_reply(actor=user, case=case, body="Hi")


def test_backup_acts_only_while_the_owner_is_away(case, adviser, backup, other_adviser):
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=backup, case=case, body="Covering")
    absence_create(
        actor=None,
        user=adviser,
        starts_at=NOW() - timedelta(hours=1),
        ends_at=NOW() + timedelta(hours=8),
        reason="Course",
    )
    svc.case_reply(actor=backup, case=case, body="Covering")
    svc.case_hand_off(actor=backup, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE)
    case.refresh_from_db()
    assert case.owner == other_adviser


def test_manager_may_act_on_any_case(case, manager):
    svc.case_reply(actor=manager, case=case, body="Manager here")


def test_note_by_a_team_member_who_can_see_the_case(case, adviser):
    colleague = make_user("colleague", team=adviser.team)
    svc.case_add_note(actor=colleague, case=case, body="I know this customer")
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=colleague, case=case, body="Hi")


@pytest.mark.parametrize("action", ["reply", "handoff", "propose", "status"])
def test_stale_version_is_refused_with_the_changes(case, adviser, manager, other_adviser, action):
    loaded = case.version
    svc.case_add_note(actor=manager, case=case, body="Called the customer")
    calls = {
        "reply": lambda v: svc.case_reply(actor=adviser, case=case, body="Hi", expected_version=v),
        "handoff": lambda v: svc.case_hand_off(
            actor=adviser,
            case=case,
            to_user=other_adviser,
            customer_need=NEED,
            done_so_far=DONE,
            expected_version=v,
        ),
        "propose": lambda v: svc.case_propose_solution(
            actor=adviser, case=case, solution="Fixed", expected_version=v
        ),
        "status": lambda v: svc.case_set_status(
            actor=adviser, case=case, status="waiting_sector", expected_version=v
        ),
    }
    with pytest.raises(StaleVersion) as err:
        calls[action](loaded)
    case.refresh_from_db()
    assert err.value.current_version == case.version and len(err.value.changes) == 1
    assert "Internal note" in err.value.changes[0]
    calls[action](case.version)


def test_next_step_due_in_the_past_is_rejected(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.commitment_set(actor=adviser, case=case, description="Call", due_at=NOW() - timedelta(minutes=1))
    assert err.value.field == "due_at"


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (CommitmentState.KEPT, EventKind.COMMITMENT_KEPT),
        (CommitmentState.BROKEN, EventKind.COMMITMENT_BROKEN),
        (CommitmentState.CANCELLED, EventKind.COMMITMENT_CANCELLED),
    ],
)
def test_next_step_outcomes_are_events_with_on_time(case, adviser, state, event):
    t = NOW()
    step = svc.commitment_set(
        actor=adviser, case=case, description="Call", due_at=t + timedelta(hours=1), at=t
    )
    svc.commitment_resolve(actor=adviser, commitment=step, state=state, at=t + timedelta(hours=2))
    last = case.events.order_by("version").last()
    assert last.kind == event and last.data["on_time"] is False
    with pytest.raises(DomainError):
        svc.commitment_resolve(actor=adviser, commitment=step, state=CommitmentState.KEPT)


def test_follow_up_within_seven_days_is_linked_as_repeat_contact(personas, adviser, manager):
    customer, billing = personas.customer, Category.objects.create(name="Billing")
    t0 = NOW() - timedelta(days=20)
    first = svc.case_open(
        actor=adviser, customer=customer, subject="Bill", description="Wrong", category=billing, at=t0
    )
    svc.case_close_unconfirmed(
        actor=manager, case=first, reason="Customer stopped answering", at=t0 + timedelta(days=1)
    )
    linked = svc.case_open(
        actor=adviser,
        customer=customer,
        subject="Bill again",
        description="Still wrong",
        category=billing,
        at=t0 + timedelta(days=7),
    )
    assert linked.follow_up_of == first and linked.is_repeat_contact
    assert EventKind.FOLLOW_UP_LINKED in kinds(linked)
    late = svc.case_open(
        actor=adviser,
        customer=customer,
        subject="Bill",
        description="x",
        category=billing,
        at=t0 + timedelta(days=9),
    )
    other_category = svc.case_open(
        actor=adviser,
        customer=customer,
        subject="Phone",
        description="x",
        category=Category.objects.create(name="Device"),
        at=t0 + timedelta(days=2),
    )
    stranger = customer_create(actor=None, name="Someone else")
    other_customer = svc.case_open(
        actor=adviser,
        customer=stranger,
        subject="Bill",
        description="x",
        category=billing,
        at=t0 + timedelta(days=2),
    )
    assert (
        late.follow_up_of is None
        and other_category.follow_up_of is None
        and other_customer.follow_up_of is None
    )


def test_repeat_explanation_flag(case, adviser):
    event = svc.case_flag_repeat_explanation(actor=adviser, case=case, comment="Told the story twice")
    assert event.kind == EventKind.REPEAT_EXPLANATION and event.data["comment"] == "Told the story twice"


def test_manual_status_only_for_open_and_waiting(case, adviser):
    with pytest.raises(DomainError):
        svc.case_set_status(actor=adviser, case=case, status=Status.CLOSED)
    svc.case_propose_solution(actor=adviser, case=case, solution="Done")
    with pytest.raises(DomainError):
        svc.case_set_status(actor=adviser, case=case, status=Status.OPEN)


def test_overlapping_absence_is_rejected_and_adjacent_allowed(adviser):
    t = NOW()
    absence_create(actor=None, user=adviser, starts_at=t, ends_at=t + timedelta(hours=8), reason="Course")
    with pytest.raises(DomainError):
        absence_create(
            actor=None,
            user=adviser,
            starts_at=t + timedelta(hours=7),
            ends_at=t + timedelta(hours=9),
            reason="Doctor",
        )
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t + timedelta(hours=8),
        ends_at=t + timedelta(hours=9),
        reason="Doctor",
    )
    with pytest.raises(DomainError):
        absence_create(
            actor=None,
            user=adviser,
            starts_at=t + timedelta(days=2),
            ends_at=t + timedelta(days=1),
            reason="Backwards",
        )
    with pytest.raises(DomainError):
        absence_create(
            actor=None,
            user=adviser,
            starts_at=t + timedelta(days=3),
            ends_at=t + timedelta(days=4),
            reason=" ",
        )


def test_owner_must_be_someone_who_can_own_cases(customer, sector_member):
    with pytest.raises(DomainError) as err:
        svc.case_open(actor=sector_member, customer=customer, subject="S", description="D")
    assert err.value.field == "owner"


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("scan.pdf", PDF, "application/pdf"),
        ("photo.png", PNG, "image/png"),
        ("notes.txt", "ลูกค้าแจ้งว่า".encode(), "text/plain"),
    ],
)
def test_allowed_attachments_are_stored_with_the_sniffed_type(case, adviser, name, content, expected):
    note = svc.case_add_note(
        actor=adviser,
        case=case,
        body="File",
        attachments=[SimpleUploadedFile(name, content, content_type="application/octet-stream")],
    )
    att = note.attachments.get()
    assert att.content_type == expected and att.size == len(content) and att.original_name == name
    assert name not in (att.file.name or "")  # stored under a generated name


def test_executable_disguised_as_pdf_is_rejected_and_nothing_is_stored(case, adviser):
    version = Case.objects.get(pk=case.pk).version
    files = [
        SimpleUploadedFile("ok.pdf", PDF),
        SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00\x03" + b"\x00" * 60),
    ]
    with pytest.raises(DomainError) as err:
        svc.case_add_note(actor=adviser, case=case, body="Files", attachments=files)
    assert err.value.code == "forbidden_type"
    assert case.notes.count() == 0 and case.attachments.count() == 0
    assert Case.objects.get(pk=case.pk).version == version


@override_settings(STEWARD_ATTACHMENT_MAX_BYTES=100)
def test_oversize_attachment_is_rejected(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.case_add_note(
            actor=adviser, case=case, body="Big", attachments=[SimpleUploadedFile("a.txt", b"a" * 101)]
        )
    assert err.value.code == "too_large"


def test_roles_are_checked_when_users_are_created():
    from steward.accounts.services import user_create

    with pytest.raises(DomainError):
        user_create(username="x", role="wizard")
    assert user_create(username="y", role=Role.EXECUTIVE).role == Role.EXECUTIVE


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_summary_check_never_raises(text):
    assert summary_problem(text) is None or isinstance(summary_problem(text), str)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_content_sniffing_never_raises(data):
    assert sniff_content_type(data) in (
        None,
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/zip",
        "text/plain",
    )
