"""REST API for sector tasks: create on a case, the queue, take, log, complete, return, cancel."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from steward.accounts.models import Role
from steward.cases import task_services as ts
from steward.cases.models import CaseEvent, EventKind, SectorTask, Status, TaskState
from steward.core.errors import DomainError
from steward.sectors.models import TaskKind
from steward.testing import make_user

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def hand(personas) -> SectorTask:
    return ts.task_create(
        actor=personas.adviser, case=personas.case, sector=personas.billing, description="Refund"
    )


def test_the_owner_creates_a_task_on_a_case(personas):
    kind = TaskKind.objects.create(sector=personas.billing, name="Refund", target_minutes=90)
    api = as_user(personas.adviser)
    url = f"/api/v1/cases/{personas.case.pk}/tasks/"
    response = api.post(
        url, {"sector": personas.billing.pk, "task_kind": kind.pk, "description": "Refund it"}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["target_minutes"] == 90 and body["state"] == "queued" and body["sector"]["name"] == "Billing"
    assert body["work_minutes"] == 0
    listed = api.get(url).json()
    assert [t["id"] for t in listed] == [body["id"]]
    personas.case.refresh_from_db()
    assert personas.case.status == Status.WAITING_SECTOR


def test_create_refusals(personas):
    url = f"/api/v1/cases/{personas.case.pk}/tasks/"
    assert as_user(personas.adviser).post(url, {"sector": personas.billing.pk}).status_code == 400
    bad_target = {"sector": personas.billing.pk, "description": "x", "target_minutes": 10**6}
    response = as_user(personas.adviser).post(url, bad_target)
    assert response.status_code == 400 and "target_minutes" in response.json()
    as_other = as_user(personas.other_adviser).post(url, {"sector": personas.billing.pk, "description": "x"})
    assert as_other.status_code == 404
    as_exec = as_user(personas.executive).post(url, {"sector": personas.billing.pk, "description": "x"})
    assert as_exec.status_code == 403
    assert as_user(personas.sector_member).get(url).status_code == 404  # no billing task on it yet


def test_the_member_works_a_task_through_the_api(personas):
    task = hand(personas)
    api = as_user(personas.sector_member)
    queue = api.get("/api/v1/tasks/").json()
    assert [t["id"] for t in queue["results"]] == [task.pk]
    assert api.post(f"/api/v1/tasks/{task.pk}/take/").json()["state"] == "in_progress"
    logged = api.post(f"/api/v1/tasks/{task.pk}/log/", {"minutes": 30, "note": "Checked"})
    assert logged.status_code == 201 and logged.json()["minutes"] == 30
    done = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"note": "Refunded"}).json()
    assert done["state"] == "done" and done["work_minutes"] == 30
    assert api.get(f"/api/v1/tasks/{task.pk}/").json()["completion_note"] == "Refunded"
    assert api.get(f"/api/v1/cases/{personas.case.pk}/").status_code == 200  # sees the case now
    assert api.get("/api/v1/tasks/").json()["results"] == []
    assert len(api.get("/api/v1/tasks/?ended=true").json()["results"]) == 1


def test_return_and_cancel_through_the_api(personas):
    task = hand(personas)
    member = as_user(personas.sector_member)
    assert member.post(f"/api/v1/tasks/{task.pk}/return/", {}).status_code == 400
    response = member.post(f"/api/v1/tasks/{task.pk}/return/", {"reason": "Need the invoice number"})
    assert response.status_code == 200 and response.json()["return_reason"] == "Need the invoice number"
    other = hand(personas)
    assert member.post(f"/api/v1/tasks/{other.pk}/cancel/").status_code == 403
    assert as_user(personas.adviser).post(f"/api/v1/tasks/{other.pk}/cancel/").json()["state"] == "cancelled"


def test_refusals_of_state_and_membership(personas):
    task = hand(personas)
    member = as_user(personas.sector_member)
    response = member.post(f"/api/v1/tasks/{task.pk}/log/", {"minutes": 5})
    assert response.status_code == 400 and "minutes" in response.json()
    assert member.post(f"/api/v1/tasks/{task.pk}/log/", {"minutes": 0}).status_code == 400
    assert as_user(personas.manager).post(f"/api/v1/tasks/{task.pk}/take/").status_code == 403
    assert as_user(personas.other_adviser).get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert member.get("/api/v1/tasks/nope/").status_code == 404
    assert APIClient().get("/api/v1/tasks/").status_code == 401


def test_managers_list_every_sector_or_one_queued_first_by_due_time(personas):
    task = hand(personas)
    sooner = ts.task_create(
        actor=personas.adviser,
        case=personas.case,
        sector=personas.billing,
        description="Quick",
        target_minutes=5,
    )
    taken = ts.task_create(
        actor=personas.adviser,
        case=personas.case,
        sector=personas.billing,
        description="Now",
        target_minutes=1,
    )
    ts.task_take(actor=personas.sector_member, task=taken)
    api = as_user(personas.manager)
    assert [t["id"] for t in api.get("/api/v1/tasks/").json()["results"]] == [sooner.pk, task.pk, taken.pk]
    assert api.get(f"/api/v1/tasks/?sector={personas.front_desk.pk}").json()["results"] == []
    assert api.get("/api/v1/tasks/?sector=abc").status_code == 400


def test_task_events_reach_the_case_event_api_with_their_sector(personas):
    task = hand(personas)
    events = as_user(personas.adviser).get(f"/api/v1/cases/{personas.case.pk}/events/").json()
    created = [e for e in events if e["kind"] == EventKind.TASK_CREATED]
    assert created[0]["sector"] == "Billing" and created[0]["data"]["task"] == task.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs row locks across connections (PostgreSQL)"
)
def test_two_members_taking_the_same_task_at_once_one_wins(personas):
    colleague = make_user("billing2", role=Role.SECTOR_MEMBER, sector_id=personas.billing.pk)
    task = hand(personas)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(actor):
        try:
            barrier.wait(timeout=10)
            ts.task_take(actor=actor, task=SectorTask.objects.get(pk=task.pk))
            outcomes.append("taken")
        except DomainError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(u,)) for u in (personas.sector_member, colleague)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["refused", "taken"]
    task.refresh_from_db()
    assert task.state == TaskState.IN_PROGRESS
    assert CaseEvent.objects.filter(kind=EventKind.TASK_TAKEN).count() == 1
