"""Sector steps: the customer hears of a new step once, staff hear of breaches, returns and results."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from steward.cases import task_services as ts
from steward.cases.models import Case, SectorTask
from steward.notifications.models import NotificationKind, OutboundMail, RecipientKind
from steward.sectors.models import TaskKind
from steward.testing import Personas, make_user

pytestmark = pytest.mark.django_db


def mails(case: Case, kind: str) -> list[OutboundMail]:
    return list(OutboundMail.objects.filter(case=case, kind=kind).order_by("id"))


@pytest.fixture
def members(staff: Personas) -> Personas:
    """The Billing member reads English; a second, Spanish-reading member; an inactive one."""
    staff.sector_member.email = "billing1@staff.example"
    staff.sector_member.save(update_fields=["email"])
    from steward.accounts.models import Role

    make_user(
        "billing2",
        role=Role.SECTOR_MEMBER,
        sector_id=staff.billing.pk,
        email="b2@staff.example",
        language="es",
    )
    gone = make_user(
        "billing3", role=Role.SECTOR_MEMBER, sector_id=staff.billing.pk, email="b3@staff.example"
    )
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    return staff


def hand(
    staff: Personas, *, task_kind: TaskKind | None = None, description: str = "Refund the fee."
) -> SectorTask:
    return ts.task_create(
        actor=staff.adviser,
        case=staff.case,
        sector=staff.billing,
        description=description,
        task_kind=task_kind,
    )


# ---------------------------------------------------------------- the customer


def test_a_new_step_tells_the_customer_the_sector_and_expected_date_in_their_language(
    staff: Personas,
) -> None:
    task = hand(staff, description="Internal: customer is on the watch list, refund 12.50")
    [row] = mails(staff.case, NotificationKind.SECTOR_STEP)
    assert row.recipient_kind == RecipientKind.CUSTOMER and row.to == "somchai@example.com"
    assert row.language == "th" and "Billing" in row.subject
    from django.utils import translation

    with translation.override("th"):
        expected = date_format(timezone.localtime(task.due_at).date(), "DATE_FORMAT")
    assert expected in row.text_body and expected in row.html_body
    assert "watch list" not in row.text_body + row.html_body  # the sector's instructions stay internal
    assert "/th/portal/" in row.text_body  # where the customer sees owner and next step


def test_the_kind_of_task_names_the_step_for_the_customer(staff: Personas) -> None:
    kind = TaskKind.objects.create(sector=staff.billing, name="Refund", target_minutes=240)
    hand(staff, task_kind=kind)
    [row] = mails(staff.case, NotificationKind.SECTOR_STEP)
    assert "Refund" in row.text_body


def test_a_second_step_of_the_same_sector_expected_the_same_day_sends_no_second_mail(staff: Personas) -> None:
    hand(staff)
    hand(staff, description="Also check the other invoice.")
    assert len(mails(staff.case, NotificationKind.SECTOR_STEP)) == 1


def test_taking_and_logging_work_tell_nobody(members: Personas) -> None:
    task = hand(members)
    before = OutboundMail.objects.count()
    ts.task_take(actor=members.sector_member, task=task)
    ts.task_log_work(actor=members.sector_member, task=task, minutes=20)
    assert OutboundMail.objects.count() == before


# ---------------------------------------------------------------- staff


def test_near_breach_warns_the_active_sector_members_in_their_language(members: Personas) -> None:
    task = hand(members)
    assert ts.task_flag_near_breach(task=task)
    rows = mails(members.case, NotificationKind.TASK_NEAR_BREACH)
    assert sorted((r.to, r.language) for r in rows) == [
        ("b2@staff.example", "es"),
        ("billing1@staff.example", "en"),
    ]
    en = next(r for r in rows if r.language == "en")
    assert en.recipient_kind == RecipientKind.USER
    assert "about to breach" in en.subject
    assert f"/cases/{members.case.pk}/" in en.text_body  # the case link
    assert "Refund the fee." in en.text_body
    assert ts.task_flag_near_breach(task=task) is False  # warned once
    assert len(mails(members.case, NotificationKind.TASK_NEAR_BREACH)) == 2


def test_near_breach_reaches_an_assignee_who_left_the_sector(members: Personas) -> None:
    task = hand(members)
    ts.task_take(actor=members.sector_member, task=task)
    members.sector_member.sector_id = None
    members.sector_member.save(update_fields=["sector_id"])
    ts.task_flag_near_breach(task=task)
    tos = {r.to for r in mails(members.case, NotificationKind.TASK_NEAR_BREACH)}
    assert "billing1@staff.example" in tos


def test_a_returned_task_tells_the_owner_the_reason(members: Personas) -> None:
    task = hand(members)
    ts.task_return(actor=members.sector_member, task=task, reason="The invoice number is missing.")
    [row] = mails(members.case, NotificationKind.TASK_RETURNED)
    assert row.to == members.adviser.email and row.language == "ru"
    assert "The invoice number is missing." in row.text_body
    assert f"/cases/{members.case.pk}/" in row.text_body


def test_a_completed_task_tells_the_owner_the_result(members: Personas) -> None:
    task = hand(members)
    ts.task_take(actor=members.sector_member, task=task)
    ts.task_complete(actor=members.sector_member, task=task, note="Refunded 12.50 on 23 Nov.")
    [row] = mails(members.case, NotificationKind.TASK_COMPLETED)
    assert row.to == members.adviser.email
    assert "Refunded 12.50 on 23 Nov." in row.text_body and "Refunded 12.50" in row.html_body
    # Nothing for the customer: the owner tells them what the result means.
    assert mails(members.case, NotificationKind.REPLY) == []


def test_an_owner_who_is_also_in_the_sector_is_not_told_about_their_own_step(members: Personas) -> None:
    members.adviser.sector_id = members.billing.pk
    members.adviser.save(update_fields=["sector_id"])
    task = hand(members)
    ts.task_take(actor=members.adviser, task=task)
    ts.task_complete(actor=members.adviser, task=task, note="Done myself.")
    assert mails(members.case, NotificationKind.TASK_COMPLETED) == []
