"""The "Training day" story (domain.md, release scenario 1) as data: for seed_demo and the tests.

A team of account executives owns open cases with next steps; the manager proposes sending them all
to a one-day course. `training_team` builds the people and cases; `training_decision` the decision with
its three scenarios (as proposed; with mitigations; two groups on two days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.utils import timezone

from steward.accounts.models import Role, Team, User
from steward.accounts.services import user_create, user_set_backup
from steward.cases.models import Case
from steward.cases.services import case_open, commitment_set
from steward.customers.models import Customer
from steward.customers.services import customer_create

from . import services
from .models import Decision, DecisionKind, Mitigation, ScenarioKind

EXECUTIVES = (("ae_anna", "Anna"), ("ae_boris", "Boris"), ("ae_chai", "Chai"), ("ae_dara", "Dara"))
COVER = (("cover_eva", "Eva"), ("cover_femi", "Femi"))


@dataclass
class TrainingTeam:
    team: Team
    executives: list[User]
    cover: list[User]
    cases: list[Case]
    day1: datetime  # local midnight of the course day; day 2 follows
    window_end: datetime


def course_day(now: datetime) -> datetime:
    """Local midnight of the next Tuesday at least two days ahead (a working day, then a second one)."""
    local = timezone.localtime(now)
    day = local.date() + timedelta(days=2)
    while day.weekday() != 1:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


def training_team(
    *, now: datetime | None = None, password: str | None = None, prefix: str = ""
) -> TrainingTeam:
    """Four account executives (each the backup of the next: all away together) with two cases each,
    half of them with a next step due on the course day; two colleagues of another team who can cover."""
    now = now or timezone.now()
    day1 = course_day(now)
    team, _created = Team.objects.get_or_create(name=f"{prefix}Account executives")
    cover_team, _created = Team.objects.get_or_create(name=f"{prefix}Front office")
    executives = [
        user_create(username=f"{prefix}{u}", password=password, first_name=n, last_name="AE", team=team)
        for u, n in EXECUTIVES
    ]
    cover = [
        user_create(
            username=f"{prefix}{u}", password=password, first_name=n, last_name="Cover", team=cover_team
        )
        for u, n in COVER
    ]
    for i, ae in enumerate(executives):
        user_set_backup(actor=None, user=ae, backup=executives[(i + 1) % len(executives)])
    cases = []
    subjects = (
        ("Invoice shows the wrong discount", "The March invoice lists 5% instead of the agreed 12%."),
        ("Delivery of the new racks", "We need the racks before the store opening on the 30th."),
    )
    for i, ae in enumerate(executives):
        customer: Customer = customer_create(
            actor=None,
            name=f"{prefix}Customer of {ae.first_name}",
            email=f"{prefix}customer{i}@example.com".lower(),
        )
        for j, (subject, description) in enumerate(subjects):
            case = case_open(actor=ae, customer=customer, subject=subject, description=description, owner=ae)
            if j == 0:
                commitment_set(
                    actor=ae,
                    case=case,
                    description="Call back with the corrected invoice",
                    due_at=day1 + timedelta(hours=11),
                )
            cases.append(case)
    return TrainingTeam(team, executives, cover, cases, day1, day1 + timedelta(days=2))


def training_decision(*, manager: User, data: TrainingTeam, saving_minor: int = 120000) -> Decision:
    """The decision with its three scenarios, not yet assessed."""
    day1, day2 = data.day1, data.day1 + timedelta(days=1)
    decision = services.decision_create(
        actor=manager,
        data=services.DecisionData(
            title="Training day: account executives on the negotiation course",
            kind=DecisionKind.STAFF_ABSENCE,
            description="The supplier offers the course on one day for the whole group at a group rate.",
            goal="Better negotiation of renewals; the group rate saves the cost of a second session.",
            saving_minor=saving_minor,
            window_start=day1,
            window_end=data.window_end,
            team=data.team,
        ),
    )
    proposed = decision.scenarios.get()
    services.away_add(actor=manager, scenario=proposed, people=data.executives, starts_at=day1, ends_at=day2)
    mitigated = services.scenario_add(
        actor=manager,
        decision=decision,
        name="With backups and customers told",
        kind=ScenarioKind.MITIGATED,
        mitigations=[Mitigation.BACKUPS_FULL_ACCESS, Mitigation.NOTIFY_IN_ADVANCE],
        copy_from=proposed,
    )
    for ae, cover in zip(data.executives, data.cover * 2, strict=False):
        services.backup_override_set(actor=manager, scenario=mitigated, user=ae, backup=cover)
    alternative = services.scenario_add(
        actor=manager,
        decision=decision,
        name="Two groups on two days",
        kind=ScenarioKind.ALTERNATIVE,
        mitigations=[Mitigation.NOTIFY_IN_ADVANCE],
    )
    half = len(data.executives) // 2
    services.away_add(
        actor=manager, scenario=alternative, people=data.executives[:half], starts_at=day1, ends_at=day2
    )
    services.away_add(
        actor=manager,
        scenario=alternative,
        people=data.executives[half:],
        starts_at=day2,
        ends_at=data.window_end,
    )
    return decision


ANSWERS = {
    "answer_impact": "Eight open cases and four next steps lose their owner for a day; customers who call "
    "that day would reach nobody who knows their case.",
    "answer_reduce": "Backups of the front office with full access; customers with a next step that day are "
    "told in advance.",
    "answer_action_plan": "Yes: the cases are handed over with summaries the day before and the customers "
    "written to; the plan is carried out from this page.",
    "answer_alternatives": "Two groups on two days keeps half the team present each day at almost the same "
    "price.",
}


def manager_for_demo(prefix: str = "", password: str | None = None) -> User:
    return user_create(username=f"{prefix}manager_td", password=password, role=Role.MANAGER, first_name="Mia")


def seed_training_decision(*, manager: User, executives: list[User], course: datetime) -> Decision:
    """seed_demo's decision: the account executives' course of `course` (a Tuesday, 10 hours), assessed
    with its mitigation and the two-group alternative, approved as proposed (which records the
    absences), its action plan left for the manager to carry out from the page."""
    start = course.replace(hour=0, minute=0)
    end = start + timedelta(days=2)
    decision = services.decision_create(
        actor=manager,
        data=services.DecisionData(
            title="Product course: all account executives",
            kind=DecisionKind.STAFF_ABSENCE,
            description="The supplier trains the whole group on the new product line in one day.",
            goal="Sell the new line from launch; one session at the group rate.",
            saving_minor=90000,
            window_start=start,
            window_end=end,
            team=executives[0].team if executives else None,
        ),
    )
    proposed = decision.scenarios.get()
    course_end = course + timedelta(hours=10)
    services.away_add(
        actor=manager, scenario=proposed, people=executives, starts_at=course, ends_at=course_end
    )
    services.scenario_add(
        actor=manager,
        decision=decision,
        name="With backups and customers told",
        kind=ScenarioKind.MITIGATED,
        mitigations=[Mitigation.BACKUPS_FULL_ACCESS, Mitigation.NOTIFY_IN_ADVANCE],
        copy_from=proposed,
    )
    alternative = services.scenario_add(
        actor=manager,
        decision=decision,
        name="Two groups on two days",
        kind=ScenarioKind.ALTERNATIVE,
        mitigations=[Mitigation.NOTIFY_IN_ADVANCE],
    )
    half = len(executives) // 2
    services.away_add(
        actor=manager, scenario=alternative, people=executives[:half], starts_at=course, ends_at=course_end
    )
    services.away_add(
        actor=manager,
        scenario=alternative,
        people=executives[half:],
        starts_at=course + timedelta(days=1),
        ends_at=course_end + timedelta(days=1),
    )
    services.decision_assess(actor=manager, decision=decision)
    decision = services.decision_update(
        actor=manager,
        decision=decision,
        data=services.DecisionData(
            title=decision.title,
            kind=decision.kind,
            window_start=decision.window_start,
            window_end=decision.window_end,
            description=decision.description,
            goal=decision.goal,
            saving_minor=decision.saving_minor,
            team=decision.team,
            answers=ANSWERS,
        ),
    )
    return services.decision_approve(actor=manager, decision=decision, scenario=proposed)
