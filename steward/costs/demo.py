"""Demo costs for seed_demo, written through the costs services with back-dated `at=` like the rest.

`seed_rates` runs before the cases are played (so the mid-period raise of billing's rate is dated
before any work it prices); `seed_costs` runs after them: compensation on some complaints (within the
limit, approved or rejected by the manager above it, a couple still pending), the quality costs Steward
does not log (training, survey programme, QA, an audit, the corrective actions) and the review meeting.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from steward.accounts.models import Role, User
from steward.cases.models import Case, Kind
from steward.reviews.models import Review
from steward.sectors.models import Sector

from .models import CompensationKind, CompensationState, EntryKind
from .services import (
    approval_limit_minor,
    compensation_decide,
    compensation_request,
    cost_entry_create,
    rate_set,
)
from .services import review_meeting_record as meeting_record

# Loaded rates (minor units of STEWARD_CURRENCY an hour); the front desk's is computed from its costs.
RATES = {
    "Account executives": 4200,
    "Technical service": 4500,
    "Billing": 3800,
    "Warehouse": 3200,
    "Logistics": 3400,
}
REASONS = {
    CompensationKind.REFUND: "Refund of the delivery fee: the parcel arrived late.",
    CompensationKind.CREDIT: "One month's credit for the days without service.",
    CompensationKind.GOODWILL: "Goodwill voucher for having to call several times.",
    CompensationKind.REPLACEMENT: "Replacement device sent by express.",
}


def seed_rates(*, manager: User, now: datetime, horizon_days: int) -> None:
    start = (now - timedelta(days=horizon_days + 7)).date()
    sectors = {s.name: s for s in Sector.objects.all()}
    if "Front desk" in sectors:
        # (15,600.00 wages + 3,900.00 taxes + 1,560.00 benefits + 2,340.00 overhead) / 780 h = 30.00 an hour
        rate_set(
            actor=manager,
            sector=sectors["Front desk"],
            effective_from=start,
            wages_minor=1560000,
            employer_taxes_minor=390000,
            benefits_minor=156000,
            overhead_minor=234000,
            productive_hours="780",
            note="Monthly payroll of the front desk team",
            at=now - timedelta(days=horizon_days + 7),
        )
    for name, minor in RATES.items():
        if name in sectors:
            rate_set(
                actor=manager, sector=sectors[name], effective_from=start, hourly_rate_minor=minor, at=now
            )
    if "Billing" in sectors:
        # The yearly pay rise, two months ago: earlier billing work keeps its 38.00.
        rate_set(
            actor=manager,
            sector=sectors["Billing"],
            effective_from=(now - timedelta(days=60)).date(),
            hourly_rate_minor=4000,
            note="Pay rise",
            at=now,
        )


def seed_costs(*, manager: User, now: datetime, rng: random.Random, horizon_days: int) -> None:
    _compensation(manager, now, rng)
    _entries(manager, now, horizon_days)
    _meeting(manager, now)


def _compensation(manager: User, now: datetime, rng: random.Random) -> None:
    complaints = list(
        Case.objects.filter(kind=Kind.COMPLAINT, created_at__lt=now - timedelta(days=3))
        .select_related("owner")
        .order_by("created_at", "id")
    )
    chosen = rng.sample(complaints, k=min(24, len(complaints)))
    chosen.sort(key=lambda c: (c.created_at, c.pk))
    limit = approval_limit_minor()
    for i, case in enumerate(chosen):
        kind = rng.choice(list(CompensationKind))
        amount = rng.choice([1000, 1500, 2500, 4000, 5000, 7500, 12000, 15000])
        # After the case's last event, so its event log stays in time order.
        at = case.updated_at + timedelta(hours=rng.uniform(1, 24))
        if at > now - timedelta(hours=4):
            continue
        comp = compensation_request(
            actor=case.owner,
            case=case,
            kind=kind,
            amount_minor=amount,
            currency="EUR",
            reason=REASONS[kind],
            at=at,
        )
        if comp.state != CompensationState.PENDING or amount <= limit or i >= len(chosen) - 2:
            continue  # within the limit (approved at once), or among the last two left pending
        if i % 5 == 4:
            compensation_decide(
                actor=manager,
                compensation=comp,
                approve=False,
                note="Already credited on the last invoice.",
                at=at + timedelta(hours=3),
            )
        else:
            compensation_decide(actor=manager, compensation=comp, approve=True, at=at + timedelta(hours=3))


def _entries(manager: User, now: datetime, horizon_days: int) -> None:
    sectors = {s.name: s for s in Sector.objects.all()}

    def entry(days_ago: int, kind: str, description: str, minor: int, sector: str | None = None) -> None:
        cost_entry_create(
            actor=manager,
            incurred_on=(now - timedelta(days=days_ago)).date(),
            kind=kind,
            description=description,
            amount_minor=minor,
            currency="EUR",
            sector=sectors.get(sector) if sector else None,
            at=now,
        )

    for month in range(horizon_days // 30):
        days_ago = 30 * month + 5
        entry(days_ago, EntryKind.SURVEY_PROGRAMME, "Survey tool subscription", 30000)
        entry(days_ago + 2, EntryKind.QUALITY_CHECK, "Monthly QA sample of closed cases", 45000, "Front desk")
        if month % 2 == 0:
            entry(
                days_ago + 10,
                EntryKind.TRAINING,
                "Adviser course: owning a case end to end",
                120000,
                "Front desk",
            )
    entry(100, EntryKind.AUDIT, "External audit of the complaint process", 200000)
    entry(80, EntryKind.KNOWLEDGE_BASE, "Process diagrams for the delivery chain", 80000, "Logistics")
    entry(45, EntryKind.CORRECTIVE_ACTION, "Second picker in peak weeks", 240000, "Warehouse")
    entry(20, EntryKind.WARRANTY, "Devices returned under warranty", 65000, "Technical service")


def _meeting(manager: User, now: datetime) -> None:
    review = Review.objects.order_by("-opened_at").first()
    if review is None:
        return
    people = [manager]
    people += list(User.objects.filter(username__in=["warehouse1", "logistics1", "billing1"]))
    people += list(User.objects.filter(role=Role.ADVISER).order_by("username")[:2])
    held = review.opened_at + timedelta(days=1)
    meeting_record(
        actor=manager, review=review, held_on=held.date(), duration_minutes=90, participants=people, at=held
    )
