"""A small economy with known answers, built through the real services, for the economics tests.

Period: March 2026 ([2026-03-01, 2026-04-01)). STEWARD_CONTACT_MINUTES is empty in these tests, so
replies, notes and handoffs cost nothing and every amount below is computed by hand.

Rates: Billing 60.00/h (6000 minor) from 2026-01-01; Warehouse has no rate (cost unknown).
Customers (acquired_on / churned_on recorded):
  Ana   acquired 2025-01-10                          complaint A opened 2026-03-02
  Bo    acquired 2025-06-01, lost 2026-03-15         request B opened 2026-03-03, closed 03-05, CSAT 2
  Chai  acquired 2026-03-05 (new in March)
  Dee   acquired 2025-02-01, lost 2026-02-10
  (the personas' customer is acquired with its case, today: outside March)
Case A (complaint): billing task, 30 min logged (30.00 EF-COMPLAINT), completed on time;
  warehouse task, 15 min logged (no rate: unknown), completed; refund 25.00 (EF-COMPENSATION);
  solution confirmed 2026-03-04 (closed); answered CSAT 5, not solved at first contact.
Case B (request): billing task, 20 min logged then returned (20.00 IF-RETURNED); solution confirmed
  2026-03-05 (closed); answered CSAT 2.
Cost entries: training 100.00 (P) 2026-03-10, audit 50.00 (A) 2026-03-20, rework 70.00 (IF) 2026-04-02.
Inputs for March: revenue 10 000.00, sales and marketing 3 000.00, margin 100.00 per customer and
  month, discount 10 % a year, assumed churn uplift 0.05.

March by hand:
  P 10 000, A 5 000, IF 2 000, EF 5 500 (+ one line of unknown cost) → COQ 22 500, failure share 1/3,
  CoQ to revenue 2.25 %.
  S = 2 (Ana, Bo), N = 1 (Chai), E = 2 (Ana, Chai), lost 1 (Bo) → churn 50 %, retention 50 %.
  r (monthly) 0.5, d (monthly) 1.1^(1/12) − 1 = 0.0079741, m 10 000 → CLV 9 843 (multiple 0.98430).
  Dissatisfied: Ana (complaint) and Bo (CSAT 2), 1 lost, no comparable customer → the assumed uplift
  0.05 is used and labelled → expected loss 0.05 × 9 843 = 492 each, 984 at risk.
  CAC 300 000 / 1 = 300 000; CTS = cost on Ana's and Bo's cases 7 500 / (S = 2) = 3 750 → CAC/CTS 80.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from steward.accounts.models import Role, User
from steward.analytics.economics_selectors import Period
from steward.cases import task_services
from steward.cases.models import Case, Kind
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution
from steward.costs.models import EntryKind
from steward.costs.services import compensation_request, cost_entry_create, rate_set
from steward.customers.models import Customer
from steward.customers.services import customer_create, customer_value_set, economics_inputs_set
from steward.sectors.models import Distance, Sector
from steward.sectors.services import sector_create
from steward.surveys.models import SurveyResponse
from steward.surveys.services import survey_answer, survey_send, surveys_muted
from steward.testing import Personas, make_user

from .logs import KNOWN_CALENDAR

MARCH = Period(date(2026, 3, 1), date(2026, 4, 1))


def at(day: int, hour: int = 9, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Economy:
    ana: Customer
    bo: Customer
    chai: Customer
    dee: Customer
    a: Case
    b: Case
    billing: Sector
    warehouse: Sector
    period: Period = MARCH


def answer(
    case: Case, *, csat: int, when: datetime, solved_first_contact: bool | None = None
) -> SurveyResponse:
    """The case survey, sent an hour before `when` (the case is closed) and answered at `when`."""
    survey = survey_send(case=case, at=when - timedelta(hours=1))
    assert survey is not None
    return survey_answer(
        survey=survey, answers={"csat": csat, "solved_first_contact": solved_first_contact}, at=when
    )


def _member(sector: Sector) -> User:
    return make_user(f"m-{sector.slug}", role=Role.SECTOR_MEMBER, sector_id=sector.pk)


def _customer(name: str, acquired: date, lost: date | None = None) -> Customer:
    c = customer_create(actor=None, name=name)
    return customer_value_set(
        actor=None, customer=c, acquired_on=acquired, churned_on=lost, monthly_margin_minor=None
    )


def build_economy(p: Personas) -> Economy:
    with surveys_muted():  # history: no survey scheduled by a closure, no mail for a low score
        return _build(p)


def _build(p: Personas) -> Economy:
    adviser, manager = p.adviser, p.manager
    billing = p.billing
    warehouse = sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)
    rate_set(
        actor=manager, sector=billing, effective_from=date(2026, 1, 1), hourly_rate_minor=6000, currency="EUR"
    )
    bill_member, wh_member = p.sector_member, _member(warehouse)

    ana = _customer("Ana", date(2025, 1, 10))
    bo = _customer("Bo", date(2025, 6, 1), date(2026, 3, 15))
    chai = _customer("Chai", date(2026, 3, 5))
    dee = _customer("Dee", date(2025, 2, 1), date(2026, 2, 10))

    a = case_open(
        actor=adviser,
        customer=ana,
        subject="Parcel late",
        description="A week late.",
        owner=adviser,
        kind=Kind.COMPLAINT,
        at=at(2),
    )
    t1 = task_services.task_create(
        actor=adviser,
        case=a,
        sector=billing,
        description="Check",
        target_minutes=120,
        at=at(2, 9, 10),
        calendar=KNOWN_CALENDAR,
    )
    task_services.task_take(actor=bill_member, task=t1, at=at(2, 9, 20))
    task_services.task_log_work(actor=bill_member, task=t1, minutes=30, at=at(2, 9, 50))
    task_services.task_complete(actor=bill_member, task=t1, at=at(2, 10, 0))
    t2 = task_services.task_create(
        actor=adviser,
        case=a,
        sector=warehouse,
        description="Find parcel",
        target_minutes=240,
        at=at(2, 10, 10),
        calendar=KNOWN_CALENDAR,
    )
    task_services.task_take(actor=wh_member, task=t2, at=at(2, 10, 20))
    task_services.task_log_work(actor=wh_member, task=t2, minutes=15, at=at(2, 10, 40))
    task_services.task_complete(actor=wh_member, task=t2, at=at(2, 11, 0))
    compensation_request(
        actor=adviser, case=a, kind="refund", amount_minor=2500, currency="EUR", reason="Late", at=at(3)
    )
    case_propose_solution(actor=adviser, case=Case.objects.get(pk=a.pk), solution="Refunded.", at=at(3, 10))
    case_confirm_solution(case=Case.objects.get(pk=a.pk), at=at(4))
    answer(a, csat=5, when=at(5), solved_first_contact=False)

    b = case_open(
        actor=adviser,
        customer=bo,
        subject="Invoice",
        description="Wrong total.",
        owner=adviser,
        kind=Kind.REQUEST,
        at=at(3),
    )
    t3 = task_services.task_create(
        actor=adviser,
        case=b,
        sector=billing,
        description="Fix",
        target_minutes=120,
        at=at(3, 9, 10),
        calendar=KNOWN_CALENDAR,
    )
    task_services.task_take(actor=bill_member, task=t3, at=at(3, 9, 20))
    task_services.task_log_work(actor=bill_member, task=t3, minutes=20, at=at(3, 9, 40))
    task_services.task_return(actor=bill_member, task=t3, reason="Missing invoice number", at=at(3, 9, 50))
    case_propose_solution(actor=adviser, case=Case.objects.get(pk=b.pk), solution="Corrected.", at=at(4, 10))
    case_confirm_solution(case=Case.objects.get(pk=b.pk), at=at(5))
    answer(b, csat=2, when=at(6))

    cost_entry_create(
        actor=manager,
        incurred_on=date(2026, 3, 10),
        kind=EntryKind.TRAINING,
        description="Course",
        amount_minor=10_000,
        currency="EUR",
    )
    cost_entry_create(
        actor=manager,
        incurred_on=date(2026, 3, 20),
        kind=EntryKind.AUDIT,
        description="Audit",
        amount_minor=5_000,
        currency="EUR",
    )
    cost_entry_create(
        actor=manager,
        incurred_on=date(2026, 4, 2),
        kind=EntryKind.REWORK,
        description="Rework",
        amount_minor=7_000,
        currency="EUR",
    )
    economics_inputs_set(
        actor=manager,
        month=date(2026, 3, 1),
        currency="EUR",
        revenue_minor=1_000_000,
        sales_marketing_minor=300_000,
        margin_per_customer_minor=10_000,
        discount_rate_annual=Decimal("0.1"),
        churn_uplift_prior=Decimal("0.05"),
    )
    return Economy(
        ana, bo, chai, dee, Case.objects.get(pk=a.pk), Case.objects.get(pk=b.pk), billing, warehouse
    )
