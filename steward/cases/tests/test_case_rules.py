"""The case rules, one test per rule, through the services only (no HTTP).

The event log is the source of truth: every service appends one CaseEvent per state change, with the
right kind and actor, and bumps the case version by exactly one per event.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.accounts.models import Absence, User
from steward.accounts.services import absence_create
from steward.cases import services as svc
from steward.cases.attachments import sniff_content_type
from steward.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    Category,
    Channel,
    Closure,
    Commitment,
    CommitmentState,
    EventKind,
    Handoff,
    Message,
    Note,
    Status,
)
from steward.cases.summaries import summary_problem
from steward.core.errors import DomainError, NotPermitted, StaleVersion
from steward.customers.services import customer_create
from steward.testing import DONE, NEED, make_user

pytestmark = pytest.mark.django_db

THAI_NEED = "ลูกค้าต้องการโทรศัพท์เครื่องใหม่ที่ใช้งานได้ก่อนวันศุกร์นี้"
THAI_DONE = "ตรวจสอบการรับประกันแล้วว่ายังมีผล และสั่งเครื่องทดแทนจากคลังสินค้า"
LAZY_SUMMARIES = ["see history", "ver historial", "см. историю", "ดูประวัติ"]

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
_IHDR = b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
PNG = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + _IHDR + struct.pack(">I", zlib.crc32(_IHDR))
THAI_TEXT = "ลูกค้าแจ้งว่าโทรศัพท์ชาร์จไม่เข้า\nหลังจากใช้งานสองวัน\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48


# ---------------------------------------------------------------- helpers


def now() -> datetime:
    return timezone.now()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def snapshot(case: Case) -> tuple[int, int]:
    """The case's version and its number of events, before an action."""
    return fresh(case).version, CaseEvent.objects.filter(case=case).count()


def assert_appended(case: Case, before: tuple[int, int], expected: list[tuple[str, User | None]]) -> None:
    """Exactly `expected` events (kind, actor) were appended, each bumping the version by one."""
    version, count = before
    current = fresh(case)
    new = list(CaseEvent.objects.filter(case=case).order_by("version", "id")[count:])
    assert [(e.kind, e.actor_id) for e in new] == [(k, getattr(a, "pk", None)) for k, a in expected]
    assert [e.version for e in new] == list(range(version + 1, version + 1 + len(expected)))
    assert current.version == version + len(expected)
    assert CaseEvent.objects.filter(case=case).count() == count + len(expected)


def assert_unchanged(case: Case, before: tuple[int, int]) -> None:
    assert snapshot(case) == before


def open_case(
    actor: User, customer: Any, *, at: datetime, category: Category | None = None, subject: str = "Charger"
) -> Case:
    return svc.case_open(
        actor=actor,
        customer=customer,
        subject=subject,
        description="The charger stopped working after two days.",
        category=category,
        at=at,
    )


def propose(case: Case, actor: User, at: datetime) -> Case:
    return svc.case_propose_solution(actor=actor, case=case, solution="We replaced the charger.", at=at)


def close_confirmed(case: Case, actor: User, at: datetime) -> Case:
    """Propose an hour before `at`; the customer confirms at `at`."""
    propose(case, actor, at - timedelta(hours=1))
    return svc.case_confirm_solution(case=case, at=at)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def away(user: User, at: datetime) -> Absence:
    return absence_create(
        actor=None,
        user=user,
        starts_at=at - timedelta(hours=1),
        ends_at=at + timedelta(days=1),
        reason="Leave",
    )


# ---------------------------------------------------------------- the event log


def test_opening_a_case_appends_opened_and_message_in(adviser, customer):
    case = open_case(adviser, customer, at=now())
    assert_appended(case, (0, 0), [(EventKind.OPENED, adviser), (EventKind.MESSAGE_IN, None)])
    assert fresh(case).version == 2


def test_opening_a_follow_up_also_appends_follow_up_linked(adviser, customer):
    t = now() - timedelta(days=3)
    first = open_case(adviser, customer, at=t)
    close_confirmed(first, adviser, t + timedelta(hours=2))
    second = open_case(adviser, customer, at=t + timedelta(days=1))
    assert_appended(
        second,
        (0, 0),
        [(EventKind.OPENED, adviser), (EventKind.MESSAGE_IN, None), (EventKind.FOLLOW_UP_LINKED, adviser)],
    )


def test_reply_appends_message_out_by_the_replier(case, adviser):
    before = snapshot(case)
    svc.case_reply(actor=adviser, case=case, body="We are looking into it.", at=now())
    assert_appended(case, before, [(EventKind.MESSAGE_OUT, adviser)])


def test_note_appends_note_by_its_author(case, backup):
    before = snapshot(case)
    svc.case_add_note(actor=backup, case=case, body="Customer called the shop too.", at=now())
    assert_appended(case, before, [(EventKind.NOTE, backup)])


def test_handoff_appends_handoff_by_the_actor(case, adviser, other_adviser):
    before = snapshot(case)
    svc.case_hand_off(
        actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=now()
    )
    assert_appended(case, before, [(EventKind.HANDOFF, adviser)])


def test_set_status_appends_status_by_the_actor(case, adviser):
    before = snapshot(case)
    svc.case_set_status(actor=adviser, case=case, status=Status.WAITING_SECTOR, at=now())
    assert_appended(case, before, [(EventKind.STATUS, adviser)])


def test_commitment_set_and_resolve_append_their_events(case, adviser, manager):
    t = now()
    before = snapshot(case)
    commitment = svc.commitment_set(
        actor=adviser, case=case, description="Call back", due_at=t + timedelta(days=1), at=t
    )
    svc.commitment_resolve(actor=manager, commitment=commitment, state=CommitmentState.KEPT, at=t)
    assert_appended(case, before, [(EventKind.COMMITMENT_SET, adviser), (EventKind.COMMITMENT_KEPT, manager)])


def test_propose_and_customer_confirm_append_their_events(case, adviser):
    t = now()
    before = snapshot(case)
    propose(case, adviser, t)
    svc.case_confirm_solution(case=case, at=t + timedelta(hours=1))
    assert_appended(
        case, before, [(EventKind.SOLUTION_PROPOSED, adviser), (EventKind.SOLUTION_CONFIRMED, None)]
    )


def test_staff_recorded_confirmation_is_an_event_by_the_staff_member(case, adviser):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    svc.case_confirm_solution(
        case=case, actor=adviser, channel=Channel.PHONE, note="Confirmed on the phone.", at=t
    )
    assert_appended(case, before, [(EventKind.SOLUTION_CONFIRMED, adviser)])


def test_close_unconfirmed_appends_closed_unconfirmed_by_the_manager(case, manager):
    before = snapshot(case)
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks.", at=now())
    assert_appended(case, before, [(EventKind.CLOSED_UNCONFIRMED, manager)])


def test_reopen_appends_reopened_by_the_actor(case, adviser):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    svc.case_reopen(actor=adviser, case=case, reason="Customer still has the problem", at=t)
    assert_appended(case, before, [(EventKind.REOPENED, adviser)])


def test_customer_message_appends_message_in_without_actor(case):
    before = snapshot(case)
    svc.case_receive_message(case=case, body="Any news?", at=now())
    assert_appended(case, before, [(EventKind.MESSAGE_IN, None)])


def test_flag_repeat_explanation_appends_repeat_explanation_by_the_actor(case, adviser):
    before = snapshot(case)
    svc.case_flag_repeat_explanation(actor=adviser, case=case, comment="Had to repeat it", at=now())
    assert_appended(case, before, [(EventKind.REPEAT_EXPLANATION, adviser)])


# ---------------------------------------------------------------- timestamps


def test_first_reply_sets_first_response_and_a_second_reply_leaves_it(case, adviser):
    t1 = now()
    svc.case_reply(actor=adviser, case=case, body="First answer.", at=t1)
    assert fresh(case).first_response_at == t1
    svc.case_reply(actor=adviser, case=case, body="Second answer.", at=t1 + timedelta(hours=2))
    assert fresh(case).first_response_at == t1


def test_propose_sets_solution_proposed_at(case, adviser):
    t = now()
    propose(case, adviser, t)
    assert fresh(case).solution_proposed_at == t


def test_confirm_sets_closed_at_and_closure_confirmed(case, adviser):
    t = now()
    propose(case, adviser, t)
    svc.case_confirm_solution(case=case, at=t + timedelta(hours=1))
    case = fresh(case)
    assert (case.status, case.closed_at, case.closure) == (
        Status.CLOSED,
        t + timedelta(hours=1),
        Closure.CONFIRMED,
    )


def test_close_unconfirmed_sets_closed_at_and_closure_unconfirmed(case, manager):
    t = now()
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks.", at=t)
    case = fresh(case)
    assert (case.status, case.closed_at, case.closure) == (Status.CLOSED, t, Closure.UNCONFIRMED)
    assert case.closure_note == "Customer unreachable for weeks."


# ---------------------------------------------------------------- solution and closure


def test_proposing_a_solution_does_not_close_the_case(case, adviser):
    propose(case, adviser, now())
    case = fresh(case)
    assert case.status == Status.SOLUTION_PROPOSED
    assert case.closed_at is None and case.closure == ""


@pytest.mark.parametrize("note", ["", "   "])
def test_staff_recorded_confirmation_without_a_note_is_rejected(case, adviser, note):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_confirm_solution(case=case, actor=adviser, channel=Channel.PHONE, note=note, at=t)
    assert err.value.field == "note"
    assert_unchanged(case, before)
    assert fresh(case).status == Status.SOLUTION_PROPOSED


def test_confirming_a_case_without_a_proposed_solution_is_rejected(case):
    before = snapshot(case)
    with pytest.raises(DomainError):
        svc.case_confirm_solution(case=case, at=now())
    assert_unchanged(case, before)
    assert fresh(case).status == Status.NEW


def test_adviser_may_not_close_unconfirmed(case, adviser):
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        svc.case_close_unconfirmed(actor=adviser, case=case, reason="Customer unreachable for weeks.")
    assert_unchanged(case, before)


@pytest.mark.parametrize("reason", ["", "   ", "too short"])
def test_manager_closing_unconfirmed_without_a_real_reason_is_rejected(case, manager, reason):
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_close_unconfirmed(actor=manager, case=case, reason=reason)
    assert err.value.field == "reason"
    assert_unchanged(case, before)


# ---------------------------------------------------------------- customer messages


def test_customer_message_on_a_proposed_solution_reopens_the_case(case, adviser):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    svc.case_receive_message(case=case, body="It still does not charge.", at=t + timedelta(hours=1))
    case = fresh(case)
    assert (case.status, case.reopen_count) == (Status.REOPENED, 1)
    assert_appended(case, before, [(EventKind.MESSAGE_IN, None), (EventKind.REOPENED, None)])


def test_customer_message_on_a_case_closed_three_days_ago_reopens_it(adviser, customer):
    t = now()
    case = open_case(adviser, customer, at=t - timedelta(days=10))
    close_confirmed(case, adviser, t - timedelta(days=3))
    svc.case_receive_message(case=case, body="It broke again.", at=t)
    case = fresh(case)
    assert (case.status, case.reopen_count, case.closed_at, case.closure) == (Status.REOPENED, 1, None, "")
    assert CaseEvent.objects.filter(case=case, kind=EventKind.REOPENED).count() == 1


def test_customer_message_on_a_case_closed_eight_days_ago_is_refused(adviser, customer):
    t = now()
    case = open_case(adviser, customer, at=t - timedelta(days=20))
    close_confirmed(case, adviser, t - timedelta(days=8))
    before = snapshot(case)
    messages = Message.objects.filter(case=case).count()
    with pytest.raises(DomainError) as err:
        svc.case_receive_message(case=case, body="It broke again.", at=t)
    assert err.value.code == "closed_too_long"
    assert_unchanged(case, before)
    assert Message.objects.filter(case=case).count() == messages
    assert fresh(case).status == Status.CLOSED


def test_customer_message_while_waiting_on_the_customer_sets_the_case_open(case, adviser):
    t = now()
    svc.case_reply(actor=adviser, case=case, body="Which model is it?", wait_for_customer=True, at=t)
    assert fresh(case).status == Status.WAITING_CUSTOMER
    before = snapshot(case)
    svc.case_receive_message(case=case, body="The X200.", at=t + timedelta(hours=1))
    assert fresh(case).status == Status.OPEN
    assert_appended(case, before, [(EventKind.MESSAGE_IN, None), (EventKind.STATUS, None)])


def test_an_automatic_message_does_not_reopen_a_proposed_solution(case, adviser):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    svc.case_receive_message(case=case, body="Out of office.", is_automatic=True, at=t + timedelta(hours=1))
    case = fresh(case)
    assert (case.status, case.reopen_count) == (Status.SOLUTION_PROPOSED, 0)
    assert_appended(case, before, [(EventKind.MESSAGE_IN, None)])


# ---------------------------------------------------------------- handoff


@pytest.mark.parametrize("field", ["customer_need", "done_so_far"])
@pytest.mark.parametrize("text", ["", "   ", *LAZY_SUMMARIES, "Phone broken", "ลูกค้าโทรมา"])
def test_handoff_without_a_real_summary_is_rejected(case, adviser, other_adviser, field, text):
    summary = {"customer_need": NEED, "done_so_far": DONE, field: text}
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(actor=adviser, case=case, to_user=other_adviser, at=now(), **summary)
    assert err.value.field == field
    assert_unchanged(case, before)
    assert fresh(case).owner == adviser
    assert not Handoff.objects.filter(case=case).exists()


def test_handoff_with_a_real_thai_summary_is_accepted(case, adviser, other_adviser):
    thai_letters = [ch for ch in THAI_NEED + THAI_DONE if "\u0e00" <= ch <= "\u0e7f"]
    assert len([ch for ch in THAI_NEED if "\u0e00" <= ch <= "\u0e7f"]) >= 25
    assert len(thai_letters) >= 50
    handoff = svc.case_hand_off(
        actor=adviser,
        case=case,
        to_user=other_adviser,
        customer_need=THAI_NEED,
        done_so_far=THAI_DONE,
        at=now(),
    )
    assert (handoff.customer_need, handoff.done_so_far) == (THAI_NEED, THAI_DONE)
    assert fresh(case).owner == other_adviser


@pytest.mark.parametrize("target", ["sector_member", "inactive", "current_owner"])
def test_handoff_to_someone_who_cannot_take_the_case_is_rejected(personas, case, adviser, target):
    if target == "sector_member":
        to_user = personas.sector_member
    elif target == "inactive":
        to_user = make_user("leaver", team=personas.team)
        to_user.is_active = False
        to_user.save()
    else:
        to_user = adviser
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(
            actor=adviser, case=case, to_user=to_user, customer_need=NEED, done_so_far=DONE, at=now()
        )
    assert err.value.field == "to_user"
    assert_unchanged(case, before)
    assert fresh(case).owner == adviser


def test_handing_off_a_closed_case_is_rejected(case, manager, other_adviser):
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks.")
    before = snapshot(case)
    with pytest.raises(DomainError):
        svc.case_hand_off(
            actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=now()
        )
    assert_unchanged(case, before)


def test_after_a_handoff_the_new_user_owns_the_case_and_the_handoff_keeps_both_parts(
    case, adviser, other_adviser
):
    t = now()
    svc.case_hand_off(
        actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=t
    )
    assert fresh(case).owner == other_adviser
    handoff = Handoff.objects.get(case=case)
    assert (handoff.from_user, handoff.to_user, handoff.by) == (adviser, other_adviser, adviser)
    assert (handoff.customer_need, handoff.done_so_far, handoff.created_at) == (NEED, DONE, t)


def test_the_previous_owner_still_sees_the_case_after_handing_it_off(case, adviser, other_adviser):
    svc.case_hand_off(
        actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=now()
    )
    case = fresh(case)
    assert case.team_id != adviser.team_id  # not visible through the team any more
    assert Case.objects.visible_to(adviser).filter(pk=case.pk).exists()


# ---------------------------------------------------------------- permissions


def test_another_adviser_may_not_reply(case, other_adviser):
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=other_adviser, case=case, body="Hello", at=now())
    assert_unchanged(case, before)


def test_the_backup_may_not_reply_while_the_owner_is_present(case, adviser, backup):
    t = now()
    # An absence that is over does not make the owner away.
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t - timedelta(days=3),
        ends_at=t - timedelta(days=1),
        reason="Trip",
    )
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=backup, case=case, body="Hello", at=t)
    assert_unchanged(case, before)


def test_the_backup_may_reply_while_the_owner_is_away(case, adviser, backup):
    t = now()
    away(adviser, t)
    before = snapshot(case)
    svc.case_reply(actor=backup, case=case, body="I am covering for my colleague.", at=t)
    assert_appended(case, before, [(EventKind.MESSAGE_OUT, backup)])


def test_the_backup_may_hand_off_while_the_owner_is_away(case, adviser, backup):
    t = now()
    away(adviser, t)
    svc.case_hand_off(actor=backup, case=case, to_user=backup, customer_need=NEED, done_so_far=DONE, at=t)
    assert fresh(case).owner == backup


def test_the_backup_may_not_hand_off_while_the_owner_is_present(case, backup):
    with pytest.raises(NotPermitted):
        svc.case_hand_off(
            actor=backup, case=case, to_user=backup, customer_need=NEED, done_so_far=DONE, at=now()
        )


def test_a_manager_may_act_on_any_case(case, manager, other_adviser):
    t = now()
    svc.case_reply(actor=manager, case=case, body="The manager answers.", at=t)
    svc.case_hand_off(
        actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=t
    )
    propose(case, manager, t)
    assert fresh(case).status == Status.SOLUTION_PROPOSED


@pytest.mark.parametrize("who", ["adviser", "backup", "manager", "executive"])
def test_anyone_who_sees_the_case_may_add_a_note(personas, case, who):
    user = getattr(personas, who)
    assert Case.objects.visible_to(user).filter(pk=case.pk).exists()
    note = svc.case_add_note(actor=user, case=case, body="For the record.", at=now())
    assert note.author == user


@pytest.mark.parametrize("who", ["other_adviser", "outsider", "sector_member"])
def test_someone_who_cannot_see_the_case_may_not_add_a_note(personas, case, who):
    user = getattr(personas, who)
    assert not Case.objects.visible_to(user).filter(pk=case.pk).exists()
    with pytest.raises(NotPermitted):
        svc.case_add_note(actor=user, case=case, body="For the record.", at=now())


def test_an_executive_may_not_reply(case, executive):
    before = snapshot(case)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=executive, case=case, body="Hello from the board.", at=now())
    assert_unchanged(case, before)


# ---------------------------------------------------------------- stale versions

STALE_CALLS: dict[str, Callable[..., Any]] = {
    "reply": lambda case, actor, other, version, at: svc.case_reply(
        actor=actor, case=case, body="Here is the answer.", expected_version=version, at=at
    ),
    "handoff": lambda case, actor, other, version, at: svc.case_hand_off(
        actor=actor,
        case=case,
        to_user=other,
        customer_need=NEED,
        done_so_far=DONE,
        expected_version=version,
        at=at,
    ),
    "propose": lambda case, actor, other, version, at: svc.case_propose_solution(
        actor=actor, case=case, solution="We replaced the charger.", expected_version=version, at=at
    ),
}


@pytest.mark.parametrize("action", list(STALE_CALLS))
def test_an_action_on_an_old_version_raises_stale_version_with_the_changes(
    case, adviser, backup, other_adviser, action
):
    t = now()
    loaded = fresh(case).version
    svc.case_add_note(actor=backup, case=case, body="The customer phoned the shop.", at=t)
    before = snapshot(case)
    with pytest.raises(StaleVersion) as err:
        STALE_CALLS[action](case, adviser, other_adviser, loaded, t + timedelta(minutes=5))
    assert err.value.changes and all(isinstance(c, str) for c in err.value.changes)
    assert len(err.value.changes) == before[0] - loaded
    assert "Internal note" in err.value.changes[-1] and backup.display_name in err.value.changes[-1]
    assert err.value.current_version == fresh(case).version
    assert err.value.field == "expected_version"
    assert_unchanged(case, before)


@pytest.mark.parametrize("action", list(STALE_CALLS))
def test_the_same_action_on_the_current_version_succeeds(case, adviser, backup, other_adviser, action):
    t = now()
    svc.case_add_note(actor=backup, case=case, body="The customer phoned the shop.", at=t)
    before = snapshot(case)
    STALE_CALLS[action](case, adviser, other_adviser, before[0], t + timedelta(minutes=5))
    assert fresh(case).version == before[0] + 1


# ---------------------------------------------------------------- commitments


@pytest.mark.parametrize("due_offset", [timedelta(minutes=-1), timedelta(0)])
def test_a_next_step_due_in_the_past_is_rejected(case, adviser, due_offset):
    t = now()
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.commitment_set(actor=adviser, case=case, description="Call back", due_at=t + due_offset, at=t)
    assert err.value.field == "due_at"
    assert_unchanged(case, before)
    assert not Commitment.objects.filter(case=case).exists()


@pytest.mark.parametrize(
    ("state", "kind", "resolved_after_due", "on_time"),
    [
        (CommitmentState.KEPT, EventKind.COMMITMENT_KEPT, False, True),
        (CommitmentState.KEPT, EventKind.COMMITMENT_KEPT, True, False),
        (CommitmentState.BROKEN, EventKind.COMMITMENT_BROKEN, True, False),
        (CommitmentState.CANCELLED, EventKind.COMMITMENT_CANCELLED, False, True),
    ],
)
def test_resolving_a_next_step_appends_the_matching_event_with_on_time(
    case, adviser, state, kind, resolved_after_due, on_time
):
    t = now()
    due = t + timedelta(days=1)
    commitment = svc.commitment_set(actor=adviser, case=case, description="Call back", due_at=due, at=t)
    resolved_at = due + timedelta(hours=1) if resolved_after_due else due - timedelta(hours=1)
    before = snapshot(case)
    svc.commitment_resolve(actor=adviser, commitment=commitment, state=state, at=resolved_at)
    assert_appended(case, before, [(kind, adviser)])
    event = CaseEvent.objects.filter(case=case).order_by("-version").first()
    assert event is not None
    assert event.data["on_time"] is on_time and event.data["commitment"] == commitment.pk
    commitment.refresh_from_db()
    assert (commitment.state, commitment.resolved_at, commitment.resolved_by) == (state, resolved_at, adviser)


def test_resolving_a_next_step_twice_is_rejected(case, adviser):
    t = now()
    commitment = svc.commitment_set(
        actor=adviser, case=case, description="Call back", due_at=t + timedelta(days=1), at=t
    )
    svc.commitment_resolve(actor=adviser, commitment=commitment, state=CommitmentState.KEPT, at=t)
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.commitment_resolve(actor=adviser, commitment=commitment, state=CommitmentState.BROKEN, at=t)
    assert err.value.field == "state"
    assert_unchanged(case, before)
    commitment.refresh_from_db()
    assert commitment.state == CommitmentState.KEPT


# ---------------------------------------------------------------- follow-up linking


def _closed_case(adviser: User, customer: Any, category: Category) -> Case:
    opened = now() - timedelta(days=30)
    first = open_case(adviser, customer, at=opened, category=category)
    return close_confirmed(first, adviser, opened + timedelta(days=1))


def test_a_new_case_within_seven_days_of_closure_is_linked_as_a_follow_up(adviser, customer):
    category = Category.objects.create(name="Chargers")
    first = _closed_case(adviser, customer, category)
    assert first.closed_at is not None
    second = open_case(adviser, customer, at=first.closed_at + timedelta(days=6), category=category)
    second = fresh(second)
    assert second.follow_up_of == first and second.is_repeat_contact is True
    linked = CaseEvent.objects.get(case=second, kind=EventKind.FOLLOW_UP_LINKED)
    assert linked.data["follow_up_of"] == first.pk


def test_a_new_case_eight_days_after_closure_is_not_linked(adviser, customer):
    category = Category.objects.create(name="Chargers")
    first = _closed_case(adviser, customer, category)
    assert first.closed_at is not None
    second = fresh(open_case(adviser, customer, at=first.closed_at + timedelta(days=8), category=category))
    assert second.follow_up_of is None and second.is_repeat_contact is False
    assert not CaseEvent.objects.filter(case=second, kind=EventKind.FOLLOW_UP_LINKED).exists()


def test_a_new_case_of_another_customer_is_not_linked(adviser, customer):
    category = Category.objects.create(name="Chargers")
    first = _closed_case(adviser, customer, category)
    assert first.closed_at is not None
    someone_else = customer_create(actor=None, name="Malee Sukjai", email="malee@example.com", language="th")
    second = fresh(
        open_case(adviser, someone_else, at=first.closed_at + timedelta(days=1), category=category)
    )
    assert second.follow_up_of is None and second.is_repeat_contact is False
    assert not CaseEvent.objects.filter(case=second, kind=EventKind.FOLLOW_UP_LINKED).exists()


def test_a_new_case_of_another_category_is_not_linked(adviser, customer):
    chargers = Category.objects.create(name="Chargers")
    billing = Category.objects.create(name="Billing")
    first = _closed_case(adviser, customer, chargers)
    assert first.closed_at is not None
    second = fresh(open_case(adviser, customer, at=first.closed_at + timedelta(days=1), category=billing))
    assert second.follow_up_of is None and second.is_repeat_contact is False
    assert not CaseEvent.objects.filter(case=second, kind=EventKind.FOLLOW_UP_LINKED).exists()


# ---------------------------------------------------------------- repeat explanation


def test_flagging_a_repeat_explanation_records_the_comment(case, adviser):
    event = svc.case_flag_repeat_explanation(
        actor=adviser, case=case, comment="  Had to give the serial number again.  ", at=now()
    )
    assert event.kind == EventKind.REPEAT_EXPLANATION and event.actor == adviser
    assert event.data["comment"] == "Had to give the serial number again."
    assert event.version == fresh(case).version


# ---------------------------------------------------------------- absences


def test_an_overlapping_absence_is_rejected(adviser):
    t = now()
    absence_create(actor=None, user=adviser, starts_at=t, ends_at=t + timedelta(hours=4), reason="Leave")
    with pytest.raises(DomainError):
        absence_create(
            actor=None,
            user=adviser,
            starts_at=t + timedelta(hours=3),
            ends_at=t + timedelta(hours=6),
            reason="Training",
        )
    with pytest.raises(DomainError):  # one inside the other
        absence_create(
            actor=None,
            user=adviser,
            starts_at=t + timedelta(hours=1),
            ends_at=t + timedelta(hours=2),
            reason="Doctor",
        )
    assert Absence.objects.filter(user=adviser).count() == 1


def test_an_absence_that_ends_when_the_next_starts_is_allowed(adviser):
    t = now()
    absence_create(actor=None, user=adviser, starts_at=t, ends_at=t + timedelta(hours=4), reason="Leave")
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t + timedelta(hours=4),
        ends_at=t + timedelta(hours=8),
        reason="Trip",
    )
    absence_create(actor=None, user=adviser, starts_at=t - timedelta(hours=2), ends_at=t, reason="Doctor")
    assert Absence.objects.filter(user=adviser).count() == 3


@pytest.mark.parametrize("length", [timedelta(hours=-1), timedelta(0)])
def test_an_absence_that_ends_before_it_starts_is_rejected(adviser, length):
    t = now()
    with pytest.raises(DomainError) as err:
        absence_create(actor=None, user=adviser, starts_at=t, ends_at=t + length, reason="Leave")
    assert err.value.field == "ends_at"
    assert not Absence.objects.filter(user=adviser).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_absence_without_a_reason_is_rejected(adviser, reason):
    t = now()
    with pytest.raises(DomainError) as err:
        absence_create(actor=None, user=adviser, starts_at=t, ends_at=t + timedelta(hours=1), reason=reason)
    assert err.value.field == "reason"
    assert not Absence.objects.filter(user=adviser).exists()


# ---------------------------------------------------------------- manual status


@pytest.mark.parametrize("status", [Status.OPEN, Status.WAITING_CUSTOMER, Status.WAITING_SECTOR])
def test_a_manual_status_is_accepted(case, adviser, status):
    before = snapshot(case)
    svc.case_set_status(actor=adviser, case=case, status=status, at=now())
    assert fresh(case).status == status
    assert_appended(case, before, [(EventKind.STATUS, adviser)])


@pytest.mark.parametrize(
    "status", [Status.NEW, Status.SOLUTION_PROPOSED, Status.CLOSED, Status.REOPENED, "bogus"]
)
def test_a_status_that_follows_from_an_action_cannot_be_set_by_hand(case, adviser, status):
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_set_status(actor=adviser, case=case, status=status, at=now())
    assert err.value.field == "status"
    assert_unchanged(case, before)


def test_a_proposed_solution_cannot_be_set_back_to_open(case, adviser):
    t = now()
    propose(case, adviser, t)
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_set_status(actor=adviser, case=case, status=Status.OPEN, at=t)
    assert err.value.field == "status"
    assert_unchanged(case, before)
    assert fresh(case).status == Status.SOLUTION_PROPOSED


# ---------------------------------------------------------------- attachments


@pytest.mark.parametrize(
    ("name", "content", "declared", "expected"),
    [
        ("scan.pdf", PDF, "image/png", "application/pdf"),
        ("photo.png", PNG, "application/pdf", "image/png"),
        ("บันทึก.txt", THAI_TEXT, "application/octet-stream", "text/plain"),
    ],
)
def test_an_attachment_is_stored_with_the_type_its_bytes_show(
    case, adviser, name, content, declared, expected
):
    note = svc.case_add_note(
        actor=adviser,
        case=case,
        body="See the file.",
        attachments=[upload(name, content, declared)],
        at=now(),
    )
    attachment = Attachment.objects.get(case=case)
    assert attachment.note == note and attachment.uploaded_by == adviser
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        name,
        expected,
        len(content),
    )
    with attachment.file.open("rb") as stored:
        assert stored.read() == content


def test_an_executable_named_like_a_pdf_is_rejected(case, adviser):
    before = snapshot(case)
    with pytest.raises(DomainError) as err:
        svc.case_add_note(
            actor=adviser,
            case=case,
            body="Invoice attached.",
            attachments=[upload("invoice.pdf", EXE, "application/pdf")],
        )
    assert err.value.code == "forbidden_type" and err.value.field == "attachments"
    assert_unchanged(case, before)
    assert not Attachment.objects.exists()


def test_an_oversize_attachment_is_rejected(case, adviser):
    before = snapshot(case)
    with override_settings(STEWARD_ATTACHMENT_MAX_BYTES=100), pytest.raises(DomainError) as err:
        svc.case_add_note(
            actor=adviser,
            case=case,
            body="Big file.",
            attachments=[upload("big.txt", b"a" * 101, "text/plain")],
        )
    assert err.value.code == "too_large"
    assert_unchanged(case, before)
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("bad_first", [True, False])
def test_when_one_file_is_bad_nothing_is_stored(case, adviser, bad_first):
    good = upload("scan.pdf", PDF)
    bad = upload("invoice.pdf", EXE)
    files = [bad, good] if bad_first else [good, bad]
    before = snapshot(case)
    with pytest.raises(DomainError):
        svc.case_add_note(actor=adviser, case=case, body="Two files.", attachments=files, at=now())
    assert not Note.objects.filter(case=case).exists()
    assert not Attachment.objects.exists()
    assert_unchanged(case, before)


# ---------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_summary_problem_never_raises_and_returns_none_or_a_message(text):
    problem = summary_problem(text)
    assert problem is None or isinstance(problem, str)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.booleans())
def test_sniff_content_type_never_raises_for_any_bytes(head, complete):
    result = sniff_content_type(head, complete=complete)
    assert result is None or isinstance(result, str)
