"""The cost-of-quality page reads the CostDay rollup: it must give the SAME figures as the straight
query over the ledger (kept as the reference: `category_totals_ledger`, `coq_trend_ledger`), after a
history built through the services that exercises every way a line is booked, re-classified or
re-costed; and the rollup kept as data arrived must equal the one rebuilt from scratch."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from steward.analytics import economics_selectors as es
from steward.analytics.economics_selectors import Period
from steward.cases import task_services
from steward.cases.models import Case, Kind
from steward.cases.services import (
    case_add_note,
    case_confirm_solution,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_reopen,
    case_reply,
)
from steward.costs import rollup
from steward.costs.models import Compensation, CostDay, CostEntry, EntryKind, LineSource
from steward.costs.services import (
    compensation_decide,
    compensation_request,
    cost_entry_create,
    cost_entry_delete,
    cost_entry_update,
    line_override,
    rate_set,
    review_meeting_record,
)
from steward.customers.services import customer_create
from steward.reviews.services import review_open
from steward.testing import make_user

from .economy import at, build_economy
from .logs import KNOWN_CALENDAR

pytestmark = pytest.mark.django_db

PERIODS = [
    Period(date(2026, 3, 1), date(2026, 4, 1)),
    Period(date(2026, 2, 1), date(2026, 5, 1)),
    Period(date(2025, 5, 1), date(2026, 5, 1)),
    Period(date(2026, 3, 3), date(2026, 3, 18)),  # days, not whole months
    Period(date(2020, 1, 1), date(2020, 2, 1)),  # nothing booked
]


@pytest.fixture(autouse=True)
def _settings(settings):
    # Contacts costed too (replies, notes, handoffs at a standard time): every source books lines.
    settings.STEWARD_CONTACT_MINUTES = "reply:6,note:2,handoff:5"
    settings.STEWARD_CHURN_INACTIVITY_DAYS = 0


def _rows() -> dict[tuple[str, str, str], tuple[int, ...]]:
    """CostDay as {(day, source, category): sums}, rows that sum to nothing left out."""
    out = {}
    for r in CostDay.objects.values_list(
        "day", "source", "category", "amount_minor", "minutes", "lines", "unknown_lines", "unknown_minutes"
    ):
        if any(r[3:]):
            out[(str(r[0]), r[1], r[2])] = tuple(int(x) for x in r[3:])
    return out


def _ledger_rows() -> dict[tuple[str, str, str], tuple[int, ...]]:
    """The same sums straight from the ledger (the reference)."""
    sql, params = es._ledger_sql(Period(date(2000, 1, 1), date(2100, 1, 1)))
    rows = es._fetch(
        "SELECT l.incurred_on, l.source, COALESCE(l.category, ''), COALESCE(SUM(l.amount_minor), 0), "
        "COALESCE(SUM(l.minutes), 0), COUNT(*), SUM(CASE WHEN l.amount_minor IS NULL THEN 1 ELSE 0 END), "
        "COALESCE(SUM(CASE WHEN l.amount_minor IS NULL THEN l.minutes ELSE 0 END), 0) "
        f"FROM ({sql}) l GROUP BY l.incurred_on, l.source, COALESCE(l.category, '')",
        params,
    )
    return {(str(r[0])[:10], r[1], r[2]): tuple(int(x or 0) for x in r[3:]) for r in rows}


def _assert_page_figures_equal_the_reference() -> None:
    assert _rows() == _ledger_rows()
    for p in PERIODS:
        assert es.category_totals(p) == es.category_totals_ledger(p), p
        assert es.coq_trend(p) == es.coq_trend_ledger(p), p


def _history(personas) -> None:
    """Every way a line is booked, re-classified or re-costed, through the services."""
    economy = build_economy(personas)
    adviser, manager, member = personas.adviser, personas.manager, personas.sector_member
    customer = customer_create(actor=None, name="Eve")
    # A request: replies, a note, a handoff (ordinary service) ...
    c = case_open(
        actor=adviser,
        customer=customer,
        subject="Order",
        description="Where is it?",
        owner=adviser,
        at=at(10),
    )
    case_reply(actor=adviser, case=c, body="Looking.", at=at(10, 10))
    case_add_note(actor=adviser, case=c, body="Asked the warehouse.", at=at(10, 11))
    t = task_services.task_create(
        actor=adviser,
        case=c,
        sector=economy.billing,
        description="Check",
        target_minutes=120,
        at=at(10, 12),
        calendar=KNOWN_CALENDAR,
    )
    task_services.task_take(actor=member, task=t, at=at(10, 13))
    task_services.task_log_work(actor=member, task=t, minutes=17, at=at(10, 14))
    case_propose_solution(actor=adviser, case=Case.objects.get(pk=c.pk), solution="Sent.", at=at(11))
    case_confirm_solution(case=Case.objects.get(pk=c.pk), at=at(12))
    # ... reopened by the customer: its work and contacts become external failure (EF-REOPENED).
    case_reopen(actor=None, case=Case.objects.get(pk=c.pk), reason="Still missing", at=at(13))
    case_reply(actor=adviser, case=Case.objects.get(pk=c.pk), body="Sorry.", at=at(13, 10))
    other = make_user("adviser-2")
    case_hand_off(
        actor=adviser,
        case=Case.objects.get(pk=c.pk),
        to_user=other,
        customer_need="Parcel missing after a reopen",
        done_so_far="Checked with the warehouse twice",
        at=at(13, 11),
    )
    # A second reopen changes nothing more.
    case_propose_solution(actor=other, case=Case.objects.get(pk=c.pk), solution="Resent.", at=at(14))
    case_confirm_solution(case=Case.objects.get(pk=c.pk), at=at(15))
    case_reopen(actor=None, case=Case.objects.get(pk=c.pk), reason="Again", at=at(16))
    # A complaint whose task is returned: its work becomes internal failure (IF-RETURNED).
    d = case_open(
        actor=adviser,
        customer=customer,
        subject="Rude",
        description="Bad call.",
        owner=adviser,
        kind=Kind.COMPLAINT,
        at=at(17),
    )
    t2 = task_services.task_create(
        actor=adviser,
        case=d,
        sector=economy.billing,
        description="Listen",
        target_minutes=120,
        at=at(17, 10),
        calendar=KNOWN_CALENDAR,
    )
    task_services.task_take(actor=member, task=t2, at=at(17, 11))
    task_services.task_log_work(actor=member, task=t2, minutes=9, at=at(17, 12))
    task_services.task_return(actor=member, task=t2, reason="No recording", at=at(17, 13))
    # Warehouse work had no cost; a rate dated back to February costs it now (re-rolled).
    rate_set(
        actor=manager,
        sector=economy.warehouse,
        effective_from=date(2026, 2, 1),
        hourly_rate_minor=3000,
        currency="EUR",
    )
    # Compensation above the approval limit, approved by another manager.
    boss = make_user("boss", role="manager")
    comp = compensation_request(
        actor=adviser, case=d, kind="refund", amount_minor=900_000, currency="EUR", reason="Big", at=at(18)
    )
    assert comp.state == "pending"
    compensation_decide(
        actor=boss, compensation=Compensation.objects.get(pk=comp.pk), approve=True, at=at(19)
    )
    # Cost entries: created, edited (another day and kind), deleted.
    e = cost_entry_create(
        actor=manager,
        incurred_on=date(2026, 3, 12),
        kind=EntryKind.OTHER,
        category="appraisal",
        description="Mystery shopper",
        amount_minor=4_000,
        currency="EUR",
    )
    cost_entry_update(
        actor=manager,
        entry=CostEntry.objects.get(pk=e.pk),
        incurred_on=date(2026, 2, 27),
        kind=EntryKind.QUALITY_CHECK,
        description="Mystery shopper",
        amount_minor=4_500,
        currency="EUR",
    )
    gone = cost_entry_create(
        actor=manager,
        incurred_on=date(2026, 3, 14),
        kind=EntryKind.TRAINING,
        description="Cancelled",
        amount_minor=1_000,
        currency="EUR",
    )
    cost_entry_delete(actor=manager, entry=CostEntry.objects.get(pk=gone.pk))
    # Overrides: an ordinary-service reply called appraisal; a work log re-classified twice.
    reply = c.messages.filter(direction="out").order_by("pk").first()
    assert reply is not None
    line_override(
        actor=manager, source=LineSource.REPLY, source_id=reply.pk, category="appraisal", reason="QA call"
    )
    log = t2.work_logs.get()
    for category in ("prevention", "external_failure"):
        line_override(
            actor=manager, source=LineSource.WORK_LOG, source_id=log.pk, category=category, reason="Review"
        )
    # Review meeting time (participants at their sectors' rates).
    review = review_open(actor=manager, title="Rude call", case=d, at=at(20))
    review_meeting_record(
        actor=manager,
        review=review,
        held_on=date(2026, 3, 20),
        duration_minutes=45,
        participants=[member, adviser, manager],  # the manager has no sector: cost unknown
        at=at(21),
    )
    # The adviser moves to Billing (admin): their replies, notes and handoffs are costed at its rate.
    adviser.sector_id = economy.billing.pk
    adviser.save()


def test_the_page_figures_from_the_rollup_equal_the_straight_query(personas):
    _history(personas)
    sources = set(CostDay.objects.values_list("source", flat=True))
    assert sources == set(LineSource.values)  # every kind of line took part
    _assert_page_figures_equal_the_reference()


def test_the_rollup_kept_as_data_arrived_equals_the_rebuilt_one(personas):
    _history(personas)
    kept = _rows()
    rollup.rebuild()
    assert _rows() == kept
    rollup.rebuild()  # safe to run twice
    assert _rows() == kept


def test_a_reply_books_its_line_in_one_statement(personas):
    economy = build_economy(personas)
    case = Case.objects.get(pk=economy.a.pk)
    case_reopen(actor=None, case=case, reason="More", at=at(8))
    rollup.add_line(LineSource.REPLY, 0)  # compiled once per process: not counted below
    with CaptureQueriesContext(connection) as ctx:
        rollup.on_case_event(None, type("E", (), {"kind": "message_out", "data": {"message": 0}})())
    assert len(ctx) == 1
    case_reply(actor=personas.adviser, case=Case.objects.get(pk=case.pk), body="Done.", at=at(8, 10))
    _assert_page_figures_equal_the_reference()


def test_the_page_reads_a_fixed_handful_of_queries(client, personas):
    build_economy(personas)
    client.force_login(personas.manager)
    month = {"date_from": "2026-03", "date_to": "2026-03"}
    client.get("/en/analytics/economics/quality/", month)  # fills the estimate's cache
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/en/analytics/economics/quality/", month).status_code == 200
    # session and user, CostDay three times (this period, the one before, the trend), inputs twice
    assert len(ctx) <= 8, [q["sql"][:120] for q in ctx.captured_queries]
    assert not any("cases_message" in q["sql"] for q in ctx.captured_queries)
