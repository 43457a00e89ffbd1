"""cases/opening.py: an opened case's rows in one statement on PostgreSQL (issue 9) are the rows the
step-by-step path writes (compiled INSERTs of the case, the message and the events, then the hour's
contact count), with the message's id in the data of the event about it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from steward.cases.models import Case, CaseEvent, Message
from steward.cases.opening import MESSAGE_KEY, insert_opening
from steward.core.compiled import insert
from steward.decisions.contact_hours import count, count_statement
from steward.decisions.models import ContactHour

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="one statement on PostgreSQL only"),
]


def _rows(personas, at, n_events: int) -> tuple[Case, Message, list[CaseEvent]]:
    case = Case(
        customer=personas.customer,
        subject="Phone «Ñandú» ไทย",
        kind="complaint",
        priority="high",
        channel="phone",
        status="new",
        owner=personas.adviser,
        team_id=personas.adviser.team_id,
        opened_by=personas.manager,
        created_at=at,
        updated_at=at,
        version=n_events,
        follow_up_of=personas.case if n_events == 3 else None,
        is_repeat_contact=n_events == 3,
    )
    message = Message(
        case=case,
        direction="in",
        channel="phone",
        body="It does not charge.",
        created_at=at,
        body_html="<p>x</p>",
    )
    kinds = ["opened", "message_in", "follow_up_linked"][:n_events]
    events = [
        CaseEvent(
            case=case,
            kind=kind,
            at=at,
            actor=None if kind == "message_in" else personas.manager,
            sector_id=None,
            version=version,
            data={"automatic": False} if kind == "message_in" else {"owner": personas.adviser.pk, "x": ["é"]},
        )
        for version, kind in enumerate(kinds, start=1)
    ]
    return case, message, events


def _stored(case: Case) -> dict[str, Any]:
    def plain(rows: Any, drop: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in drop} for row in rows]

    message = Message.objects.get(case=case)
    events = plain(CaseEvent.objects.filter(case=case).order_by("version").values(), ("id", "case_id"))
    for event in events:
        if event["data"].get(MESSAGE_KEY) is not None:
            assert event["data"][MESSAGE_KEY] == message.pk
            event["data"][MESSAGE_KEY] = "the message"
    return {
        "case": plain(Case.objects.filter(pk=case.pk).values(), ("id",)),
        "message": plain(Message.objects.filter(case=case).values(), ("id", "case_id")),
        "events": events,
    }


@pytest.mark.parametrize("n_events", [2, 3])
def test_one_statement_writes_what_the_steps_write(personas, n_events):
    at = timezone.now().replace(microsecond=123456)
    hour = ContactHour.objects.filter(channel="phone", kind="complaint")

    one, one_message, one_events = _rows(personas, at, n_events)
    insert_opening(
        one,
        one_message,
        one_events,
        message_event=1,
        hour=count_statement(team_id=one.team_id, at=at, channel="phone", kind="complaint", contacts=1),
    )
    after_one = list(hour.values_list("contacts", flat=True))

    steps, steps_message, steps_events = _rows(personas, at, n_events)
    insert(steps)
    steps_message.case = steps
    insert(steps_message)
    steps_events[1].data[MESSAGE_KEY] = steps_message.pk
    for event in steps_events:
        event.case = steps
    insert(*steps_events)
    count(team_id=steps.team_id, at=at, channel="phone", kind="complaint", contacts=1)

    assert after_one == [1] and list(hour.values_list("contacts", flat=True)) == [2]
    assert _stored(one) == _stored(steps)
    # The instances are saved ones, as the step path leaves them.
    assert one.pk and one_message.pk and one_message.case_id == one.pk and not one._state.adding
    assert [e.case_id for e in one_events] == [one.pk] * n_events
    assert all(e.pk and not e._state.adding for e in one_events)
    assert sorted(e.pk for e in one_events) == [e.pk for e in one_events]  # ids in version order
    assert one_events[1].data == {"automatic": False, MESSAGE_KEY: one_message.pk}


def test_a_failing_row_writes_none_of_them(personas):
    """One statement: a refused value (a subject over the column's length) leaves no case, message,
    event or count behind."""
    from django.db import DataError, transaction

    at = timezone.now() - timedelta(days=3)
    case, message, events = _rows(personas, at, 2)
    case.channel = "x" * 500  # longer than the column
    before = (
        Case.objects.count(),
        Message.objects.count(),
        CaseEvent.objects.count(),
        ContactHour.objects.count(),
    )
    with pytest.raises(DataError), transaction.atomic():
        insert_opening(
            case,
            message,
            events,
            message_event=1,
            hour=count_statement(team_id=case.team_id, at=at, channel="phone", kind="question", contacts=1),
        )
    after = (
        Case.objects.count(),
        Message.objects.count(),
        CaseEvent.objects.count(),
        ContactHour.objects.count(),
    )
    assert after == before
    assert connection.vendor == "postgresql"


def test_the_rollup_rows_in_the_statement_are_those_written_after_it(personas):
    """The analysis rollups' rows of an opened case, written as CTEs of the opening statement
    (analytics.rollups.opening_rows), equal the rows its event receiver writes when no CTE was given."""
    from django.db.models import Sum

    from steward.analytics.models import CaseContacts, CaseFlow, ServiceDay
    from steward.analytics.rollups import opening_rows
    from steward.cases.services import case_open
    from steward.cases.signals import case_opening_rows

    at = timezone.now().replace(microsecond=0) - timedelta(days=2)
    days = ServiceDay.objects.filter(family="o")

    def open_one() -> tuple[Case, Any]:
        before = days.aggregate(rows=Sum("rows"), unanswered=Sum("unanswered"))
        case = case_open(
            actor=personas.adviser,
            customer=personas.customer,
            subject="S",
            description="D",
            kind="request",
            at=at,
        )
        after = days.aggregate(rows=Sum("rows"), unanswered=Sum("unanswered"))
        return case, {k: (after[k] or 0) - (before[k] or 0) for k in after}

    def rows(case: Case) -> list[Any]:
        flow = CaseFlow.objects.filter(case=case).values()
        contacts = CaseContacts.objects.filter(case=case).values()
        return [{k: v for k, v in r.items() if k != "case_id"} for r in [*flow, *contacts]]

    in_statement, added = open_one()
    assert case_opening_rows.disconnect(dispatch_uid="analytics.rollups.opening")
    try:
        after, added_after = open_one()
    finally:
        case_opening_rows.connect(opening_rows, dispatch_uid="analytics.rollups.opening")
    assert len(rows(in_statement)) == 2 and rows(in_statement) == rows(after)
    assert added == added_after == {"rows": 6, "unanswered": 6}  # one per dimension of the day


def test_the_new_cases_portal_key_is_written_by_the_statement_and_linked_in_its_first_mail(personas):
    """portal.services.opening_key_row: the key row comes with the opening statement, and the "we have
    your request" mail links to it without writing another."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from steward.cases.services import case_open
    from steward.notifications.models import OutboundMail
    from steward.portal.models import PortalCaseKey
    from steward.portal.services import case_key

    with CaptureQueriesContext(db) as ctx:
        case = case_open(actor=personas.adviser, customer=personas.customer, subject="S", description="D")
    key = PortalCaseKey.objects.get(case=case).key
    assert case_key(case) == key and len(key) >= 20
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "portal_portalcasekey"')]
    mail = OutboundMail.objects.get(case=case, kind="case_received")
    assert key in mail.text_body
