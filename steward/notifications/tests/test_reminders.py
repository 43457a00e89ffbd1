""" "Next step due" reminders: within the hour before the due time or overdue, once per next step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steward.accounts.services import absence_create
from steward.cases.models import CommitmentState
from steward.cases.services import case_close_unconfirmed, commitment_resolve, commitment_set
from steward.notifications.models import CommitmentReminder, NotificationKind, OutboundMail
from steward.notifications.services import commitments_remind_due
from steward.notifications.tasks import remind_due_commitments
from steward.testing import Personas

pytestmark = pytest.mark.django_db


def reminders() -> list[OutboundMail]:
    return list(OutboundMail.objects.filter(kind=NotificationKind.NEXT_STEP_DUE))


def test_a_step_due_within_the_hour_reminds_its_owner_once(staff: Personas) -> None:
    now = timezone.now()
    step = commitment_set(
        actor=staff.adviser,
        case=staff.case,
        description="Call back about the charger",
        due_at=now + timedelta(minutes=30),
    )
    commitment_set(
        actor=staff.adviser, case=staff.case, description="Later step", due_at=now + timedelta(hours=3)
    )
    assert commitments_remind_due(now=now) == 1
    (row,) = reminders()
    assert (row.to, row.language, row.user) == ("adviser@staff.example", "ru", staff.adviser)
    assert "Call back about the charger" in row.subject and "Call back about the charger" in row.text_body
    assert "overdue" not in row.subject
    assert CommitmentReminder.objects.filter(commitment=step).exists()

    assert commitments_remind_due(now=now + timedelta(minutes=5)) == 0
    assert remind_due_commitments() == 0  # the periodic task: still once
    assert len(reminders()) == 1


def test_an_overdue_step_says_so_and_the_backup_hears_while_the_owner_is_away(staff: Personas) -> None:
    now = timezone.now()
    commitment_set(
        actor=staff.adviser,
        case=staff.case,
        description="Send the replacement",
        due_at=now - timedelta(hours=1),
        at=now - timedelta(hours=3),
    )
    absence_create(
        actor=None,
        user=staff.adviser,
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(days=2),
        reason="Course",
    )
    assert commitments_remind_due(now=now) == 1
    rows = reminders()
    assert {r.to for r in rows} == {"adviser@staff.example", "backup@staff.example"}
    assert all("overdue" in r.text_body for r in rows if r.language == "en")


def test_kept_steps_and_closed_cases_are_not_reminded(staff: Personas) -> None:
    now = timezone.now()
    kept = commitment_set(
        actor=staff.adviser, case=staff.case, description="Done", due_at=now + timedelta(minutes=10)
    )
    commitment_resolve(actor=staff.adviser, commitment=kept, state=CommitmentState.KEPT)
    commitment_set(
        actor=staff.adviser, case=staff.case, description="Open", due_at=now + timedelta(minutes=10)
    )
    case_close_unconfirmed(actor=staff.manager, case=staff.case, reason="The customer moved abroad.")
    assert commitments_remind_due(now=now) == 0
    assert reminders() == []
