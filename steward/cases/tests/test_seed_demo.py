"""The demo seed goes through the services, so its data keeps every invariant real use keeps."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min

from steward.accounts.models import Absence, Role, User
from steward.cases.models import Case, CaseEvent, Closure, EventKind, Handoff, Status
from steward.cases.summaries import summary_problem
from steward.customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(monkeypatch, capsys) -> str:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", cases=40, customers=20, seed=3)
    return capsys.readouterr().out


def test_seed_creates_the_people_with_roles_backups_and_the_demo_password(seeded):
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    for username in ("manager", "executive", "admin", "billing1", "warehouse1", "logistics1"):
        assert User.objects.get(username=username).check_password("demo-pass-for-tests")
    advisers = {u.username: u for u in User.objects.filter(role=Role.ADVISER).select_related("backup")}
    assert len(advisers) == 12
    for n in range(1, 13):
        backup = advisers[f"adviser{n}"].backup
        assert backup is not None and backup.username == f"adviser{n % 12 + 1}"


def test_seed_records_a_current_absence_and_the_course_day_of_the_account_executives(seeded):
    from django.utils import timezone

    now = timezone.now()
    assert Absence.objects.filter(starts_at__lte=now, ends_at__gt=now).count() == 1
    course = Absence.objects.filter(reason__icontains="course")
    assert course.count() == 6 and len({a.starts_at for a in course}) == 1
    assert all(a.starts_at > now and a.user.team and a.user.team.name == "Account executives" for a in course)
    # Recorded by approving the decision in the register, with its scenarios assessed (issue 8).
    from steward.decisions.models import AssessmentSnapshot, Decision

    decision = Decision.objects.get()
    assert decision.state == "approved" and decision.absences.count() == 6
    assert AssessmentSnapshot.objects.filter(scenario__decision=decision).count() == 3


def test_seed_builds_the_cases_asked_for_with_customers_in_four_languages(seeded):
    assert Case.objects.count() == 40
    assert Customer.objects.count() == 20
    assert set(Customer.objects.values_list("language", flat=True)) == {"en", "th", "ru", "es"}
    assert "(10 %)" in seeded and "(100 %)" in seeded  # progress every 10 %


def test_every_seeded_case_has_exactly_one_owner_who_can_own_cases(seeded):
    assert not Case.objects.filter(owner__isnull=True).exists()
    roles = set(Case.objects.values_list("owner__role", flat=True))
    assert roles <= {Role.ADVISER, Role.MANAGER}


def test_closed_cases_have_a_closure_and_a_closing_time_and_open_ones_none(seeded):
    closed = Case.objects.filter(status=Status.CLOSED)
    assert closed.exists()
    assert not closed.filter(closed_at__isnull=True).exists()
    assert set(closed.values_list("closure", flat=True)) <= {Closure.CONFIRMED, Closure.UNCONFIRMED}
    assert not closed.filter(closure=Closure.UNCONFIRMED, closure_note="").exists()
    still_open = Case.objects.exclude(status=Status.CLOSED)
    assert (
        not still_open.filter(closed_at__isnull=False).exists()
        and not still_open.exclude(closure="").exists()
    )


def test_every_seeded_handoff_carries_a_real_summary(seeded):
    handoffs = list(Handoff.objects.all())
    assert handoffs
    for handoff in handoffs:
        assert summary_problem(handoff.customer_need) is None
        assert summary_problem(handoff.done_so_far) is None


def test_each_case_event_log_runs_one_to_n_without_gaps_in_time_order(seeded):
    rows = Case.objects.annotate(n=Count("events"), low=Min("events__version"), top=Max("events__version"))
    for row in rows.values("n", "low", "top", "version"):
        assert row["low"] == 1 and row["n"] == row["top"] == row["version"]
    for case_id in Case.objects.values_list("pk", flat=True):
        times = list(
            CaseEvent.objects.filter(case_id=case_id).order_by("version").values_list("at", flat=True)
        )
        assert times == sorted(times)


def test_seeded_timestamps_follow_the_case_life(seeded):
    for case in Case.objects.all():
        replied = case.events.filter(kind__in=[EventKind.MESSAGE_OUT, EventKind.SOLUTION_PROPOSED]).exists()
        assert (case.first_response_at is not None) == replied
        if case.first_response_at:
            assert case.created_at <= case.first_response_at
        if case.solution_proposed_at:
            assert case.first_response_at and case.first_response_at <= case.solution_proposed_at
        if case.closed_at:
            assert case.solution_proposed_at is None or case.solution_proposed_at <= case.closed_at


def test_seeded_follow_ups_point_to_an_earlier_case_of_the_same_customer(seeded):
    for case in Case.objects.exclude(follow_up_of=None).select_related("follow_up_of"):
        origin = case.follow_up_of
        assert origin is not None and origin.customer_id == case.customer_id
        assert origin.created_at < case.created_at and case.is_repeat_contact


def test_seed_runs_only_once(seeded, capsys):
    call_command("seed_demo", cases=5, customers=4)
    assert "already present" in capsys.readouterr().out
    assert Case.objects.count() == 40


def test_seed_hands_steps_to_sectors_through_the_task_services(seeded):
    from steward.cases.models import SectorTask, TaskState
    from steward.sectors.models import TaskKind

    assert TaskKind.objects.filter(sector__name__in=["Billing", "Warehouse", "Logistics"]).count() == 7
    tasks = list(SectorTask.objects.select_related("sector", "assignee"))
    assert tasks
    for task in tasks:
        events = CaseEvent.objects.filter(case_id=task.case_id, data__task=task.pk)
        assert set(events.values_list("sector_id", flat=True)) == {task.sector_id}
        assert events.filter(kind=EventKind.TASK_CREATED).count() == 1
        if task.state != TaskState.QUEUED:
            assert task.assignee is not None and task.assignee.sector_id == task.sector_id
    open_cases = {t.case_id for t in tasks if t.is_open}
    # A case with a task still open waits on the sector; the others moved on.
    assert set(Case.objects.filter(pk__in=open_cases).values_list("status", flat=True)) <= {
        Status.WAITING_SECTOR
    }


def test_seed_has_late_delivery_complaints_through_warehouse_logistics_and_billing(monkeypatch, capsys):
    from steward.cases.models import SectorTask

    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", cases=150, customers=30, seed=5)
    chains: dict[int, list[str]] = {}
    for task in SectorTask.objects.filter(case__kind="complaint", case__category__name="Delivery").order_by(
        "created_at", "id"
    ):
        chains.setdefault(task.case_id, []).append(task.sector.name)
    full = [c for c in chains.values() if list(dict.fromkeys(c)) == ["Warehouse", "Logistics", "Billing"]]
    assert full, chains


def test_seed_opens_a_blameless_review_and_the_analysis_pages_show_real_figures(seeded, client):
    from django.utils import timezone

    from steward.reviews.models import ActionStatus, Review, RootCause
    from steward.reviews.selectors import action_follow_up

    assert RootCause.objects.filter(parent__isnull=True).count() == 5
    review = Review.objects.get()
    assert review.category and review.category.name == "Delivery" and review.kind == "complaint"
    (finding,) = review.findings.all()
    assert (
        finding.root_cause.code == "capacity-peak" and finding.sector and finding.sector.name == "Warehouse"
    )
    assert sorted(review.actions.values_list("status", flat=True)) == sorted(
        [ActionStatus.DONE, ActionStatus.OPEN]
    )
    (done,) = [r for r in action_follow_up(now=timezone.now()) if r.state == "done"]
    assert done.before and done.after and done.before.tasks and done.after.tasks
    assert done.before.on_time.value is not None and done.after.on_time.value is not None

    client.force_login(User.objects.get(username="manager"))
    for url in ("/en/analytics/sectors/", "/en/analytics/process-map/", f"/en/reviews/{review.pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'class="bottleneck"' in response.content, url
