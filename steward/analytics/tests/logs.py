"""Hand-built event logs with known answers, for the analysis, review and browser tests.

The sector-task services live on another branch. Until they are merged, these builders write the task
events straight into `CaseEvent`, following the event contract (task events carry the TASK's sector
and data {"task": id, ...}). AT MERGE: switch `CaseLog.task/take/work/complete/ret/cancel` to the real
task services (they must produce the same rows); every test built on them keeps its expected answers.

`build_known_log` writes two cases (times in minutes after each case's opening):

Case A, complaint "Parcel arrived a week late" (category Delivery), opened at T0:
   0 opened [front desk], customer message [no sector]        5 reply, new → open [front desk]
  10 task W1 warehouse, target 120      70 taken   100 logged 30 min   190 completed  (late by 60)
 200 task L1 logistics, target 240 and, same instant, task B1 billing, target 60 (a tie in time)
 230 B1 taken   240 B1 logged 20 min   250 B1 completed (on time)
 260 L1 taken   400 L1 logged 60 min   500 L1 completed (late by 60)
 510 status open → waiting_customer [front desk]   540 customer writes, status → open [no sector]
 600 solution proposed [front desk]    660 solution confirmed by the customer [no sector]
 Lead 660 min = front line 90 + customer 90 + warehouse 180 + logistics 275 + billing 25 (200–250 shared).
 Sectors: FD, W, L, B, L, FD → 5 handoffs, one ping-pong L → B → L.

Case B, request, opened at T0 + 1 day, still open at NOW = its opening + 200 min:
   0 opened [front desk]   20 task B2 billing, target 60   30 taken   50 returned ("Missing invoice number")
  60 note [front desk]     80 task B3 billing, target 60, never taken (open)
 Lead so far 200 min = front line 50 + billing 150.   Sectors: FD, B, FD, B → 3 handoffs, 2 ping-pongs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from steward.accounts.models import User
from steward.cases.models import Case, CaseEvent, Category, Kind, Status
from steward.cases.services import case_open
from steward.customers.models import Customer
from steward.sectors.models import Distance, Sector
from steward.sectors.services import sector_create

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1, minutes=200)

_task_ids = itertools.count(1000)


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


@dataclass
class CaseLog:
    """Appends events to one case at `t0 + minutes`, like the services would."""

    case: Case
    t0: datetime
    task_sectors: dict[int, Sector] = field(default_factory=dict)

    def at(self, minute: float) -> datetime:
        return self.t0 + timedelta(minutes=minute)

    def add(
        self,
        kind: str,
        minute: float,
        *,
        sector: Sector | None = None,
        actor: User | None = None,
        **data: Any,
    ) -> CaseEvent:
        self.case.version += 1
        Case.objects.filter(pk=self.case.pk).update(version=self.case.version, updated_at=self.at(minute))
        return CaseEvent.objects.create(
            case=self.case,
            kind=kind,
            at=self.at(minute),
            actor=actor,
            sector=sector,
            version=self.case.version,
            data=data,
        )

    # Sector tasks (AT MERGE: the task services).
    def task(self, sector: Sector, minute: float, *, target: int, actor: User | None = None) -> int:
        tid = next(_task_ids)
        self.task_sectors[tid] = sector
        due = self.at(minute + target).isoformat()
        self.add(
            "task_created", minute, sector=sector, actor=actor, task=tid, target_minutes=target, due_at=due
        )
        return tid

    def take(self, task: int, minute: float, actor: User | None = None) -> None:
        self.add("task_taken", minute, sector=self.task_sectors[task], actor=actor, task=task)

    def work(self, task: int, minute: float, minutes: int, actor: User | None = None) -> None:
        self.add(
            "task_work_logged",
            minute,
            sector=self.task_sectors[task],
            actor=actor,
            task=task,
            minutes=minutes,
        )

    def complete(self, task: int, minute: float, actor: User | None = None) -> None:
        self.add("task_completed", minute, sector=self.task_sectors[task], actor=actor, task=task)

    def ret(self, task: int, minute: float, reason: str, actor: User | None = None) -> None:
        self.add(
            "task_returned", minute, sector=self.task_sectors[task], actor=actor, task=task, reason=reason
        )

    def cancel(self, task: int, minute: float, actor: User | None = None) -> None:
        self.add("task_cancelled", minute, sector=self.task_sectors[task], actor=actor, task=task)

    # Case events, with the status the case row ends up in.
    def status(self, minute: float, old: str, new: str, *, sector: Sector | None, actor: User | None) -> None:
        self.add("status", minute, sector=sector, actor=actor, **{"from": old, "to": new})
        Case.objects.filter(pk=self.case.pk).update(status=new)

    def propose(self, minute: float, *, sector: Sector, actor: User | None) -> None:
        self.add("solution_proposed", minute, sector=sector, actor=actor, **{"from": "open"})
        Case.objects.filter(pk=self.case.pk).update(status=Status.SOLUTION_PROPOSED)

    def confirm(self, minute: float) -> None:
        self.add("solution_confirmed", minute, channel="portal", recorded_by_staff=False)
        Case.objects.filter(pk=self.case.pk).update(status=Status.CLOSED, closed_at=self.at(minute))


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
    return CaseLog(case=case, t0=t0)


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

    `warehouse_takes_at` (minute) lets the release scenario make the warehouse queue the longest wait.
    """
    m = members or {}
    fd = chain.front_desk
    log = open_case(
        owner=owner,
        customer=customer,
        t0=t0,
        subject="Parcel arrived a week late",
        category=delivery_category(),
    )
    log.add("message_out", 5, sector=fd, actor=owner, **{"from": "new", "to": "open"})
    Case.objects.filter(pk=log.case.pk).update(status=Status.OPEN)
    w1 = log.task(chain.warehouse, 10, target=120, actor=owner)
    log.take(w1, warehouse_takes_at, m.get("warehouse"))
    log.work(w1, 100, 30, m.get("warehouse"))
    log.complete(w1, 190, m.get("warehouse"))
    l1 = log.task(chain.logistics, 200, target=240, actor=owner)
    b1 = log.task(chain.billing, 200, target=60, actor=owner)
    log.take(b1, 230, m.get("billing"))
    log.work(b1, 240, 20, m.get("billing"))
    log.complete(b1, 250, m.get("billing"))
    log.take(l1, 260, m.get("logistics"))
    log.work(l1, 400, 60, m.get("logistics"))
    log.complete(l1, 500, m.get("logistics"))
    log.status(510, "open", "waiting_customer", sector=fd, actor=owner)
    log.add("message_in", 540, message=0, automatic=False)
    log.status(540, "waiting_customer", "open", sector=None, actor=None)
    log.propose(600, sector=fd, actor=owner)
    log.confirm(660)
    return log


def returned_task_case(*, owner: User, customer: Customer, chain: Chain, t0: datetime) -> CaseLog:
    """Case B of the module docstring: a task returned, then a second one still open."""
    fd = chain.front_desk
    log = open_case(owner=owner, customer=customer, t0=t0, subject="Invoice is wrong", kind=Kind.REQUEST)
    b2 = log.task(chain.billing, 20, target=60, actor=owner)
    log.take(b2, 30)
    log.ret(b2, 50, "Missing invoice number")
    log.add("note", 60, sector=fd, actor=owner, note=0)
    log.task(chain.billing, 80, target=60, actor=owner)
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
