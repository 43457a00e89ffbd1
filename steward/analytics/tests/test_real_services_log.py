"""The analysis read on logs written by the real case and task services.

Two things the hand-written rows of test_metrics.py cannot prove: that the status machine of the
services (task events carrying {"from", "to"}, waiting_sector, reopen, closing without confirmation)
is read correctly for the customer-pending time, and that "on time" means the same thing everywhere:
the task's own event, the sector report, a review and the corrective-action follow-up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from steward.analytics import metrics, selectors
from steward.analytics.selectors import Selection
from steward.analytics.tests.logs import T0, CaseLog, build_known_log, open_case, value_chain
from steward.cases.models import CaseEvent, Status
from steward.cases.services import case_close_unconfirmed
from steward.cases.task_selectors import was_late
from steward.reviews import selectors as review_selectors
from steward.reviews import services as review_services

pytestmark = pytest.mark.django_db


def _rows(case_id: int) -> list[metrics.EventRow]:
    return [
        metrics.EventRow(e.case_id, e.pk, e.at, e.kind, e.sector_id, e.data)
        for e in CaseEvent.objects.filter(case_id=case_id).order_by("at", "id")
    ]


def _status_trace(rows: list[metrics.EventRow]) -> list[tuple[int, str]]:
    """(minute, status) after each event that changed the status as the analysis reads it."""
    out: list[tuple[int, str]] = []
    status = ""
    for r in rows:
        new = metrics.status_after(r, status)
        if new != status:
            out.append((round((r.at - rows[0].at).total_seconds() / 60), new))
        status = new
    return out


def test_known_log_statuses_follow_the_services_status_machine(personas):
    log = build_known_log(owner=personas.adviser, customer=personas.customer)
    a = _rows(log.a.case.pk)
    assert _status_trace(a) == [
        (0, "new"),
        (5, "open"),
        (10, "waiting_sector"),  # task_created {"from": "open", "to": "waiting_sector"}
        (190, "open"),  # the last open task completed
        (200, "waiting_sector"),  # two concurrent tasks; B1's completion at 250 keeps it waiting
        (500, "open"),
        (510, "waiting_customer"),
        (540, "open"),  # message_in, then the status event the service writes
        (600, "solution_proposed"),
        (660, "closed"),
    ]
    b = _rows(log.b.case.pk)
    assert _status_trace(b) == [(0, "new"), (20, "waiting_sector"), (50, "open"), (80, "waiting_sector")]
    assert log.b.case.status == Status.WAITING_SECTOR and log.a.case.status == Status.CLOSED
    # Every status move the services wrote is read as its own "to".
    for r in a + b:
        if r.kind in metrics.STATUS_MOVES and "to" in r.data:
            assert metrics.status_after(r, "?") == r.data["to"]


def test_customer_pending_time_with_cancel_reopen_return_and_closing_unconfirmed(personas):
    """Case C (minutes after Wednesday 09:00; [status after]):
      0 opened [new]             10 reply, waiting for the customer [waiting_customer]
     30 customer writes [open]   40 task W (warehouse) [waiting_sector]   50 task L (logistics), concurrent
     60 W cancelled (L still open) [waiting_sector]    100 L taken   120 L completed [open]
    130 solution proposed [solution_proposed]           160 customer writes: reopened [reopened]
    170 task B (billing) [waiting_sector]   180 taken   200 returned [open]
    220 closed unconfirmed by a manager [closed]
    Lead 220 = front line 10+10+10+10+20 = 60, customer 20 (10–30) + 30 (130–160) = 50,
    warehouse 10 + 5 = 15, logistics 5 + 60 = 65, billing 30.
    """
    chain = value_chain()
    start = T0 + timedelta(days=2)
    log: CaseLog = open_case(
        owner=personas.adviser, customer=personas.customer, t0=start, subject="Where is my refund?"
    )
    log.reply(10, wait_for_customer=True)
    log.customer_writes(30)
    w = log.task(chain.warehouse, 40, target=60)
    lg = log.task(chain.logistics, 50, target=60)
    log.cancel(w, 60)
    log.take(lg, 100)
    log.complete(lg, 120)
    log.propose(130)
    log.customer_writes(160)
    b = log.task(chain.billing, 170, target=60)
    log.take(b, 180)
    log.ret(b, 200, "Which refund?")
    case_close_unconfirmed(
        actor=personas.manager, case=log.case, reason="Customer stopped answering.", at=log.at(220)
    )

    rows = _rows(log.case.pk)
    assert [s for _, s in _status_trace(rows)] == [
        "new",
        "waiting_customer",
        "open",
        "waiting_sector",
        "open",
        "solution_proposed",
        "reopened",
        "waiting_sector",
        "open",
        "closed",
    ]
    att = metrics.lead_time_attribution(rows, now=start + timedelta(days=5))
    assert att is not None and att.resolved and att.lead == 220 * 60
    assert (att.front_line / 60, att.customer / 60) == (60, 50)
    c = chain
    assert {k: v / 60 for k, v in att.sectors.items()} == {
        c.warehouse.pk: 15,
        c.logistics.pk: 65,
        c.billing.pk: 30,
    }
    # The SQL read of the selectors gives the same split.
    (sql,) = selectors.attributions(Selection(case_ids=(log.case.pk,)), now=start + timedelta(days=5))
    assert sql == att


def test_on_time_agrees_between_the_task_the_sector_report_the_review_and_the_follow_up(personas, manager):
    """Two warehouse tasks handed over on Friday 16:30 with a 60 business-minute target are due on
    Monday 09:30. One is completed on Monday 09:00 (on time, though 2.7 calendar days passed), the
    other on Monday 09:45 (late by 15 calendar minutes past the due date)."""
    chain = value_chain()
    friday = T0 + timedelta(days=4, hours=7)  # Friday 6 March 2026, 16:00
    log = open_case(owner=personas.adviser, customer=personas.customer, t0=friday, subject="Broken box")
    early = log.task(chain.warehouse, 30, target=60)
    late = log.task(chain.warehouse, 30, target=60)
    monday = 3 * 24 * 60 - 7 * 60  # minutes from Friday 16:00 to Monday 09:00
    log.take(early, monday - 10)
    log.take(late, monday - 5)
    log.complete(early, monday)
    log.complete(late, monday + 45)

    early.refresh_from_db()
    assert early.due_at == friday + timedelta(minutes=monday + 30)
    verdict = {
        e.data["task"]: e.data["on_time"]
        for e in CaseEvent.objects.filter(case=log.case, kind="task_completed")
    }
    assert verdict == {early.pk: True, late.pk: False}
    # The sector queue's own "was late" (steward/cases/task_selectors.py) says the same.
    for task in (early, late):
        task.refresh_from_db()
        assert was_late(task) is not verdict[task.pk]

    selection = Selection(case_ids=(log.case.pk,))
    facts = {t.task: t for t in selectors.task_facts(selection)}
    assert {tid: t.on_time for tid, t in facts.items()} == verdict
    assert facts[late.pk].lateness_seconds == 15 * 60 and facts[early.pk].lateness_seconds == 0
    # Elapsed stays a calendar duration.
    assert facts[early.pk].elapsed_seconds == (monday - 30) * 60

    now = friday + timedelta(days=4)
    table = selectors.sector_table(selection, now=now)
    (row,) = [r for r in table.rows if r.sector == chain.warehouse]
    assert row.stats.on_time == metrics.Ratio(0.5, 1, 2)
    assert (row.stats.lateness.median, row.stats.lateness.max) == (450, 900)

    review = review_services.review_open(actor=manager, title="Broken box", case=log.case, at=now)
    page = review_selectors.review_page(review, now=now)
    (review_row,) = [r for r in page.analysis.table.rows if r.sector == chain.warehouse]
    assert review_row.stats.on_time == row.stats.on_time

    window = selectors.sector_task_facts({chain.warehouse.pk}, start=friday, end=now)
    assert {t.task: t.on_time for t in window} == verdict
    assert review_selectors.measure(window, now=now).on_time == row.stats.on_time
