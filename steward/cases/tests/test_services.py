"""Every rule of the case continuity core, through the services, on SQLite and PostgreSQL.

Each service appends one CaseEvent per state change (kind, actor, version + 1); the tests read the
event log as the source of truth. Attachments: test_attachments.py; summaries: test_summaries.py;
people, backups and absences: accounts/tests/test_services.py.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from steward.accounts.models import User
from steward.accounts.services import absence_create
from steward.cases import selectors
from steward.cases import services as svc
from steward.cases.models import (
    Case,
    CaseEvent,
    Category,
    Channel,
    Closure,
    Commitment,
    CommitmentState,
    Direction,
    EventKind,
    Handoff,
    Kind,
    Message,
    Status,
)
from steward.cases.permissions import can_act
from steward.core.errors import DomainError, NotPermitted, StaleVersion
from steward.customers.services import customer_create
from steward.sectors.models import Distance
from steward.sectors.services import sector_create
from steward.testing import DONE, NEED, Personas, make_user

pytestmark = pytest.mark.django_db


def now() -> datetime:
    return timezone.now()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def log(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).order_by("version"))


def last(case: Case) -> CaseEvent:
    event = CaseEvent.objects.filter(case=case).order_by("-version").first()
    assert event is not None
    return event


def assert_event(case: Case, kind: str, actor: User | None, *, version: int) -> CaseEvent:
    """The newest event is `kind` by `actor` and produced `version`, which is the case's version."""
    event = last(case)
    assert (event.kind, event.actor_id, event.version) == (kind, getattr(actor, "pk", None), version)
    assert fresh(case).version == version
    return event


def open_case(p: Personas, *, at: datetime, owner: User | None = None, **kwargs: Any) -> Case:
    owner = owner or p.adviser
    fields: dict[str, Any] = {
        "subject": "Phone does not charge",
        "description": "It stopped charging after two days.",
    }
    fields.update(kwargs)
    return svc.case_open(actor=owner, customer=p.customer, owner=owner, at=at, **fields)


def propose(case: Case, actor: User, at: datetime | None = None) -> Case:
    return svc.case_propose_solution(actor=actor, case=case, solution="Replaced the charger.", at=at)


def close_confirmed(case: Case, actor: User, at: datetime) -> Case:
    propose(case, actor, at=at - timedelta(hours=1))
    return svc.case_confirm_solution(case=case, at=at)


# ---------------------------------------------------------------- opening


def test_opening_records_the_case_and_the_customers_first_message(personas, adviser):
    t = now() - timedelta(hours=2)
    case = open_case(personas, at=t, channel=Channel.PHONE, kind=Kind.COMPLAINT)
    assert case.status == Status.NEW and case.created_at == t and case.updated_at == t
    assert case.owner == adviser and case.team == adviser.team and case.opened_by == adviser
    assert case.first_response_at is None and case.closed_at is None and case.solution_proposed_at is None
    assert [(e.version, e.kind, e.actor_id) for e in log(case)] == [
        (1, EventKind.OPENED, adviser.pk),
        (2, EventKind.MESSAGE_IN, None),  # the customer wrote it
    ]
    assert log(case)[0].data["owner"] == adviser.pk and log(case)[0].sector_id == adviser.sector_id
    message = Message.objects.get(case=case)
    assert (message.direction, message.channel, message.body, message.created_at) == (
        Direction.INBOUND,
        Channel.PHONE,
        "It stopped charging after two days.",
        t,
    )
    assert fresh(case).version == 2


def test_a_receptionist_opens_a_case_for_another_owner(personas, adviser, manager):
    case = svc.case_open(
        actor=manager, customer=personas.customer, owner=adviser, subject="Bill", description="Twice"
    )
    assert case.owner == adviser and case.opened_by == manager
    assert log(case)[0].actor_id == manager.pk


def test_a_case_from_mail_has_no_actor_but_a_named_owner(personas, adviser):
    case = svc.case_open(
        actor=None, customer=personas.customer, owner=adviser, subject="Bill", description="Twice"
    )
    assert case.owner == adviser and log(case)[0].actor_id is None


@pytest.mark.parametrize("who", ["sector_member", "executive", "inactive", "nobody"])
def test_a_case_must_start_with_an_owner_who_can_own_cases(personas, who):
    owner: User | None = None
    if who == "inactive":
        owner = make_user("gone")
        owner.is_active = False
        owner.save()
    elif who != "nobody":
        owner = getattr(personas, who)
    with pytest.raises(DomainError) as err:
        svc.case_open(actor=None, customer=personas.customer, owner=owner, subject="S", description="D")
    assert err.value.field == "owner"
    assert Case.objects.count() == 1  # only the persona's case


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", {"subject": "  "}),
        ("description", {"description": ""}),
        ("kind", {"kind": "rant"}),
        ("priority", {"priority": "whenever"}),
        ("channel", {"channel": "pigeon"}),
    ],
)
def test_opening_with_bad_input_is_rejected_on_its_field(personas, adviser, field, kwargs):
    fields = {"subject": "Bill", "description": "Charged twice", **kwargs}
    with pytest.raises(DomainError) as err:
        svc.case_open(actor=adviser, customer=personas.customer, **fields)
    assert err.value.field == field


# ---------------------------------------------------------------- exactly one owner


def test_a_case_always_has_exactly_one_owner(case, adviser, other_adviser):
    assert fresh(case).owner_id == adviser.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case.pk).update(owner=None)
    svc.case_hand_off(actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE)
    assert fresh(case).owner_id == other_adviser.pk  # swapped, never shared or empty
    assert Case.objects.filter(pk=case.pk, owner__isnull=True).count() == 0


# ---------------------------------------------------------------- conversation


def test_a_reply_sends_a_message_opens_the_case_and_sets_the_first_response(case, adviser):
    t = now() + timedelta(minutes=5)
    reply = svc.case_reply(actor=adviser, case=case, body="  Looking into it.  ", at=t)
    assert (reply.direction, reply.author, reply.body, reply.channel) == (
        Direction.OUTBOUND,
        adviser,
        "Looking into it.",
        case.channel,
    )
    event = assert_event(case, EventKind.MESSAGE_OUT, adviser, version=3)
    assert event.data == {"message": reply.pk, "from": Status.NEW, "to": Status.OPEN}
    c = fresh(case)
    assert c.status == Status.OPEN and c.first_response_at == t and c.updated_at == t


def test_first_response_is_set_by_the_first_human_reply_only(case, adviser):
    t = now()
    svc.case_add_note(actor=adviser, case=case, body="Checked the account", at=t + timedelta(minutes=1))
    svc.case_receive_message(case=case, body="Hello?", at=t + timedelta(minutes=2))
    svc.case_receive_message(
        case=case, body="Auto: out of office", is_automatic=True, at=t + timedelta(minutes=3)
    )
    svc.case_set_status(actor=adviser, case=case, status=Status.WAITING_SECTOR, at=t + timedelta(minutes=4))
    assert fresh(case).first_response_at is None
    svc.case_reply(actor=adviser, case=case, body="One", at=t + timedelta(minutes=5))
    svc.case_reply(actor=adviser, case=case, body="Two", at=t + timedelta(minutes=9))
    assert fresh(case).first_response_at == t + timedelta(minutes=5)


def test_proposing_a_solution_counts_as_the_first_response_when_nothing_came_before(case, adviser):
    t = now() + timedelta(minutes=30)
    propose(case, adviser, at=t)
    assert fresh(case).first_response_at == t


def test_a_reply_can_set_the_case_waiting_on_the_customer(case, adviser):
    svc.case_reply(actor=adviser, case=case, body="Which model?", wait_for_customer=True)
    assert fresh(case).status == Status.WAITING_CUSTOMER
    assert last(case).data["to"] == Status.WAITING_CUSTOMER


def test_a_reply_while_a_solution_is_proposed_keeps_it_proposed(case, adviser):
    propose(case, adviser)
    svc.case_reply(actor=adviser, case=case, body="Did it work?", wait_for_customer=True)
    c = fresh(case)
    assert c.status == Status.SOLUTION_PROPOSED and c.closed_at is None


def test_a_reply_on_a_closed_case_is_rejected(case, adviser):
    close_confirmed(case, adviser, now())
    with pytest.raises(DomainError):
        svc.case_reply(actor=adviser, case=case, body="Hi")


def test_an_empty_reply_is_rejected(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.case_reply(actor=adviser, case=case, body=" \n ")
    assert err.value.field == "body"
    assert fresh(case).version == 2


def test_a_customer_message_is_logged_without_an_actor(case):
    t = now() + timedelta(minutes=1)
    message = svc.case_receive_message(case=case, body="More detail", channel=Channel.PORTAL, at=t)
    assert message.direction == Direction.INBOUND and message.author is None and message.created_at == t
    event = assert_event(case, EventKind.MESSAGE_IN, None, version=3)
    assert event.data["message"] == message.pk and fresh(case).status == Status.NEW


def test_a_message_taken_by_phone_names_who_recorded_it(case, adviser):
    svc.case_receive_message(case=case, body="Called about it", channel=Channel.PHONE, recorded_by=adviser)
    assert_event(case, EventKind.MESSAGE_IN, adviser, version=3)


def test_a_customer_message_ends_waiting_on_the_customer(case, adviser):
    svc.case_reply(actor=adviser, case=case, body="Which model?", wait_for_customer=True)
    svc.case_receive_message(case=case, body="Model X")
    event = assert_event(case, EventKind.STATUS, None, version=5)
    assert event.data == {"from": Status.WAITING_CUSTOMER, "to": Status.OPEN}
    assert fresh(case).status == Status.OPEN


def test_a_customer_message_on_a_proposed_case_reopens_it(case, adviser):
    propose(case, adviser)
    svc.case_receive_message(case=case, body="Still broken")
    event = assert_event(case, EventKind.REOPENED, None, version=5)
    assert event.data["reason"] == "customer_wrote"
    c = fresh(case)
    assert c.status == Status.REOPENED and c.reopen_count == 1
    assert [e.kind for e in log(case)][-2:] == [EventKind.MESSAGE_IN, EventKind.REOPENED]


def test_an_automatic_message_does_not_reopen(case, adviser):
    propose(case, adviser)
    svc.case_receive_message(case=case, body="I am out of office", is_automatic=True)
    assert fresh(case).status == Status.SOLUTION_PROPOSED
    assert last(case).kind == EventKind.MESSAGE_IN and last(case).data["automatic"] is True


@pytest.mark.parametrize("closure", ["confirmed", "unconfirmed"])
def test_a_customer_message_reopens_a_case_closed_within_seven_days(personas, adviser, manager, closure):
    t0 = now() - timedelta(days=20)
    case = open_case(personas, at=t0)
    if closure == "confirmed":
        close_confirmed(case, adviser, t0 + timedelta(days=1))
    else:
        svc.case_close_unconfirmed(
            actor=manager, case=case, reason="Customer did not answer", at=t0 + timedelta(days=1)
        )
    svc.case_receive_message(case=case, body="It broke again", at=t0 + timedelta(days=8))  # 7 days after
    c = fresh(case)
    assert c.status == Status.REOPENED and c.reopen_count == 1
    assert c.closed_at is None and c.closure == "" and c.closure_note == ""
    assert last(case).kind == EventKind.REOPENED


def test_a_customer_message_after_the_seven_days_is_refused_and_the_case_stays_closed(personas, adviser):
    t0 = now() - timedelta(days=20)
    case = open_case(personas, at=t0)
    close_confirmed(case, adviser, t0 + timedelta(days=1))
    version = fresh(case).version
    with pytest.raises(DomainError) as err:
        svc.case_receive_message(case=case, body="Hello again", at=t0 + timedelta(days=8, minutes=1))
    assert err.value.code == "closed_too_long"
    c = fresh(case)
    assert c.status == Status.CLOSED and c.version == version
    assert not Message.objects.filter(case=case, body="Hello again").exists()


# ---------------------------------------------------------------- notes and repeat explanations


def test_a_note_is_internal_and_logged(case, adviser):
    note = svc.case_add_note(actor=adviser, case=case, body="Customer prefers calls after 17:00")
    event = assert_event(case, EventKind.NOTE, adviser, version=3)
    assert event.data == {"note": note.pk}
    assert not Message.objects.filter(case=case, body__contains="17:00").exists()


def test_a_team_colleague_may_note_but_not_act(personas, case):
    colleague = make_user("colleague", team=personas.team)
    svc.case_add_note(actor=colleague, case=case, body="I know this customer")
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=colleague, case=case, body="Hi")


@pytest.mark.parametrize("who", ["other_adviser", "sector_member"])
def test_someone_who_cannot_see_the_case_may_not_note(personas, case, who):
    with pytest.raises(NotPermitted):
        svc.case_add_note(actor=getattr(personas, who), case=case, body="Hello")
    with pytest.raises(NotPermitted):
        svc.case_flag_repeat_explanation(actor=getattr(personas, who), case=case)


def test_an_adviser_flags_that_the_customer_had_to_explain_again(case, adviser):
    event = svc.case_flag_repeat_explanation(actor=adviser, case=case, comment="  Told the story twice ")
    assert_event(case, EventKind.REPEAT_EXPLANATION, adviser, version=3)
    assert event.data == {"comment": "Told the story twice", "source": "adviser"}


# ---------------------------------------------------------------- handoff


def test_a_handoff_changes_the_owner_and_carries_the_summary(personas, case, adviser, other_adviser):
    t = now() + timedelta(minutes=10)
    handoff = svc.case_hand_off(
        actor=adviser,
        case=case,
        to_user=other_adviser,
        customer_need=f"  {NEED} ",
        done_so_far=DONE,
        at=t,
    )
    assert (handoff.from_user, handoff.to_user, handoff.by, handoff.created_at) == (
        adviser,
        other_adviser,
        adviser,
        t,
    )
    assert handoff.customer_need == NEED and handoff.done_so_far == DONE
    event = assert_event(case, EventKind.HANDOFF, adviser, version=3)
    assert event.data == {"handoff": handoff.pk, "from": adviser.pk, "to": other_adviser.pk}
    c = fresh(case)
    assert c.owner == other_adviser and c.team == personas.other_team
    # The previous owner can still read the case, but no longer acts on it.
    assert Case.objects.visible_to(adviser).filter(pk=case.pk).exists()
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=adviser, case=case, body="Hi")
    svc.case_reply(actor=other_adviser, case=case, body="Hello, I now look after your case.")


def test_a_manager_hands_over_on_the_owners_behalf(case, adviser, manager, other_adviser):
    handoff = svc.case_hand_off(
        actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE
    )
    assert (handoff.from_user, handoff.by) == (adviser, manager)
    assert_event(case, EventKind.HANDOFF, manager, version=3)


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "   ",
        "see history",
        "Please see the history above",
        "too short",
        "Ver historial",
        "Ver el historial, por favor",
        "Cobro doble",
        "см. историю",
        "Смотрите переписку выше",
        "Не заряжается",
        "ดูประวัติ",
        "กรุณาดูประวัติด้านบนครับ",
        "ลูกค้าโทรมา",
        "a" * 30,
    ],
)
@pytest.mark.parametrize("part", ["customer_need", "done_so_far"])
def test_a_handoff_without_a_real_summary_is_rejected(case, adviser, other_adviser, part, summary):
    parts = {"customer_need": NEED, "done_so_far": DONE, part: summary}
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(actor=adviser, case=case, to_user=other_adviser, **parts)
    assert err.value.field == part and err.value.code == "summary"
    c = fresh(case)
    assert c.owner == adviser and c.version == 2 and not Handoff.objects.exists()


@pytest.mark.parametrize(
    ("need", "done"),
    [
        (NEED, DONE),
        (
            "El cliente necesita que le devuelvan el cobro duplicado.",
            "Revisé la factura y pedí el reembolso a facturación.",
        ),
        ("Клиенту нужен возврат двойного списания.", "Проверил счёт и передал запрос в бухгалтерию."),
        ("ลูกค้าต้องการเครื่องใหม่ที่ชาร์จไฟได้ก่อนวันศุกร์นี้", "ตรวจสอบประกันแล้ว สั่งเครื่องทดแทนจากคลังสินค้า"),
    ],
    ids=["en", "es", "ru", "th"],
)
def test_a_handoff_with_a_real_summary_is_accepted_in_every_language(
    case, adviser, other_adviser, need, done
):
    svc.case_hand_off(actor=adviser, case=case, to_user=other_adviser, customer_need=need, done_so_far=done)
    assert fresh(case).owner == other_adviser


@pytest.mark.parametrize("target", ["sector_member", "executive", "inactive", "owner"])
def test_a_handoff_to_someone_who_may_not_own_the_case_is_rejected(personas, case, adviser, target):
    if target == "inactive":
        to_user = make_user("gone")
        to_user.is_active = False
        to_user.save()
    elif target == "owner":
        to_user = adviser
    else:
        to_user = getattr(personas, target)
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(actor=adviser, case=case, to_user=to_user, customer_need=NEED, done_so_far=DONE)
    assert err.value.field == "to_user"
    assert fresh(case).owner == adviser and not Handoff.objects.exists()


def test_a_closed_case_cannot_be_handed_over(case, manager, other_adviser):
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")
    with pytest.raises(DomainError) as err:
        svc.case_hand_off(
            actor=manager, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE
        )
    assert err.value.field == "to_user"


@pytest.mark.parametrize("who", ["other_adviser", "executive", "sector_member", "backup"])
def test_only_the_owner_the_acting_backup_or_a_manager_may_hand_over(personas, case, who):
    with pytest.raises(NotPermitted):
        svc.case_hand_off(
            actor=getattr(personas, who),
            case=case,
            to_user=personas.manager,
            customer_need=NEED,
            done_so_far=DONE,
        )


# ---------------------------------------------------------------- who may act


@pytest.mark.parametrize("who", ["other_adviser", "executive", "sector_member", "backup"])
def test_other_people_may_not_act_on_the_case(personas, case, who):
    actor = getattr(personas, who)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=actor, case=case, body="Hi")
    with pytest.raises(NotPermitted):
        svc.commitment_set(actor=actor, case=case, description="Call", due_at=now() + timedelta(days=1))
    with pytest.raises(NotPermitted):
        propose(case, actor)
    assert fresh(case).version == 2


def test_a_manager_may_act_on_any_case(case, manager):
    svc.case_reply(actor=manager, case=case, body="Manager here")
    svc.commitment_set(actor=manager, case=case, description="Call back", due_at=now() + timedelta(days=1))
    propose(case, manager)
    assert fresh(case).status == Status.SOLUTION_PROPOSED


def test_an_inactive_owner_may_not_act(case, adviser):
    User.objects.filter(pk=adviser.pk).update(is_active=False)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=User.objects.get(pk=adviser.pk), case=case, body="Hi")


# ---------------------------------------------------------------- continuity while the owner is away


def test_the_backup_acts_as_owner_only_while_the_owner_is_away(case, adviser, backup, other_adviser):
    t = now()
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t + timedelta(days=1),
        ends_at=t + timedelta(days=2),
        reason="Course",
    )
    before, during, after = t + timedelta(hours=1), t + timedelta(days=1, hours=2), t + timedelta(days=3)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=backup, case=case, body="Covering", at=before)
    svc.case_reply(actor=backup, case=case, body="Covering for my colleague", at=during)
    assert_event(case, EventKind.MESSAGE_OUT, backup, version=3)
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=backup, case=case, body="Still covering", at=after)
    # Someone else's backup has no such right, even while the owner is away.
    with pytest.raises(NotPermitted):
        svc.case_reply(actor=other_adviser, case=case, body="Hi", at=during)


def test_the_acting_backup_has_full_access_to_the_case(case, adviser, backup, other_adviser):
    t = now()
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t - timedelta(hours=1),
        ends_at=t + timedelta(hours=9),
        reason="Course",
    )
    assert Case.objects.visible_to(backup).filter(pk=case.pk).exists()
    svc.case_add_note(actor=backup, case=case, body="Read the history; no need to ask again")
    step = svc.commitment_set(actor=backup, case=case, description="Call back", due_at=t + timedelta(hours=4))
    assert step.promised_by == backup
    svc.commitment_resolve(actor=backup, commitment=step, state=CommitmentState.KEPT)
    propose(case, backup)
    svc.case_confirm_solution(actor=backup, case=case, channel=Channel.PHONE, note="Confirmed on the phone")
    assert fresh(case).closure == Closure.CONFIRMED
    actors = {e.actor_id for e in log(case) if e.kind != EventKind.MESSAGE_IN}
    assert actors == {adviser.pk, backup.pk}


def test_the_acting_backup_may_hand_the_case_over(case, adviser, backup, other_adviser):
    t = now()
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t - timedelta(hours=1),
        ends_at=t + timedelta(days=5),
        reason="Leave",
    )
    handoff = svc.case_hand_off(
        actor=backup, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE
    )
    assert (handoff.from_user, handoff.by) == (adviser, backup) and fresh(case).owner == other_adviser


def test_during_an_absence_the_case_shows_the_owner_and_the_acting_backup(case, adviser, backup):
    t = now()
    shown = selectors.case_ownership(fresh(case), user=backup, now=t)
    assert (shown.owner, shown.acting, shown.owner_away, shown.user_can_act) == (
        adviser,
        adviser,
        False,
        False,
    )
    absence_create(
        actor=None,
        user=adviser,
        starts_at=t - timedelta(hours=1),
        ends_at=t + timedelta(hours=8),
        reason="Course",
    )
    shown = selectors.case_ownership(fresh(case), user=backup, now=t)
    assert (shown.owner, shown.backup, shown.acting) == (adviser, backup, backup)
    assert shown.owner_away and shown.user_can_act
    assert fresh(case).owner == adviser  # the owner does not change: the backup covers
    assert can_act(backup, fresh(case), at=t + timedelta(hours=9)) is False


# ---------------------------------------------------------------- stale versions


STALE_CALLS = {
    "reply": lambda p, v: svc.case_reply(actor=p.adviser, case=p.case, body="Hi", expected_version=v),
    "handoff": lambda p, v: svc.case_hand_off(
        actor=p.adviser,
        case=p.case,
        to_user=p.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
        expected_version=v,
    ),
    "propose": lambda p, v: svc.case_propose_solution(
        actor=p.adviser, case=p.case, solution="Fixed", expected_version=v
    ),
    "status": lambda p, v: svc.case_set_status(
        actor=p.adviser, case=p.case, status=Status.WAITING_SECTOR, expected_version=v
    ),
}


@pytest.mark.parametrize("action", sorted(STALE_CALLS))
def test_acting_on_a_stale_version_is_refused_with_the_changes(personas, manager, action):
    case = personas.case
    loaded = fresh(case).version
    svc.case_add_note(actor=manager, case=case, body="Called the customer")
    svc.case_receive_message(case=case, body="Any news?")
    with pytest.raises(StaleVersion) as err:
        STALE_CALLS[action](personas, loaded)
    c = fresh(case)
    assert err.value.code == "stale" and err.value.field == "expected_version"
    assert err.value.current_version == c.version == loaded + 2
    assert len(err.value.changes) == 2
    assert "Internal note" in err.value.changes[0] and manager.display_name in err.value.changes[0]
    assert "Customer wrote" in err.value.changes[1] and "the customer" in err.value.changes[1]
    assert [e.kind for e in log(case)][-1] == EventKind.MESSAGE_IN  # nothing applied
    STALE_CALLS[action](personas, c.version)  # with the current version it goes through
    assert fresh(case).version == c.version + 1


def test_without_an_expected_version_no_staleness_check_is_made(case, adviser, manager):
    svc.case_add_note(actor=manager, case=case, body="Called the customer")
    svc.case_reply(actor=adviser, case=case, body="Hi")
    assert last(case).kind == EventKind.MESSAGE_OUT


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks across connections")
def test_two_handoffs_of_one_version_at_once_leave_exactly_one_owner(personas):
    case, adviser = personas.case, personas.adviser
    version = fresh(case).version
    targets = [personas.other_adviser, personas.manager]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def hand_off(to_user: User) -> None:
        try:
            barrier.wait(timeout=10)
            svc.case_hand_off(
                actor=User.objects.get(pk=adviser.pk),
                case=fresh(case),
                to_user=to_user,
                customer_need=NEED,
                done_so_far=DONE,
                expected_version=version,
            )
            outcomes.append("handed")
        except StaleVersion:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hand_off, args=(u,)) for u in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["handed", "stale"]
    c = fresh(case)
    assert Handoff.objects.filter(case=case).count() == 1 and c.owner_id in {u.pk for u in targets}
    assert [e.version for e in log(c)] == list(range(1, c.version + 1))


# ---------------------------------------------------------------- manual status


def test_status_changes_by_hand_are_logged(case, adviser):
    svc.case_set_status(actor=adviser, case=case, status=Status.WAITING_SECTOR)
    event = assert_event(case, EventKind.STATUS, adviser, version=3)
    assert event.data == {"from": Status.NEW, "to": Status.WAITING_SECTOR}
    svc.case_set_status(actor=adviser, case=case, status=Status.WAITING_SECTOR)  # no change, no event
    assert fresh(case).version == 3


@pytest.mark.parametrize(
    "status", [Status.CLOSED, Status.SOLUTION_PROPOSED, Status.REOPENED, Status.NEW, "x"]
)
def test_statuses_that_follow_from_actions_cannot_be_set_by_hand(case, adviser, status):
    with pytest.raises(DomainError) as err:
        svc.case_set_status(actor=adviser, case=case, status=status)
    assert err.value.field == "status" and fresh(case).status == Status.NEW


def test_a_proposed_case_must_be_reopened_before_its_status_changes(case, adviser):
    propose(case, adviser)
    with pytest.raises(DomainError):
        svc.case_set_status(actor=adviser, case=case, status=Status.OPEN)


# ---------------------------------------------------------------- next steps (commitments)


def test_a_next_step_records_what_by_whom_and_when(case, adviser):
    t = now()
    step = svc.commitment_set(
        actor=adviser,
        case=case,
        description="  Call with the repair result ",
        due_at=t + timedelta(days=1),
        at=t,
    )
    assert (step.description, step.promised_by, step.due_at, step.state, step.created_at) == (
        "Call with the repair result",
        adviser,
        t + timedelta(days=1),
        CommitmentState.OPEN,
        t,
    )
    event = assert_event(case, EventKind.COMMITMENT_SET, adviser, version=3)
    assert event.data == {"commitment": step.pk, "due_at": (t + timedelta(days=1)).isoformat()}


@pytest.mark.parametrize("minutes", [-1, 0])
def test_a_next_step_due_in_the_past_is_rejected(case, adviser, minutes):
    t = now()
    with pytest.raises(DomainError) as err:
        svc.commitment_set(
            actor=adviser, case=case, description="Call", due_at=t + timedelta(minutes=minutes), at=t
        )
    assert err.value.field == "due_at" and not Commitment.objects.exists()


def test_a_next_step_needs_a_description_and_an_open_case(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.commitment_set(actor=adviser, case=case, description=" ", due_at=now() + timedelta(days=1))
    assert err.value.field == "description"
    close_confirmed(case, adviser, now())
    with pytest.raises(DomainError):
        svc.commitment_set(actor=adviser, case=case, description="Call", due_at=now() + timedelta(days=1))


@pytest.mark.parametrize(
    ("state", "event_kind"),
    [
        (CommitmentState.KEPT, EventKind.COMMITMENT_KEPT),
        (CommitmentState.BROKEN, EventKind.COMMITMENT_BROKEN),
        (CommitmentState.CANCELLED, EventKind.COMMITMENT_CANCELLED),
    ],
)
@pytest.mark.parametrize(("hours", "on_time"), [(0.5, True), (1, True), (2, False)])
def test_a_next_step_outcome_is_an_event_saying_whether_it_was_on_time(
    case, adviser, state, event_kind, hours, on_time
):
    t = now()
    step = svc.commitment_set(
        actor=adviser, case=case, description="Call", due_at=t + timedelta(hours=1), at=t
    )
    resolved_at = t + timedelta(hours=hours)
    svc.commitment_resolve(actor=adviser, commitment=step, state=state, note=" Called ", at=resolved_at)
    event = assert_event(case, event_kind, adviser, version=4)
    assert event.data == {"commitment": step.pk, "on_time": on_time}
    step.refresh_from_db()
    assert (step.state, step.resolved_at, step.resolved_by, step.resolution_note) == (
        state,
        resolved_at,
        adviser,
        "Called",
    )


def test_a_next_step_cannot_be_resolved_twice(case, adviser):
    step = svc.commitment_set(actor=adviser, case=case, description="Call", due_at=now() + timedelta(hours=1))
    svc.commitment_resolve(actor=adviser, commitment=step, state=CommitmentState.KEPT)
    with pytest.raises(DomainError) as err:
        svc.commitment_resolve(actor=adviser, commitment=step, state=CommitmentState.BROKEN)
    assert err.value.field == "state"
    step.refresh_from_db()
    assert step.state == CommitmentState.KEPT and fresh(case).version == 4


@pytest.mark.parametrize("state", [CommitmentState.OPEN, "forgotten"])
def test_a_next_step_resolves_only_to_kept_broken_or_cancelled(case, adviser, state):
    step = svc.commitment_set(actor=adviser, case=case, description="Call", due_at=now() + timedelta(hours=1))
    with pytest.raises(DomainError):
        svc.commitment_resolve(actor=adviser, commitment=step, state=state)


def test_another_adviser_may_not_resolve_the_owners_next_step(case, adviser, other_adviser):
    step = svc.commitment_set(actor=adviser, case=case, description="Call", due_at=now() + timedelta(hours=1))
    with pytest.raises(NotPermitted):
        svc.commitment_resolve(actor=other_adviser, commitment=step, state=CommitmentState.KEPT)


# ---------------------------------------------------------------- solution and closure


def test_proposing_a_solution_tells_the_customer_and_does_not_close(case, adviser):
    t = now() + timedelta(hours=1)
    c = propose(case, adviser, at=t)
    assert c.status == Status.SOLUTION_PROPOSED and c.solution_proposed_at == t
    assert c.closed_at is None and c.closure == ""
    event = assert_event(case, EventKind.SOLUTION_PROPOSED, adviser, version=3)
    message = Message.objects.get(pk=event.data["message"])
    assert message.direction == Direction.OUTBOUND and message.body == "Replaced the charger."


def test_a_solution_cannot_be_proposed_twice_or_empty(case, adviser):
    with pytest.raises(DomainError) as err:
        svc.case_propose_solution(actor=adviser, case=case, solution="  ")
    assert err.value.field == "solution"
    propose(case, adviser)
    with pytest.raises(DomainError):
        propose(case, adviser)


@pytest.mark.parametrize("channel", [Channel.PORTAL, Channel.EMAIL])
def test_the_customers_confirmation_closes_the_case_as_confirmed(case, adviser, channel):
    t = now() + timedelta(hours=2)
    propose(case, adviser, at=t - timedelta(hours=1))
    c = svc.case_confirm_solution(case=case, channel=channel, at=t)
    assert (c.status, c.closure, c.closed_at, c.closure_note) == (Status.CLOSED, Closure.CONFIRMED, t, "")
    event = assert_event(case, EventKind.SOLUTION_CONFIRMED, None, version=4)
    assert event.data == {"channel": channel, "recorded_by_staff": False}


def test_a_confirmation_recorded_by_staff_needs_a_note_saying_how(case, adviser):
    propose(case, adviser)
    with pytest.raises(DomainError) as err:
        svc.case_confirm_solution(case=case, actor=adviser, channel=Channel.PHONE, note="  ")
    assert err.value.field == "note" and fresh(case).status == Status.SOLUTION_PROPOSED
    svc.case_confirm_solution(
        case=case, actor=adviser, channel=Channel.PHONE, note="Customer called: the phone charges again"
    )
    c = fresh(case)
    assert c.closure == Closure.CONFIRMED and c.closure_note == "Customer called: the phone charges again"
    event = assert_event(case, EventKind.SOLUTION_CONFIRMED, adviser, version=4)
    assert event.data == {"channel": Channel.PHONE, "recorded_by_staff": True}


def test_staff_record_confirmations_given_to_them_and_customers_confirm_online(case, adviser):
    propose(case, adviser)
    with pytest.raises(DomainError) as err:
        svc.case_confirm_solution(case=case, actor=adviser, channel=Channel.PORTAL, note="Clicked for them")
    assert err.value.field == "channel"
    with pytest.raises(DomainError) as err:
        svc.case_confirm_solution(case=case, channel=Channel.PHONE)
    assert err.value.field == "channel"
    assert fresh(case).status == Status.SOLUTION_PROPOSED


def test_another_adviser_may_not_record_a_confirmation(case, adviser, other_adviser):
    propose(case, adviser)
    with pytest.raises(NotPermitted):
        svc.case_confirm_solution(case=case, actor=other_adviser, channel=Channel.PHONE, note="Said so")


@pytest.mark.parametrize("status", [Status.NEW, Status.OPEN, Status.WAITING_CUSTOMER, Status.CLOSED])
def test_only_a_proposed_solution_can_be_confirmed(case, adviser, manager, status):
    if status == Status.OPEN:
        svc.case_reply(actor=adviser, case=case, body="Looking")
    elif status == Status.WAITING_CUSTOMER:
        svc.case_reply(actor=adviser, case=case, body="Which model?", wait_for_customer=True)
    elif status == Status.CLOSED:
        svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")
    with pytest.raises(DomainError):
        svc.case_confirm_solution(case=case)
    assert fresh(case).status == status


def test_a_manager_closes_unconfirmed_with_a_recorded_reason(case, adviser, manager):
    propose(case, adviser)
    t = now() + timedelta(days=7)
    c = svc.case_close_unconfirmed(actor=manager, case=case, reason="  No answer after two reminders ", at=t)
    assert (c.status, c.closure, c.closed_at, c.closure_note) == (
        Status.CLOSED,
        Closure.UNCONFIRMED,
        t,
        "No answer after two reminders",
    )
    event = assert_event(case, EventKind.CLOSED_UNCONFIRMED, manager, version=4)
    assert event.data == {"from": Status.SOLUTION_PROPOSED, "reason": "No answer after two reminders"}


@pytest.mark.parametrize("who", ["adviser", "backup", "executive", "sector_member"])
def test_only_a_manager_may_close_without_confirmation(personas, case, who):
    with pytest.raises(NotPermitted):
        svc.case_close_unconfirmed(actor=getattr(personas, who), case=case, reason="Customer unreachable")
    assert fresh(case).status == Status.NEW


def test_an_inactive_manager_may_not_close_without_confirmation(case, manager):
    manager.is_active = False
    manager.save()
    with pytest.raises(NotPermitted):
        svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable")


@pytest.mark.parametrize("reason", ["", "   ", "no reply"])
def test_closing_without_confirmation_needs_a_real_reason(case, manager, reason):
    with pytest.raises(DomainError) as err:
        svc.case_close_unconfirmed(actor=manager, case=case, reason=reason)
    assert err.value.field == "reason" and fresh(case).status == Status.NEW


def test_a_closed_case_cannot_be_closed_again(case, manager):
    svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")
    with pytest.raises(DomainError):
        svc.case_close_unconfirmed(actor=manager, case=case, reason="Customer unreachable for weeks")


def test_there_is_no_way_to_close_but_confirmation_or_a_managers_reason(case, adviser):
    with pytest.raises(DomainError):
        svc.case_set_status(actor=adviser, case=case, status=Status.CLOSED)
    propose(case, adviser)
    assert fresh(case).status != Status.CLOSED


# ---------------------------------------------------------------- reopening by staff


def test_staff_reopen_a_proposed_or_recently_closed_case_with_a_reason(case, adviser):
    propose(case, adviser)
    svc.case_reopen(actor=adviser, case=case, reason="Customer called: still broken")
    event = assert_event(case, EventKind.REOPENED, adviser, version=4)
    assert event.data == {"reason": "Customer called: still broken"}
    close_confirmed(case, adviser, now() + timedelta(hours=2))
    svc.case_reopen(actor=adviser, case=case, reason="Broke again", at=now() + timedelta(days=3))
    c = fresh(case)
    assert c.status == Status.REOPENED and c.reopen_count == 2 and c.closed_at is None
    svc.case_reply(actor=adviser, case=case, body="Looking again")
    assert fresh(case).status == Status.OPEN


def test_reopening_needs_a_reason_and_a_proposed_or_closed_case(case, adviser, other_adviser):
    with pytest.raises(DomainError):
        svc.case_reopen(actor=adviser, case=case, reason="Because")  # still new
    propose(case, adviser)
    with pytest.raises(DomainError) as err:
        svc.case_reopen(actor=adviser, case=case, reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(NotPermitted):
        svc.case_reopen(actor=other_adviser, case=case, reason="Because")


def test_a_case_closed_more_than_seven_days_ago_is_not_reopened(personas, adviser):
    t0 = now() - timedelta(days=30)
    case = open_case(personas, at=t0)
    close_confirmed(case, adviser, t0 + timedelta(days=1))
    with pytest.raises(DomainError) as err:
        svc.case_reopen(actor=adviser, case=case, reason="Customer called again")
    assert err.value.code == "closed_too_long" and fresh(case).status == Status.CLOSED


# ---------------------------------------------------------------- follow-up linking


@pytest.fixture
def closed_billing_case(personas, manager) -> tuple[Case, Category, datetime]:
    """A billing case of the persona customer, closed 20 days ago."""
    billing = Category.objects.create(name="Billing")
    t0 = now() - timedelta(days=21)
    first = open_case(personas, at=t0, subject="Bill", description="Charged twice", category=billing)
    closed_at = t0 + timedelta(days=1)
    svc.case_close_unconfirmed(actor=manager, case=first, reason="Customer stopped answering", at=closed_at)
    return first, billing, closed_at


@pytest.mark.parametrize("days", [0.01, 3, 7])
def test_a_new_case_on_the_same_need_within_seven_days_is_linked_as_a_repeat_contact(
    personas, adviser, closed_billing_case, days
):
    first, billing, closed_at = closed_billing_case
    again = open_case(
        personas,
        at=closed_at + timedelta(days=days),
        subject="Bill again",
        description="Still",
        category=billing,
    )
    assert again.follow_up_of == first and again.is_repeat_contact
    kinds = [(e.kind, e.version) for e in log(again)]
    assert kinds == [(EventKind.OPENED, 1), (EventKind.MESSAGE_IN, 2), (EventKind.FOLLOW_UP_LINKED, 3)]
    assert last(again).data == {"follow_up_of": first.pk, "repeat_contact": True}
    assert fresh(first).status == Status.CLOSED  # the earlier case stays closed


def test_a_new_case_eight_days_after_closure_is_not_linked(personas, closed_billing_case):
    _, billing, closed_at = closed_billing_case
    late = open_case(
        personas, at=closed_at + timedelta(days=8), subject="Bill", description="x", category=billing
    )
    assert late.follow_up_of is None and not late.is_repeat_contact
    assert EventKind.FOLLOW_UP_LINKED not in [e.kind for e in log(late)]


def test_a_new_case_of_another_customer_or_category_is_not_linked(personas, adviser, closed_billing_case):
    _, billing, closed_at = closed_billing_case
    at = closed_at + timedelta(days=2)
    device = open_case(
        personas, at=at, subject="Phone", description="x", category=Category.objects.create(name="Device")
    )
    stranger = customer_create(actor=None, name="Someone else")
    other = svc.case_open(
        actor=adviser, customer=stranger, subject="Bill", description="x", category=billing, at=at
    )
    assert device.follow_up_of is None and other.follow_up_of is None
    assert not device.is_repeat_contact and not other.is_repeat_contact


def test_a_case_still_open_or_closed_later_is_not_a_follow_up_origin(personas, adviser):
    billing = Category.objects.create(name="Billing")
    t0 = now() - timedelta(days=5)
    open_case(personas, at=t0, subject="Bill", description="Charged twice", category=billing)
    second = open_case(
        personas, at=t0 + timedelta(hours=1), subject="Bill", description="x", category=billing
    )
    assert second.follow_up_of is None


def test_an_explicit_follow_up_must_belong_to_the_same_customer(personas, adviser, closed_billing_case):
    first, *_ = closed_billing_case
    stranger = customer_create(actor=None, name="Someone else")
    with pytest.raises(DomainError) as err:
        svc.case_open(actor=adviser, customer=stranger, subject="S", description="D", follow_up_of=first)
    assert err.value.field == "follow_up_of"


# ---------------------------------------------------------------- the event log as a whole


def test_a_whole_case_life_leaves_a_gapless_ordered_event_log(
    personas, adviser, backup, other_adviser, manager
):
    t = now() - timedelta(days=3)
    case = open_case(personas, at=t)
    steps = [
        lambda at: svc.case_reply(actor=adviser, case=case, body="Looking", at=at),
        lambda at: svc.commitment_set(
            actor=adviser, case=case, description="Call", due_at=at + timedelta(hours=5), at=at
        ),
        lambda at: svc.case_add_note(actor=manager, case=case, body="Known issue", at=at),
        lambda at: svc.case_hand_off(
            actor=adviser, case=case, to_user=other_adviser, customer_need=NEED, done_so_far=DONE, at=at
        ),
        lambda at: svc.commitment_resolve(
            actor=other_adviser, commitment=Commitment.objects.get(case=case), state="kept", at=at
        ),
        lambda at: svc.case_flag_repeat_explanation(actor=other_adviser, case=case, at=at),
        lambda at: svc.case_propose_solution(actor=other_adviser, case=case, solution="Fixed", at=at),
        lambda at: svc.case_receive_message(case=case, body="Not fixed", at=at),
        lambda at: svc.case_propose_solution(actor=other_adviser, case=case, solution="Now fixed", at=at),
        lambda at: svc.case_confirm_solution(case=case, at=at),
    ]
    for i, step in enumerate(steps, start=1):
        step(t + timedelta(hours=i))
    events = log(case)
    assert [e.version for e in events] == list(range(1, fresh(case).version + 1))
    assert [e.at for e in events] == sorted(e.at for e in events)
    c = fresh(case)
    assert c.first_response_at and c.solution_proposed_at and c.closed_at
    assert c.created_at < c.first_response_at < c.solution_proposed_at < c.closed_at
    assert c.reopen_count == 1 and c.closure == Closure.CONFIRMED and c.owner == other_adviser


# ---------------------------------------------------------------- set-up services the cases rely on


def test_customers_and_sectors_are_refused_without_a_name_or_twice(personas):
    with pytest.raises(DomainError):
        customer_create(actor=None, name=" ")
    with pytest.raises(DomainError) as err:
        customer_create(actor=None, name="Copy", email=" SOMCHAI@example.com ")
    assert err.value.field == "email"
    with pytest.raises(DomainError):
        sector_create(actor=None, name="billing", distance=Distance.BACK_OFFICE)
    with pytest.raises(DomainError):
        sector_create(actor=None, name="Warehouse", distance=99)
    thai = sector_create(actor=None, name="คลังสินค้า", distance=Distance.FAR_BACK_OFFICE)
    other = sector_create(actor=None, name="ฝ่ายบัญชี", distance=Distance.BACK_OFFICE)
    assert thai.slug and other.slug and thai.slug != other.slug
