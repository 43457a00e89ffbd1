"""The rollups (steward.analytics.models) give the figures the event log gives.

A period / kind / category selection reads the rollups; an explicit list of cases reads the events
(the reference). Both are asked the same question on the hand-built logs (logs.py): ties in time,
concurrent tasks, an open task, a returned task, ping-pong, open cases measured to `now`.
The rollups assume `now` is not before a case's last event (on the screens `now` is the clock).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from steward.analytics import rollups, selectors
from steward.analytics.models import CaseContacts, CaseFlow, FlowStep, SectorTime, TaskFact
from steward.analytics.selectors import Selection
from steward.analytics.tests.logs import T0, build_known_log, late_delivery_case, returned_task_case
from steward.cases.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(personas):
    known = build_known_log(owner=personas.adviser, customer=personas.customer)
    late_delivery_case(owner=personas.adviser, customer=personas.customer, chain=known.chain)
    returned_task_case(
        owner=personas.adviser, customer=personas.customer, chain=known.chain, t0=T0 + timedelta(hours=2)
    )
    return known


def _same_cases(selection: Selection) -> Selection:
    """The same cases as an explicit list: the event-log path."""
    return Selection(case_ids=tuple(selectors.selected_cases(selection).values_list("pk", flat=True)))


SELECTIONS = [
    Selection(),
    Selection(kind="complaint"),
    Selection(date_from=T0.date(), date_to=T0.date()),
    Selection(date_from=(T0 + timedelta(days=1)).date()),
]


@pytest.mark.parametrize("selection", SELECTIONS)
def test_rollups_give_the_event_log_figures(log, selection):
    reference = _same_cases(selection)
    assert selectors.uses_rollups(selection) and not selectors.uses_rollups(reference)
    assert selectors.task_facts(selection) == selectors.task_facts(reference)
    assert selectors.dfg_edges(selection) == selectors.dfg_edges(reference)
    assert selectors.handoff_summary(selection) == selectors.handoff_summary(reference)
    for now in (log.now, log.now + timedelta(days=3)):
        fast, slow = selectors.sector_table(selection, now=now), selectors.sector_table(reference, now=now)
        assert fast.rows == slow.rows
        assert fast == slow


def test_known_answers_through_the_rollups(personas):
    log = build_known_log(owner=personas.adviser, customer=personas.customer)
    """The known log's lead-time split (logs.py) read from the rollups, an open case included."""
    table = selectors.sector_table(
        Selection(date_from=T0.date(), date_to=(T0 + timedelta(days=1)).date()), now=log.now
    )
    rows = {r.sector.name: r for r in table.rows if r.sector}
    # A: 660 min resolved; B: 200 min so far (open, billing holds the open task B3 since minute 80).
    assert rows["Billing"].attributed_seconds == (25 + 150) * 60
    assert rows["Logistics"].attributed_seconds == 275 * 60


def test_rebuild_all_gives_the_rows_the_events_maintained(log, personas, capsys):
    from steward.cases.services import case_flag_repeat_explanation, case_open

    # A follow-up of the resolved case A: A "came back" (CaseContacts.first_follow_up_at).
    case_open(
        actor=personas.adviser,
        customer=personas.customer,
        subject="Still late",
        description="Still late",
        follow_up_of=log.a.case,
        at=log.now,
    )
    contacts = CaseContacts.objects.get(pk=log.a.case.pk)
    assert contacts.first_follow_up_at == log.now and contacts.owner_changes == 0
    assert contacts.inbound_before_close >= 1 and not contacts.repeat_flagged
    case_flag_repeat_explanation(actor=personas.adviser, case=log.b.case, at=log.now)
    assert CaseContacts.objects.get(pk=log.b.case.pk).repeat_flagged

    def snapshot():
        def ordered(rows):
            return sorted(rows, key=repr)

        return (
            sorted(
                CaseFlow.objects.values_list(
                    "case_id", "lead_us", "front_us", "customer_us", "tail", "resolved"
                )
            ),
            ordered(SectorTime.objects.values_list("case_id", "sector_id", "seconds")),
            ordered(
                TaskFact.objects.values_list(
                    "task", "sector_id", "taken_at", "ended_at", "end_kind", "returns"
                )
            ),
            ordered(FlowStep.objects.values_list("case_id", "source", "target", "before", "wait")),
            ordered(CaseContacts.objects.values_list()),
        )

    live = snapshot()
    assert live[0] and live[2] and live[3]
    assert rollups.rebuild_all(chunk=2) == Case.objects.count()
    assert snapshot() == live
    call_command("rebuild_rollups", "--chunk", "3")
    assert "rollups rebuilt" in capsys.readouterr().out
    assert snapshot() == live


def test_report_query_count_is_fixed(log, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        selectors.sector_table(Selection(), now=log.now)
    with django_assert_max_num_queries(1):
        selectors.dfg_edges(Selection())
    with django_assert_max_num_queries(3):
        selectors.handoff_summary(Selection())


def _all_rows():
    def ordered(rows):
        return sorted(rows, key=repr)

    return (
        ordered(
            CaseFlow.objects.values_list(
                "case_id",
                "opened_at",
                "start_at",
                "last_at",
                "resolved",
                "lead_us",
                "front_us",
                "customer_us",
                "tail",
                "has_sector",
            )
        ),
        ordered(SectorTime.objects.values_list("case_id", "sector_id", "seconds")),
        ordered(
            TaskFact.objects.values_list("case_id", "task", "sector_id", "taken_at", "ended_at", "end_kind")
        ),
        ordered(FlowStep.objects.values_list("case_id", "source", "target", "before", "wait")),
        ordered(CaseContacts.objects.values_list()),
    )


def test_incremental_rollups_equal_a_rebuild_after_a_sequence_of_writes(personas, monkeypatch):
    """Issue 9: the writes apply most events to the stored rows (rollups.advance_flow, a new case from
    its opening event, no contact refresh for a message on an open case); after a mixed sequence of
    writes the rows are exactly those a rebuild from the event log gives."""
    from steward.cases import services as cs
    from steward.cases import task_services as ts

    p = personas
    recomputed: list[str] = []
    real = rollups.refresh_case

    def counting(case, event=None):
        recomputed.append(event.kind if event is not None else "")
        return real(case, event)

    monkeypatch.setattr(rollups, "refresh_case", counting)
    t = T0 + timedelta(days=30)

    def at(minutes: int):
        return t + timedelta(minutes=minutes)

    # A: a front-desk adviser (events with a sector) and the customer, through a task to a confirmed close.
    a = cs.case_open(actor=p.adviser, customer=p.customer, subject="A", description="A", at=at(0))
    cs.case_reply(actor=p.adviser, case=a, body="r1", at=at(5))
    cs.case_reply(actor=p.adviser, case=a, body="r2", wait_for_customer=True, at=at(5))  # a tie in time
    cs.case_receive_message(case=a, body="m1", channel="portal", at=at(30))  # waiting -> open
    cs.case_set_status(actor=p.adviser, case=a, status="waiting_customer", at=at(40))
    task = ts.task_create(actor=p.adviser, case=a, sector=p.billing, description="Refund", at=at(50))
    cs.case_reply(actor=p.adviser, case=a, body="billing has it", at=at(52))  # billing holds: recomputed
    ts.task_take(actor=p.sector_member, task=task, at=at(55))
    ts.task_complete(actor=p.sector_member, task=task, note="Refunded", at=at(80))
    cs.case_reply(actor=p.adviser, case=a, body="refunded", at=at(85))
    cs.case_propose_solution(actor=p.adviser, case=a, solution="Fixed", at=at(90))
    cs.case_receive_message(case=a, body="not yet", channel="portal", at=at(100))  # reopens
    cs.case_hand_off(
        actor=p.adviser,
        case=a,
        to_user=p.other_adviser,
        customer_need="The phone does not charge after the refund.",
        done_so_far="Refunded the charger and asked billing to check the invoice.",
        at=at(110),
    )
    cs.case_propose_solution(actor=p.other_adviser, case=a, solution="Fixed now", at=at(120))
    cs.case_confirm_solution(case=a, at=at(130))
    # B: a manager (no sector): closed unconfirmed, reopened, a reply dated before the last event.
    b = cs.case_open(actor=p.manager, customer=p.customer, subject="B", description="B", at=at(0))
    cs.case_reply(actor=p.manager, case=b, body="r", at=at(10))
    cs.case_close_unconfirmed(actor=p.manager, case=b, reason="No answer for two weeks", at=at(20))
    cs.case_reopen(actor=p.manager, case=b, reason="The customer called back", at=at(25))
    cs.case_reply(actor=p.manager, case=b, body="late", at=at(22))  # before last_at: recomputed
    cs.case_reply(actor=p.manager, case=b, body="again", at=at(60))
    cs.case_receive_message(case=b, body="thanks", channel="portal", at=at(61))
    # C: a follow-up of the closed A, opened by the manager for the adviser.
    cs.case_open(
        actor=p.manager, customer=p.customer, subject="C", description="C", owner=p.adviser, at=at(140)
    )

    live = _all_rows()
    assert live[0] and live[2] and live[3]  # flows, a task, steps (front desk -> billing -> front desk)
    # The increments did most of the work: the log was re-read for the three task events, the reply
    # while billing held the case, the reply right after billing's (a new step), the reopening of the
    # closed B and its late reply; never for a message or a status, nor for the other replies.
    assert len(recomputed) == 7, recomputed
    assert "message_in" not in recomputed and "status" not in recomputed
    assert rollups.rebuild_all(chunk=2) == Case.objects.count()
    assert _all_rows() == live


def test_an_opened_case_gets_the_rows_the_reference_reads(personas):
    """Issue 9: case_open's rollup rows (CaseFlow, CaseContacts, ServiceDay) are written from the case
    in memory, without the read `refresh_contacts` takes: they are the rows that read (`_contacts_of`)
    and a rebuild give, for a customer's own case, a staff-opened one with a category and another
    owner, a front-desk adviser's (events with a sector), and a follow-up of a closed case."""
    from steward.analytics.models import ServiceDay
    from steward.cases import services as cs
    from steward.cases.models import Category

    p = personas
    t = T0 + timedelta(days=40)
    category = Category.objects.create(name="Charging")
    closed = cs.case_open(actor=p.manager, customer=p.customer, subject="X", description="X", at=t)
    cs.case_close_unconfirmed(
        actor=p.manager, case=closed, reason="No answer for two weeks", at=t + timedelta(minutes=5)
    )
    opened = [
        cs.case_open(
            actor=None,
            customer=p.customer,
            subject="Mail",
            description="By mail",
            owner=p.adviser,
            kind="complaint",
            at=t + timedelta(hours=1),
        ),
        cs.case_open(
            actor=p.manager,
            customer=p.customer,
            subject="Phone",
            description="Called",
            owner=p.other_adviser,
            category=category,
            channel="phone",
            priority="high",
            at=t + timedelta(hours=2),
        ),
        cs.case_open(
            actor=p.adviser,
            customer=p.customer,
            subject="Desk",
            description="At the desk",
            channel="walk_in",
            at=t + timedelta(days=1, hours=23),
        ),
        # Same customer and kind as the closed one, within the window: a follow-up of it.
        cs.case_open(
            actor=p.manager,
            customer=p.customer,
            subject="Again",
            description="Still broken",
            kind=closed.kind,
            at=t + timedelta(hours=3),
        ),
    ]
    assert opened[-1].follow_up_of_id == closed.pk
    ids = [c.pk for c in opened]
    stored = {c.case_id: c for c in CaseContacts.objects.filter(case_id__in=ids)}
    for _old, reference, _made in rollups._contacts_of(ids):
        mine = stored[reference.case_id]
        assert {f: getattr(mine, f) for f in rollups._CONTACT_FIELDS} == {
            f: getattr(reference, f) for f in rollups._CONTACT_FIELDS
        }

    def days():
        return sorted(ServiceDay.objects.exclude(**{"rows": 0}).values_list(), key=lambda r: repr(r[1:]))

    live, live_rows = days(), _all_rows()
    rollups.rebuild_all()
    assert [r[1:] for r in days()] == [r[1:] for r in live]
    assert _all_rows() == live_rows


@pytest.mark.parametrize("with_old", [False, True])
def test_the_compiled_contacts_read_answers_as_the_orm(personas, with_old):
    """`_contacts_of` with a list of ids runs its read compiled once (issue 9); with a subquery of ids it
    builds it through the ORM. Both give the same rows, with the old copy and a new handoff's lengths."""
    from django.db import transaction

    from steward.cases import services as cs
    from steward.cases.models import Handoff
    from steward.testing import DONE, NEED

    p = personas
    t = T0 + timedelta(days=40)
    first = cs.case_open(actor=p.manager, customer=p.customer, subject="A", description="A", at=t)
    handoff = cs.case_hand_off(
        actor=p.manager,
        case=first,
        to_user=p.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
        at=t + timedelta(minutes=5),
    )
    cs.case_close_unconfirmed(
        actor=p.manager, case=first, reason="No answer for two weeks", at=t + timedelta(hours=1)
    )
    again = cs.case_open(
        actor=p.manager,
        customer=p.customer,
        subject="B",
        description="B",
        kind=first.kind,
        at=t + timedelta(hours=2),
    )
    assert again.follow_up_of_id == first.pk
    ids = [first.pk, again.pk, p.case.pk]
    with transaction.atomic():  # with the old copy, inside a transaction: the rows are locked as well
        for handoff_id in (None, handoff.pk):
            compiled_rows = rollups._contacts_of(ids, with_old=with_old, handoff=handoff_id)
            orm_rows = rollups._contacts_of(
                Case.objects.filter(pk__in=ids).values("pk"), with_old=with_old, handoff=handoff_id
            )

            def plain(rows):
                return sorted(
                    (c.case_id, old, {f: getattr(c, f) for f in rollups._CONTACT_FIELDS}, made)
                    for old, c, made in rows
                )

            assert plain(compiled_rows) == plain(orm_rows)
            assert len(compiled_rows) == 3
            if handoff_id is not None:
                made = {c.case_id: m for _old, c, m in compiled_rows}
                assert (made[first.pk] or ())[1:] == (len(NEED), len(DONE))
    assert Handoff.objects.filter(case=first).count() == 1
