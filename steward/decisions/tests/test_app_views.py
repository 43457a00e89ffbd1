"""The decision register's pages: forms and their errors, bad input never a 500, query budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from steward.accounts.models import Role
from steward.decisions import demo, services
from steward.decisions.models import Decision, DecisionState
from steward.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return make_user("boss", role=Role.MANAGER)


@pytest.fixture
def assessed(manager):
    data = demo.training_team()
    decision = demo.training_decision(manager=manager, data=data)
    services.decision_assess(actor=manager, decision=decision)
    return data, decision


def _when(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_list_empty_state_and_pagination(client, manager):
    client.force_login(manager)
    response = client.get(reverse("decisions:list"))
    assert response.status_code == 200
    assert "No decisions yet" in response.content.decode()
    assert client.get(reverse("decisions:list") + "?page=abc").status_code == 200


def test_create_form_errors_and_success(client, manager):
    client.force_login(manager)
    start = timezone.now() + timedelta(days=3)
    url = reverse("decisions:new")
    bad = {
        "title": "Course",
        "kind": "staff_absence",
        "window_start": _when(start),
        "window_end": _when(start),
    }
    response = client.post(url, bad)
    assert response.status_code == 400
    assert "The window must end after it starts." in response.content.decode()
    response = client.post(url, {**bad, "window_start": "not a date", "saving": "12.345"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "decimal places" in body
    far = {**bad, "window_start": "9999-12-31T00:00", "window_end": "9999-12-31T23:00"}
    assert "five years" in client.post(url, far).content.decode()
    ok = {**bad, "window_end": _when(start + timedelta(days=1)), "saving": "1200.50"}
    response = client.post(url, ok)
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert decision.saving_minor == 120050 and decision.owner == manager
    assert response["Location"].endswith(f"/scenarios/{decision.scenarios.get().pk}/")


def test_away_form_refuses_overlap_and_bad_dates(client, manager):
    data = demo.training_team()
    decision = demo.training_decision(manager=manager, data=data)
    scenario = decision.scenarios.get(name="As proposed")
    client.force_login(manager)
    url = reverse("decisions:away_add", args=[decision.pk, scenario.pk])
    overlap = {
        "teams": [data.team.pk],
        "starts_at": _when(data.day1 + timedelta(hours=1)),
        "ends_at": _when(data.day1 + timedelta(hours=2)),
    }
    response = client.post(url, overlap)
    assert response.status_code == 400
    assert "Already away in this scenario" in response.content.decode()
    response = client.post(url, {**overlap, "ends_at": "yesterday"})
    assert response.status_code == 400
    response = client.post(url, {"starts_at": overlap["starts_at"], "ends_at": overlap["ends_at"]})
    assert response.status_code == 400
    assert "Choose at least one person" in response.content.decode()


def test_wrong_ids_are_404_never_500(client, manager, assessed):
    _data, decision = assessed
    other = demo.training_decision(manager=manager, data=demo.training_team(prefix="x_"))
    client.force_login(manager)
    scenario_of_other = other.scenarios.get(name="As proposed")
    assert client.get(reverse("decisions:detail", args=[999999])).status_code == 404
    assert (
        client.get(reverse("decisions:scenario", args=[decision.pk, scenario_of_other.pk])).status_code == 404
    )
    response = client.post(
        reverse("decisions:approve", args=[decision.pk]), {"scenario": scenario_of_other.pk}
    )
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.state == DecisionState.ASSESSED


def test_executive_reads_but_may_not_write(client, assessed):
    _data, decision = assessed
    executive = make_user("exec", role=Role.EXECUTIVE)
    client.force_login(executive)
    assert client.get(reverse("decisions:detail", args=[decision.pk])).status_code == 200
    assert client.post(reverse("decisions:assess", args=[decision.pk])).status_code == 403


def test_assessment_page_shows_the_figures_within_a_query_budget(
    client, manager, assessed, django_assert_max_num_queries
):
    data, decision = assessed
    client.force_login(manager)
    with django_assert_max_num_queries(20):  # 15 measured
        response = client.get(reverse("decisions:detail", args=[decision.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in ("Scenarios side by side", "Two groups on two days", "Expected cost", "The four questions"):
        assert text in body
    assert f"/cases/{data.cases[0].pk}/" in body
    mitigated = decision.scenarios.get(name="With backups and customers told")
    for query in (f"?scenario={mitigated.pk}", "?scenario=x", "?scenario=999999"):
        assert client.get(reverse("decisions:detail", args=[decision.pk]) + query).status_code == 200
    for lang in ("th", "ru", "es"):
        assert client.get(f"/{lang}/decisions/{decision.pk}/").status_code == 200


def test_list_query_budget_does_not_grow(client, manager, assessed, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("decisions:list")).status_code == 200


def test_full_flow_through_the_pages(client, manager, assessed):
    data, decision = assessed
    client.force_login(manager)
    alternative = decision.scenarios.get(name="Two groups on two days")
    response = client.post(reverse("decisions:approve", args=[decision.pk]), {"scenario": alternative.pk})
    assert response.status_code == 302
    decision.refresh_from_db()
    assert decision.state == DecisionState.ASSESSED, "the four questions are not answered yet"
    edit = {
        "title": decision.title,
        "kind": decision.kind,
        "window_start": _when(decision.window_start),
        "window_end": _when(decision.window_end),
        "team": data.team.pk,
        "saving": "1200.00",
        **demo.ANSWERS,
    }
    assert client.post(reverse("decisions:edit", args=[decision.pk]), edit).status_code == 302
    decision.refresh_from_db()
    assert decision.state == DecisionState.ASSESSED
    client.post(reverse("decisions:approve", args=[decision.pk]), {"scenario": alternative.pk})
    decision.refresh_from_db()
    assert decision.state == DecisionState.APPROVED
    response = client.post(reverse("decisions:carry_out", args=[decision.pk]), follow=True)
    assert "Action plan carried out" in response.content.decode()
    response = client.post(reverse("decisions:carry_out", args=[decision.pk]), follow=True)
    assert "0 done" in response.content.decode()


def test_scenario_page_query_budget(client, manager, assessed, django_assert_max_num_queries):
    _data, decision = assessed
    client.force_login(manager)
    scenario = decision.scenarios.get(name="As proposed")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("decisions:scenario", args=[decision.pk, scenario.pk]))
    assert response.status_code == 200
    assert "Who is away when" in response.content.decode()
