"""The sector queue and the case page for sector members: what they see, what they may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steward.accounts.models import Role
from steward.cases import task_services as ts
from steward.cases.models import Case, SectorTask, Status, TaskState
from steward.cases.services import case_open
from steward.sectors.models import Distance, TaskKind
from steward.sectors.services import sector_create
from steward.testing import make_user

pytestmark = pytest.mark.django_db


def hand(personas, case=None, **kw) -> SectorTask:
    return ts.task_create(
        actor=personas.adviser,
        case=case or personas.case,
        sector=kw.pop("sector", personas.billing),
        description=kw.pop("description", "Refund the duplicated fee."),
        **kw,
    )


def new_case(personas, subject="Charged twice") -> Case:
    return case_open(
        actor=personas.adviser,
        customer=personas.customer,
        subject=subject,
        description="Two fees.",
        owner=personas.adviser,
    )


def test_a_sector_member_sees_a_case_only_once_their_sector_has_a_task_on_it(client, personas):
    client.force_login(personas.sector_member)
    url = f"/en/cases/{personas.case.pk}/"
    assert client.get(url).status_code == 404
    task = hand(personas)
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Sector tasks" in body and f'data-testid="take-{task.pk}"' in body
    assert "Send reply" not in body  # reads the case, never answers the customer
    # ... and still after the task ended.
    ts.task_return(actor=personas.sector_member, task=task, reason="Not ours")
    assert client.get(url).status_code == 200


def test_a_member_of_another_sector_does_not_see_the_case(client, personas):
    warehouse = sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)
    keeper = make_user("wh1", role=Role.SECTOR_MEMBER, sector_id=warehouse.pk)
    task = hand(personas)
    client.force_login(keeper)
    assert client.get(f"/en/cases/{personas.case.pk}/").status_code == 404
    assert client.post(f"/en/sectors/tasks/{task.pk}/take/").status_code == 404
    assert task.pk not in [t.pk for t in client.get("/en/sectors/").context["rows"]]


def test_the_member_cannot_reply_even_by_posting(client, personas):
    hand(personas)
    client.force_login(personas.sector_member)
    response = client.post(f"/en/cases/{personas.case.pk}/reply/", {"body": "Hi", "expected_version": 99})
    assert response.status_code in (403, 409)
    assert not personas.case.messages.filter(direction="out").exists()


def test_the_queue_lists_queued_first_by_due_time_and_flags_urgency(client, personas):
    now = timezone.now()
    late = hand(personas, target_minutes=1, at=now - timedelta(days=10))
    soon = hand(personas, target_minutes=2400)
    taken = hand(personas, target_minutes=30)
    ts.task_take(actor=personas.sector_member, task=taken)
    done = hand(personas)
    ts.task_return(actor=personas.sector_member, task=done, reason="Wrong sector")
    client.force_login(personas.sector_member)
    rows = client.get("/en/sectors/").context["rows"]
    assert [r.task.pk for r in rows] == [late.pk, soon.pk, taken.pk]
    assert rows[0].urgency == "late"
    assert rows[1].urgency == ""
    everything = client.get("/en/sectors/?ended=on").context["rows"]
    assert done.pk in [r.task.pk for r in everything]


def test_the_queue_keeps_a_constant_number_of_queries(client, personas, django_assert_max_num_queries):
    for i in range(3):
        hand(personas, case=new_case(personas, f"Case {i}"))
    client.force_login(personas.sector_member)
    with django_assert_max_num_queries(12) as few:
        client.get("/en/sectors/")
    for i in range(25):
        task = hand(personas, case=new_case(personas, f"More {i}"))
        if i % 2:
            ts.task_take(actor=personas.sector_member, task=task)
            ts.task_log_work(actor=personas.sector_member, task=task, minutes=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/en/sectors/")
    assert len(response.context["rows"]) == 28


def test_managers_see_every_sector_and_filter_by_one(client, personas):
    warehouse = sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)
    b = hand(personas)
    w = hand(personas, sector=warehouse)
    client.force_login(personas.manager)
    assert {r.task.pk for r in client.get("/en/sectors/").context["rows"]} == {b.pk, w.pk}
    filtered = client.get(f"/en/sectors/?sector={warehouse.pk}").context["rows"]
    assert [r.task.pk for r in filtered] == [w.pk]
    assert all(not r.is_member and r.can_cancel for r in filtered)


def test_an_adviser_sees_an_empty_queue_and_no_cases_through_it(client, personas):
    hand(personas)
    client.force_login(personas.other_adviser)
    assert client.get("/en/sectors/").context["rows"] == []


def test_take_log_complete_through_the_forms_without_javascript(client, personas):
    task = hand(personas)
    client.force_login(personas.sector_member)
    back = f"/en/cases/{personas.case.pk}/"
    response = client.post(f"/en/sectors/tasks/{task.pk}/take/", {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    response = client.post(f"/en/sectors/tasks/{task.pk}/log/", {"minutes": "40", "note": "Checked"})
    assert response.status_code == 302 and response["Location"] == "/en/sectors/"
    client.post(f"/en/sectors/tasks/{task.pk}/complete/", {"note": "Refunded"})
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.work_logs.get().minutes == 40
    personas.case.refresh_from_db()
    assert personas.case.status == Status.OPEN


def test_an_unsafe_next_is_ignored(client, personas):
    task = hand(personas)
    client.force_login(personas.sector_member)
    response = client.post(f"/en/sectors/tasks/{task.pk}/take/", {"next": "https://evil.example/"})
    assert response["Location"] == "/en/sectors/"


def test_a_return_without_reason_is_a_400_that_keeps_the_form(client, personas):
    task = hand(personas)
    client.force_login(personas.sector_member)
    response = client.post(f"/en/sectors/tasks/{task.pk}/return/", {"reason": ""})
    assert response.status_code == 400
    row = next(r for r in response.context["rows"] if r.task.pk == task.pk)
    assert row.forms["return"].errors


def test_a_refused_step_says_why_and_keeps_the_input(client, personas):
    task = hand(personas)
    client.force_login(personas.sector_member)
    response = client.post(f"/en/sectors/tasks/{task.pk}/log/", {"minutes": "15", "note": "Started early"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Take the task first." in body and "Started early" in body


def test_a_step_not_allowed_is_a_403(client, personas):
    task = hand(personas)
    client.force_login(personas.executive)  # sees the case, is not in billing
    assert client.post(f"/en/sectors/tasks/{task.pk}/take/").status_code == 403
    assert client.post(f"/en/sectors/tasks/{task.pk}/nonsense/").status_code == 404


def test_the_owner_hands_a_step_over_from_the_case_page(client, personas):
    kind = TaskKind.objects.create(sector=personas.billing, name="Refund", target_minutes=120)
    client.force_login(personas.adviser)
    page = client.get(f"/en/cases/{personas.case.pk}/")
    assert "Hand a step to a sector" in page.content.decode()
    response = client.post(
        f"/en/cases/{personas.case.pk}/task/",
        {
            "sector": personas.billing.pk,
            "task_kind": kind.pk,
            "description": "Refund the fee",
            "target_minutes": "",
        },
    )
    assert response.status_code == 302
    task = SectorTask.objects.get()
    assert task.target_minutes == 120 and task.task_kind == kind
    page = client.get(f"/en/cases/{personas.case.pk}/")
    assert "Refund the fee" in page.content.decode()


def test_a_bad_handover_form_is_a_400_with_the_error(client, personas):
    warehouse = sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)
    kind = TaskKind.objects.create(sector=warehouse, name="Pick", target_minutes=60)
    client.force_login(personas.adviser)
    response = client.post(
        f"/en/cases/{personas.case.pk}/task/",
        {"sector": personas.billing.pk, "task_kind": kind.pk, "description": "Pick the unit"},
    )
    assert response.status_code == 400
    assert "belongs to another sector" in response.content.decode()
    assert not SectorTask.objects.exists()


def test_the_case_page_keeps_its_query_budget_with_tasks(client, personas, django_assert_max_num_queries):
    for _ in range(5):
        task = hand(personas)
        ts.task_take(actor=personas.sector_member, task=task)
    client.force_login(personas.adviser)
    with django_assert_max_num_queries(40):
        response = client.get(f"/en/cases/{personas.case.pk}/")
    assert len(response.context["task_rows"]) == 5


def test_a_sector_members_case_list_holds_only_their_sectors_task_cases(client, personas):
    warehouse = sector_create(actor=None, name="Warehouse", distance=Distance.FAR_BACK_OFFICE)
    ours = new_case(personas, "Ours")
    theirs = new_case(personas, "Theirs")
    hand(personas, case=ours)
    hand(personas, case=theirs, sector=warehouse)
    assert list(Case.objects.visible_to(personas.sector_member)) == [ours]
    client.force_login(personas.sector_member)
    listed = [c.pk for c in client.get("/en/cases/?scope=all").context["page_obj"].object_list]
    assert listed == [ours.pk]
    assert client.get(f"/en/cases/{theirs.pk}/").status_code == 404
