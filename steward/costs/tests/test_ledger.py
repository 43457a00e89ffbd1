"""Hand-computed ledgers: the rate in force on the day, boundaries, missing rates, categories."""

from __future__ import annotations

from datetime import date

import pytest

from steward.cases import task_services
from steward.cases.models import Kind
from steward.cases.services import case_add_note, case_reply

from ..models import CostCategory
from ..selectors import RATE_MISSING, case_cost, ledger_lines, ledger_totals
from .helpers import at, complaint, rate, task, work

pytestmark = pytest.mark.django_db

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@pytest.fixture(autouse=True)
def _contact_minutes(settings):
    settings.STEWARD_CONTACT_MINUTES = "reply:6,note:2,handoff:5"
    settings.STEWARD_CURRENCY = "EUR"


def test_work_is_costed_at_the_rate_in_force_on_its_day_including_the_effective_date(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)  # 60.00 EUR an hour
    rate(p, p.billing, "2026-03-10", 7200)  # 72.00 from the 10th
    case = complaint(p, "2026-03-02")
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-09", 30, hour=23)  # the last evening of the old rate
    work(t, p.sector_member, "2026-03-10", 30, hour=0)  # midnight: the new rate's first minute
    work(t, p.sector_member, "2026-03-11", 45)

    logs = [ln for ln in ledger_lines(*MARCH) if ln.source == "work_log"]

    assert [(ln.incurred_on, ln.minutes, ln.rate_minor, ln.amount_minor) for ln in logs] == [
        (date(2026, 3, 9), 30, 6000, 3000),
        (date(2026, 3, 10), 30, 7200, 3600),
        (date(2026, 3, 11), 45, 7200, 5400),
    ]
    assert {(ln.category, ln.rule, ln.sector_id, ln.case_id) for ln in logs} == {
        (CostCategory.EXTERNAL_FAILURE, "EF-COMPLAINT", p.billing.pk, case.pk)
    }


def test_a_later_rate_never_changes_what_earlier_work_cost(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-03", 60)
    before = [ln.amount_minor for ln in ledger_lines(*MARCH) if ln.source == "work_log"]

    rate(p, p.billing, "2026-03-20", 9000)

    after = [ln.amount_minor for ln in ledger_lines(*MARCH) if ln.source == "work_log"]
    assert before == after == [6000]


def test_time_of_a_sector_without_a_rate_is_cost_unknown_never_zero(personas):
    p = personas
    rate(p, p.billing, "2026-03-05", 6000)  # from the 5th only
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-04", 20)  # before any rate
    work(t, p.sector_member, "2026-03-05", 20)
    case_reply(
        actor=p.adviser, case=case, body="We are on it.", at=at("2026-03-04", 12)
    )  # front desk: no rate

    lines = ledger_lines(*MARCH)
    by_source = {(ln.source, ln.incurred_on): ln for ln in lines}
    early = by_source[("work_log", date(2026, 3, 4))]
    assert early.amount_minor is None and early.reason == RATE_MISSING and early.minutes == 20
    assert by_source[("work_log", date(2026, 3, 5))].amount_minor == 2000
    reply = by_source[("reply", date(2026, 3, 4))]
    assert (reply.amount_minor, reply.reason, reply.estimated, reply.minutes) == (None, RATE_MISSING, True, 6)
    assert reply.sector_id == p.front_desk.pk

    totals = {t.key: t for t in ledger_totals(*MARCH)}
    ef = totals[(CostCategory.EXTERNAL_FAILURE,)]
    # Known lines only are summed; the unknown ones are counted, not added as 0.
    assert (ef.amount_minor, ef.unknown_lines, ef.unknown_minutes, ef.complete) == (2000, 2, 26, False)


def test_contacts_cost_a_standard_handling_time_at_the_authors_sector_rate(personas):
    p = personas
    rate(p, p.front_desk, "2026-03-01", 3000)  # 30.00 an hour: 6 min = 3.00, 2 min = 1.00
    case = complaint(p, kind=Kind.QUESTION)
    case_reply(actor=p.adviser, case=case, body="Here is how.", at=at("2026-03-03"))
    case_add_note(actor=p.adviser, case=case, body="Called back.", at=at("2026-03-03", 11))

    lines = sorted(
        (ln.source, ln.minutes, ln.amount_minor, ln.rule, ln.category) for ln in ledger_lines(*MARCH)
    )
    assert lines == [("note", 2, 100, "SVC", None), ("reply", 6, 300, "SVC", None)]


def test_work_on_a_returned_task_is_internal_failure_even_on_a_complaint(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-02", 10)
    task_services.task_return(
        actor=p.sector_member, task=t, reason="No invoice number.", at=at("2026-03-02", 12)
    )

    (line,) = [ln for ln in ledger_lines(*MARCH) if ln.source == "work_log"]
    assert (line.rule, line.category, line.amount_minor) == (
        "IF-RETURNED",
        CostCategory.INTERNAL_FAILURE,
        1000,
    )


def test_lines_outside_the_period_are_left_out(personas):
    p = personas
    rate(p, p.billing, "2026-02-01", 6000)
    case = complaint(p, "2026-02-27")
    t = task(p, case, p.billing, "2026-02-27", p.sector_member)
    work(t, p.sector_member, "2026-02-28", 10, hour=23)
    work(t, p.sector_member, "2026-03-01", 10, hour=0)

    assert [ln.incurred_on for ln in ledger_lines(*MARCH) if ln.source == "work_log"] == [date(2026, 3, 1)]


def test_case_cost_groups_staff_time_by_sector_and_flags_missing_rates(personas):
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-02", 30)
    work(t, p.sector_member, "2026-03-03", 15)
    case_reply(actor=p.adviser, case=case, body="On it.", at=at("2026-03-02", 12))

    cost = case_cost(case.pk)
    (billing,) = cost.staff
    assert (billing.sector, billing.minutes, billing.amount_minor) == (p.billing, 45, 4500)
    (front,) = cost.contacts
    assert (front.sector, front.minutes, front.amount_minor, front.estimated) == (p.front_desk, 6, None, True)
    assert cost.total_minor == 4500 and cost.unknown_minutes == 6 and cost.reasons == [RATE_MISSING]
    assert cost.expected_churn_loss is None  # the economics helper's slot


def test_the_case_panels_precompiled_totals_equal_the_straight_query(personas):
    """The case page's totals SQL is compiled once (on PostgreSQL with its constants written in, only
    the case id replaced per case): the same totals as building the ledger query for that case."""
    from .. import selectors

    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    cases = [complaint(p) for _ in range(3)]
    for i, case in enumerate(cases):
        t = task(p, case, p.billing, "2026-03-02", p.sector_member)
        for j in range(i + 1):
            work(t, p.sector_member, "2026-03-03", 10 + j, hour=9 + j)
        case_reply(actor=p.adviser, case=case, body="On it.", at=at("2026-03-02", 12))
        case_add_note(actor=p.adviser, case=case, body="Note", at=at("2026-03-02", 13))
    by = ("ln_source", "ln_sector")
    selectors._case_totals_sql.clear()
    # The first case again, and past PostgreSQL's five custom plans of a prepared statement (its
    # generic plan from the sixth execution on): the compiled SQL is reused.
    for case in [*cases, *cases, *cases]:
        straight = selectors._totals(selectors.Scope(case_id=case.pk), by)
        assert straight and selectors._case_totals(case.pk, by) == straight
    assert len(selectors._case_totals_sql) == 1


def test_the_case_panels_totals_follow_the_front_line_sector_setting(personas, settings):
    """The front-line sector is a subquery of the compiled SQL: a new sector nearer the customer, or
    the setting naming another one, costs the same contacts as the straight query does."""
    from steward.sectors.models import Sector

    from .. import selectors

    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    rate(p, p.front_desk, "2026-03-01", 3000)
    case = complaint(p)
    # The manager has no sector: their reply is costed at the front-line sector's rate.
    case_reply(actor=p.manager, case=case, body="On it.", at=at("2026-03-02", 12))
    by = ("ln_source", "ln_sector")

    def check() -> list[selectors.Total]:
        straight = selectors._totals(selectors.Scope(case_id=case.pk), by)
        assert selectors._case_totals(case.pk, by) == straight
        return straight

    before = check()
    settings.STEWARD_FRONT_LINE_SECTOR = p.billing.slug
    assert check() != before
    settings.STEWARD_FRONT_LINE_SECTOR = ""
    reception = Sector.objects.create(name="Aaa reception", slug="reception", distance=0)
    rate(p, reception, "2026-03-01", 1200)
    assert check() != before


def test_the_economics_hook_fills_the_expected_churn_loss_slot_without_touching_the_total(personas):
    from .. import selectors

    p = personas
    case = complaint(p)
    selectors.register_churn_estimator(lambda case_id: ("estimate", case_id))
    try:
        cost = case_cost(case.pk)
    finally:
        selectors.register_churn_estimator(None)
    assert cost.expected_churn_loss == ("estimate", case.pk)
    assert cost.total_minor == 0 and cost.reasons == ["no_time_logged"]


def test_the_day_of_a_work_log_is_the_organisations_day_not_utcs(personas, settings):
    settings.TIME_ZONE = "Asia/Bangkok"  # UTC+7
    p = personas
    rate(p, p.billing, "2026-03-01", 6000)
    rate(p, p.billing, "2026-03-10", 7200)
    case = complaint(p)
    t = task(p, case, p.billing, "2026-03-02", p.sector_member)
    work(t, p.sector_member, "2026-03-09", 30, hour=18)  # 01:00 on the 10th in Bangkok

    (line,) = [ln for ln in ledger_lines(*MARCH) if ln.source == "work_log"]
    assert (line.incurred_on, line.amount_minor) == (date(2026, 3, 10), 3600)
    assert [
        ln.source for ln in ledger_lines(date(2026, 3, 1), date(2026, 3, 9)) if ln.source == "work_log"
    ] == []


def test_totals_group_only_by_known_columns():
    with pytest.raises(ValueError):
        ledger_totals(*MARCH, by=("ln_category; DROP TABLE costs_costentry",))
