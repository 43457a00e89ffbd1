"""Builders for the costs tests: everything goes through the real services, with explicit dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from steward.accounts.models import User
from steward.cases import task_services
from steward.cases.models import Case, Kind, SectorTask, WorkLog
from steward.cases.services import case_open
from steward.sectors.models import Sector
from steward.testing import Personas

from ..models import SectorRate
from ..services import rate_set


def at(day: date | str, hour: int = 10, minute: int = 0) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC)


def rate(p: Personas, sector: Sector, day: str, minor: int) -> SectorRate:
    return rate_set(
        actor=p.manager, sector=sector, effective_from=date.fromisoformat(day), hourly_rate_minor=minor
    )


def complaint(
    p: Personas, day: str = "2026-03-02", *, kind: str = Kind.COMPLAINT, subject: str = "Late"
) -> Case:
    return case_open(
        actor=p.adviser,
        customer=p.customer,
        subject=subject,
        description="The parcel is a week late.",
        owner=p.adviser,
        kind=kind,
        at=at(day, 9),
    )


def task(p: Personas, case: Case, sector: Sector, day: str, member: User) -> SectorTask:
    t = task_services.task_create(
        actor=p.adviser, case=case, sector=sector, description="Check the invoice.", at=at(day, 9, 5)
    )
    task_services.task_take(actor=member, task=t, at=at(day, 9, 10))
    return t


def work(t: SectorTask, member: User, day: str, minutes: int, hour: int = 11) -> WorkLog:
    return task_services.task_log_work(actor=member, task=t, minutes=minutes, at=at(day, hour))
