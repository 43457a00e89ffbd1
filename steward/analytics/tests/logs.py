"""Event logs with known answers, built through the REAL services, for the analysis, review and
browser tests.

Every step calls the service a person would trigger (`case_open`, `case_reply`, `task_create`,
`task_take`, `task_log_work`, `task_complete`, `task_return`, `task_cancel`, `case_set_status`,
`case_receive_message`, `case_propose_solution`, `case_confirm_solution`, `case_add_note`) with `at=`,
so the log holds exactly the rows production writes. Tasks are taken and worked by a sector member of
the task's sector (created on first use); the case owner hands tasks over and talks to the customer.

Calendar: `KNOWN_CALENDAR`, 09:00–17:00 UTC Monday to Friday, no holidays, is passed to `task_create`
so the due dates do not depend on settings or the Holiday table. T0 is Monday 2 March 2026 09:00 UTC,
so every task below is created and due inside business hours and its business target equals the
calendar time to its due date (a target of 120 business minutes created at 09:10 is due at 11:10).

`build_known_log` writes two cases (times in minutes after each case's opening; [status after]):

Case A, complaint "Parcel arrived a week late" (category Delivery), opened Monday 09:00:
   0 opened [front desk], customer message [no sector]                         [new]
   5 reply [front desk]                                                        [open]
  10 task W1 warehouse, target 120 (due 11:10)                                 [waiting_sector]
  70 taken   100 logged 30 min   190 completed: late by 60 (past due 11:10)   [open: last task ended]
 200 task L1 logistics, target 240 (due 16:20) and, same instant, task B1 billing, target 60
     (due 13:20): a tie in time, two concurrent tasks                          [waiting_sector]
 230 B1 taken   240 B1 logged 20 min   250 B1 completed, on time              [waiting_sector: L1 open]
 260 L1 taken   400 L1 logged 60 min   500 L1 completed: late by 60           [open]
 510 status set by the owner [front desk]                                      [waiting_customer]
 540 customer writes [no sector] → status event [no sector]                    [open]
 600 solution proposed [front desk]                                            [solution_proposed]
 660 solution confirmed by the customer on the portal [no sector]              [closed]
 Lead 660 min = front line 90 (0–10, 190–200, 500–510, 540–600)
              + customer 90 (510–540 waiting_customer, 600–660 solution_proposed)
              + warehouse 180 + logistics 275 + billing 25 (200–250 shared 1/2 each).
 waiting_sector is not customer time: the sectors hold those spans.
 Sectors: FD, W, L, B, L, FD → 5 handoffs, one ping-pong L → B → L.

Case B, request, opened Tuesday 09:00 (T0 + 1 day), still open at NOW = its opening + 200 min:
   0 opened [front desk]                                                       [new]
  20 task B2 billing, target 60   30 taken   50 returned ("Missing invoice number") [waiting_sector → open]
  60 note [front desk]     80 task B3 billing, target 60, never taken (open)  [waiting_sector]
 Lead so far 200 min = front line 50 + billing 150.   Sectors: FD, B, FD, B → 3 handoffs,
 1 ping-pong: B → FD → B (FD → B → FD is the owner's round trip, not a ping-pong).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from steward.accounts.models import Role, User
from steward.cases import task_services
from steward.cases.models import Case, Category, Kind, SectorTask
from steward.cases.services import (
    case_add_note,
    case_confirm_solution,
    case_open,
    case_propose_solution,
    case_receive_message,
    case_reply,
    case_set_status,
)
from steward.core.business_calendar import BusinessCalendar
from steward.customers.models import Customer
from steward.sectors.models import Distance, Sector
from steward.sectors.services import sector_create
from steward.testing import make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, the moment business hours open
NOW = T0 + timedelta(days=1, minutes=200)
KNOWN_CALENDAR = BusinessCalendar(
    opens=time(9, 0),
    closes=time(17, 0),
    weekdays=frozenset(range(5)),
    holidays=frozenset(),
    tz=ZoneInfo("UTC"),
)


@dataclass
class Chain:
    front_desk: Sector
    warehouse: Sector
    logistics: Sector
    billing: Sector


def _sector(name: str, distance: int) -> Sector:
    existing = Sector.objects.filter(name=name).first()
    return existing or sector_create(actor=None, name=name, distance=distance)


def value_chain() -> Chain:
    """Front desk, warehouse, logistics and billing (reusing the personas' front desk and billing)."""
    return Chain(
        front_desk=_sector("Front desk", Distance.FRONT_LINE),
        warehouse=_sector("Warehouse", Distance.FAR_BACK_OFFICE),
        logistics=_sector("Logistics", Distance.MIDDLE),
        billing=_sector("Billing", Distance.BACK_OFFICE),
    )


def sector_member(sector: Sector) -> User:
    """An active sector member of `sector` (the first one there is, else a new one)."""
    existing = (
        User.objects.filter(sector=sector, role=Role.SECTOR_MEMBER, is_active=True).order_by("pk").first()
    )
    if existing is not None:
        return existing
    return make_user(f"member-{sector.pk}", role=Role.SECTOR_MEMBER, sector_id=sector.pk)


@dataclass
class CaseLog:
    """Drives one case through the services at `t0 + minutes`."""

    case: Case
    t0: datetime
    owner: User
    members: dict[int, User] = field(default_factory=dict)  # sector id → who works its tasks

    def at(self, minute: float) -> datetime:
        return self.t0 + timedelta(minutes=minute)

    def member(self, sector_id: int) -> User:
        if sector_id not in self.members:
            self.members[sector_id] = sector_member(Sector.objects.get(pk=sector_id))
        return self.members[sector_id]

    def _fresh(self) -> Case:
        self.case.refresh_from_db()
        return self.case

    # Sector tasks.
    def task(self, sector: Sector, minute: float, *, target: int, actor: User | None = None) -> SectorTask:
        task = task_services.task_create(
            actor=actor or self.owner,
            case=self.case,
            sector=sector,
            description=f"Step for {sector.name}",
            target_minutes=target,
            at=self.at(minute),
            calendar=KNOWN_CALENDAR,
        )
        self._fresh()
        return task

    def take(self, task: SectorTask, minute: float, actor: User | None = None) -> None:
        task_services.task_take(actor=actor or self.member(task.sector_id), task=task, at=self.at(minute))
        self._fresh()

    def work(self, task: SectorTask, minute: float, minutes: int, actor: User | None = None) -> None:
        task_services.task_log_work(
            actor=actor or self.member(task.sector_id), task=task, minutes=minutes, at=self.at(minute)
        )
        self._fresh()

    def complete(self, task: SectorTask, minute: float, actor: User | None = None) -> None:
        task_services.task_complete(actor=actor or self.member(task.sector_id), task=task, at=self.at(minute))
        self._fresh()

    def ret(self, task: SectorTask, minute: float, reason: str, actor: User | None = None) -> None:
        task_services.task_return(
            actor=actor or self.member(task.sector_id), task=task, reason=reason, at=self.at(minute)
        )
        self._fresh()

    def cancel(self, task: SectorTask, minute: float, actor: User | None = None) -> None:
        task_services.task_cancel(actor=actor or self.owner, task=task, at=self.at(minute))
        self._fresh()

    # The conversation and the case's status.
    def reply(self, minute: float, *, wait_for_customer: bool = False) -> None:
        case_reply(
            actor=self.owner,
            case=self.case,
            body="We are looking into it.",
            wait_for_customer=wait_for_customer,
            at=self.at(minute),
        )
        self._fresh()

    def customer_writes(self, minute: float) -> None:
        case_receive_message(case=self.case, body="Any news?", at=self.at(minute))
        self._fresh()

    def note(self, minute: float) -> None:
        case_add_note(actor=self.owner, case=self.case, body="Asked billing again.", at=self.at(minute))
        self._fresh()

    def status(self, minute: float, new: str) -> None:
        case_set_status(actor=self.owner, case=self.case, status=new, at=self.at(minute))
        self._fresh()

    def propose(self, minute: float) -> None:
        case_propose_solution(
            actor=self.owner, case=self.case, solution="A voucher and a new parcel.", at=self.at(minute)
        )
        self._fresh()

    def confirm(self, minute: float) -> None:
        case_confirm_solution(case=self.case, at=self.at(minute))  # the customer, on the portal
        self._fresh()


def open_case(
    *,
    owner: User,
    customer: Customer,
    t0: datetime,
    subject: str,
    kind: str = Kind.COMPLAINT,
    category: Category | None = None,
) -> CaseLog:
    case = case_open(
        actor=owner,
        customer=customer,
        subject=subject,
        description=subject,
        owner=owner,
        kind=kind,
        category=category,
        at=t0,
    )
    return CaseLog(case=case, t0=t0, owner=owner)


def delivery_category() -> Category:
    return Category.objects.get_or_create(name="Delivery")[0]


def late_delivery_case(
    *,
    owner: User,
    customer: Customer,
    chain: Chain,
    t0: datetime = T0,
    members: dict[str, User] | None = None,
    warehouse_takes_at: int = 70,
) -> CaseLog:
    """Case A of the module docstring: front desk → warehouse → logistics ‖ billing → front desk.

    `members` names who works in "warehouse", "logistics" and "billing" (default: any sector member).
    `warehouse_takes_at` (minute) lets the release scenario make the warehouse queue the longest wait;
    the work is then logged 10 minutes after taking (work is only logged on a task in progress).
    """
    log = open_case(
        owner=owner,
        customer=customer,
        t0=t0,
        subject="Parcel arrived a week late",
        category=delivery_category(),
    )
    for name, user in (members or {}).items():
        log.members[getattr(chain, name).pk] = user
    log.reply(5)
    w1 = log.task(chain.warehouse, 10, target=120)
    log.take(w1, warehouse_takes_at)
    log.work(w1, max(100, warehouse_takes_at + 10), 30)
    log.complete(w1, 190)
    l1 = log.task(chain.logistics, 200, target=240)
    b1 = log.task(chain.billing, 200, target=60)
    log.take(b1, 230)
    log.work(b1, 240, 20)
    log.complete(b1, 250)
    log.take(l1, 260)
    log.work(l1, 400, 60)
    log.complete(l1, 500)
    log.status(510, "waiting_customer")
    log.customer_writes(540)
    log.propose(600)
    log.confirm(660)
    return log


def returned_task_case(*, owner: User, customer: Customer, chain: Chain, t0: datetime) -> CaseLog:
    """Case B of the module docstring: a task returned, then a second one still open."""
    log = open_case(owner=owner, customer=customer, t0=t0, subject="Invoice is wrong", kind=Kind.REQUEST)
    b2 = log.task(chain.billing, 20, target=60)
    log.take(b2, 30)
    log.ret(b2, 50, "Missing invoice number")
    log.note(60)
    log.task(chain.billing, 80, target=60)
    return log


@dataclass
class KnownLog:
    chain: Chain
    a: CaseLog
    b: CaseLog
    now: datetime = NOW


def build_known_log(*, owner: User, customer: Customer) -> KnownLog:
    chain = value_chain()
    a = late_delivery_case(owner=owner, customer=customer, chain=chain)
    b = returned_task_case(owner=owner, customer=customer, chain=chain, t0=T0 + timedelta(days=1))
    return KnownLog(chain=chain, a=a, b=b)
