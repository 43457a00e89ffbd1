"""The decision register's services: state machine, approval rules, absences, action plan idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steward.accounts.models import Absence, Role
from steward.accounts.services import absence_create
from steward.cases.models import Commitment, CommitmentState, Handoff, Message
from steward.core.errors import DomainError, NotPermitted
from steward.decisions import demo, services
from steward.decisions.models import AssessmentSnapshot, DecisionState, PlanAction
from steward.notifications.models import OutboundMail
from steward.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    manager = make_user("boss", role=Role.MANAGER)
    data = demo.training_team()
    decision = demo.training_decision(manager=manager, data=data)
    return manager, data, decision


def _answer(manager, decision):
    d = decision
    return services.decision_update(
        actor=manager,
        decision=d,
        data=services.DecisionData(
            title=d.title,
            kind=d.kind,
            window_start=d.window_start,
            window_end=d.window_end,
            description=d.description,
            goal=d.goal,
            saving_minor=d.saving_minor,
            team=d.team,
            answers=demo.ANSWERS,
        ),
    )


def test_only_managers_write(story):
    _manager, data, decision = story
    executive = make_user("exec", role=Role.EXECUTIVE)
    with pytest.raises(NotPermitted):
        services.decision_assess(actor=executive, decision=decision)
    with pytest.raises(NotPermitted):
        services.scenario_add(actor=data.executives[0], decision=decision, name="Mine")


def test_window_and_away_periods_are_checked(story):
    manager, data, decision = story
    proposed = decision.scenarios.get(name="As proposed")
    with pytest.raises(DomainError, match="Already away in this scenario") as exc:
        services.away_add(
            actor=manager,
            scenario=proposed,
            people=data.executives[:1],
            starts_at=data.day1 + timedelta(hours=3),
            ends_at=data.day1 + timedelta(hours=5),
        )
    assert data.executives[0].display_name in str(exc.value)
    with pytest.raises(DomainError, match="within the decision's window"):
        services.away_add(
            actor=manager,
            scenario=proposed,
            people=data.cover,
            starts_at=data.day1 - timedelta(hours=1),
            ends_at=data.day1 + timedelta(hours=5),
        )
    with pytest.raises(DomainError, match="end after it starts"):
        services.away_add(
            actor=manager, scenario=proposed, people=data.cover, starts_at=data.day1, ends_at=data.day1
        )
    bad = services.DecisionData(
        title="x", kind="staff_absence", window_start=data.day1, window_end=data.day1 - timedelta(hours=1)
    )
    with pytest.raises(DomainError, match="window must end after"):
        services.decision_create(actor=manager, data=bad)


def test_people_for_expands_teams_and_sectors_once(story):
    _manager, data, _decision = story
    people = services.people_for(users=data.executives[:1], teams=[data.team])
    assert sorted(p.pk for p in people) == sorted(u.pk for u in data.executives)


def test_state_machine_approval_plan_and_idempotency(story):
    manager, data, decision = story
    alternative = decision.scenarios.get(name="Two groups on two days")
    with pytest.raises(DomainError, match="Assess"):
        services.decision_approve(actor=manager, decision=decision, scenario=alternative)

    snapshots = services.decision_assess(actor=manager, decision=decision)
    assert len(snapshots) == 3
    decision.refresh_from_db()
    assert decision.state == DecisionState.ASSESSED
    proposed = AssessmentSnapshot.objects.get(scenario__name="As proposed")
    assert proposed.result["ownership_gaps"], "all executives away: their cases lose their owner"
    assert proposed.inputs

    # The four questions come first; answering them keeps the assessment current.
    with pytest.raises(DomainError, match="four questions"):
        services.decision_approve(actor=manager, decision=decision, scenario=alternative)
    decision = _answer(manager, decision)
    assert decision.state == DecisionState.ASSESSED

    services.decision_approve(actor=manager, decision=decision, scenario=alternative)
    decision.refresh_from_db()
    assert decision.state == DecisionState.APPROVED
    assert decision.absences.count() == 4
    assert Absence.objects.filter(user__in=data.executives).count() == 4
    with pytest.raises(DomainError, match="no longer be changed"):
        services.scenario_add(actor=manager, decision=decision, name="Late idea")

    handoffs, mails, messages = Handoff.objects.count(), OutboundMail.objects.count(), Message.objects.count()
    outcome = services.decision_carry_out_plan(actor=manager, decision=decision)
    assert outcome.done > 0
    assert PlanAction.objects.filter(decision=decision).count() == outcome.done + len(outcome.skipped)
    assert Handoff.objects.count() + Message.objects.count() > handoffs + messages
    assert OutboundMail.objects.count() > mails, "customers are told through the outbox"
    for handoff in Handoff.objects.all()[handoffs:]:
        assert handoff.customer_need and handoff.done_so_far

    counts = (Handoff.objects.count(), OutboundMail.objects.count(), Message.objects.count())
    again = services.decision_carry_out_plan(actor=manager, decision=decision)
    assert again.done == 0 and again.already == outcome.done + len(outcome.skipped)
    assert (Handoff.objects.count(), OutboundMail.objects.count(), Message.objects.count()) == counts

    services.decision_mark_in_effect(actor=manager, decision=decision)
    decision.refresh_from_db()
    assert decision.state == DecisionState.IN_EFFECT
    with pytest.raises(DomainError, match="after the window ends"):
        services.decision_review(actor=manager, decision=decision)


def test_editing_an_assessed_decision_sends_it_back_to_draft(story):
    manager, data, decision = story
    services.decision_assess(actor=manager, decision=decision)
    services.scenario_update(
        actor=manager,
        scenario=decision.scenarios.get(name="As proposed"),
        name="As proposed",
        kind="proposed",
        mitigations=["notify_in_advance"],
    )
    decision.refresh_from_db()
    assert decision.state == DecisionState.DRAFT


def test_approval_refuses_an_overlapping_absence_and_creates_none(story):
    manager, data, decision = story
    decision = _answer(
        manager, services.decision_assess(actor=manager, decision=decision)[0].scenario.decision
    )
    absence_create(
        actor=None,
        user=data.executives[3],
        starts_at=data.day1 + timedelta(hours=2),
        ends_at=data.day1 + timedelta(hours=4),
        reason="Dentist",
    )
    proposed = decision.scenarios.get(name="As proposed")
    with pytest.raises(DomainError, match="overlaps an existing absence") as exc:
        services.decision_approve(actor=manager, decision=decision, scenario=proposed)
    assert data.executives[3].display_name in str(exc.value)
    assert Absence.objects.count() == 1
    decision.refresh_from_db()
    assert decision.state == DecisionState.ASSESSED


def test_moving_next_steps_cancels_and_promises_after_the_window(story):
    manager, data, decision = story
    proposed = decision.scenarios.get(name="As proposed")
    services.scenario_update(
        actor=manager,
        scenario=proposed,
        name=proposed.name,
        kind=proposed.kind,
        mitigations=["move_next_steps", "notify_in_advance"],
    )
    services.decision_assess(actor=manager, decision=decision)
    decision = _answer(manager, decision)
    services.decision_approve(actor=manager, decision=decision, scenario=proposed)
    services.decision_carry_out_plan(actor=manager, decision=decision)
    moved = PlanAction.objects.filter(decision=decision, kind="move_step")
    if not moved.exists():
        pytest.skip("the engine put no next step in this plan")
    assert Commitment.objects.filter(state=CommitmentState.CANCELLED).count() == moved.count()
    assert not Commitment.objects.filter(
        state=CommitmentState.OPEN, due_at__lt=decision.window_end, case__in=data.cases
    ).exists()


def test_review_after_the_window_keeps_ratios_for_calibration(story):
    pytest.importorskip("steward.decisions.actuals")
    manager, data, decision = story
    alternative = decision.scenarios.get(name="Two groups on two days")
    services.decision_assess(actor=manager, decision=decision)
    decision = _answer(manager, decision)
    services.decision_approve(actor=manager, decision=decision, scenario=alternative)
    services.decision_mark_in_effect(actor=manager, decision=decision)
    review = services.decision_review(
        actor=manager, decision=decision, at=decision.window_end + timedelta(hours=1)
    )
    decision.refresh_from_db()
    assert decision.state == DecisionState.REVIEWED
    assert "contacts" in review.results
    assert set(review.ratios()) == set(review.results)
    assert isinstance(services.current_calibration(), dict)
    assert timezone.now()


def test_an_empty_scenario_is_assessed_as_nobody_away(story):
    manager, _data, decision = story
    services.scenario_add(actor=manager, decision=decision, name="Nobody goes")
    services.decision_assess(actor=manager, decision=decision)
    empty = AssessmentSnapshot.objects.get(scenario__name="Nobody goes")
    assert not [g for g in empty.result["ownership_gaps"] if g["covered_by"] is None]


def test_a_review_calibrates_the_next_assessment(story):
    manager, data, decision = story
    services.decision_assess(actor=manager, decision=decision)
    decision = _answer(manager, decision)
    services.decision_approve(
        actor=manager, decision=decision, scenario=decision.scenarios.get(name="As proposed")
    )
    services.decision_mark_in_effect(actor=manager, decision=decision)
    review = services.decision_review(
        actor=manager, decision=decision, at=decision.window_end + timedelta(hours=2)
    )
    expected = services.current_calibration()
    assert set(expected) <= {"contacts", "dissatisfied", "costs", *review.results}
    later = demo.training_decision(manager=manager, data=demo.training_team(prefix="n_"))
    snapshots = services.decision_assess(actor=manager, decision=later)
    assert all(s.calibration == expected for s in snapshots)
