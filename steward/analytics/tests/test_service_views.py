"""The manager dashboard: who sees it, what it shows, drill-down, CSV, bad input, query budgets."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from steward.accounts.services import absence_create, user_set_backup
from steward.analytics.tests.service_log import MARCH, NOW, answer, build_service_log, relationship_answer
from steward.cases.services import (
    case_confirm_solution,
    case_open,
    case_propose_solution,
    case_reply,
    commitment_set,
)
from steward.customers.services import customer_create

pytestmark = pytest.mark.django_db

MARCH_QUERY = {"period": "custom", "first": "2026-03-01", "last": "2026-03-31"}
URLS = [
    "/en/analytics/service/",
    "/en/analytics/service/cases/fcr/k/",
    "/en/analytics/service/export/figures/",
    "/en/analytics/service/export/overdue/",
]


@pytest.fixture
def at_now(monkeypatch, settings):
    settings.TIME_ZONE = "UTC"
    monkeypatch.setattr("steward.core.timeutil.now", lambda: NOW)
    return NOW


@pytest.fixture
def log(personas, at_now):
    p = personas
    return build_service_log(owner=p.adviser, other=p.other_adviser, manager=p.manager)


@pytest.mark.parametrize("persona", ["adviser", "sector_member", "outsider", "backup"])
@pytest.mark.parametrize("url", URLS)
def test_only_managers_and_executives_see_the_dashboard(client, personas, persona, url):
    client.force_login(getattr(personas, persona))
    assert client.get(url).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/en/analytics/service/")
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("persona", ["manager", "executive"])
def test_managers_and_executives_read_the_dashboard(client, personas, persona, at_now):
    client.force_login(getattr(personas, persona))
    assert client.get("/en/analytics/service/").status_code == 200
    assert client.get("/en/analytics/service/export/breakdown/").status_code == 200


def test_dashboard_shows_counts_not_a_misleading_percentage_for_few_cases(client, manager, log):
    client.force_login(manager)
    response = client.get("/en/analytics/service/", MARCH_QUERY)
    html = response.content.decode()
    assert response.status_code == 200
    # FCR: 1 of 4 counted cases (G still pending on 3 April): too few for a percentage.
    assert 'data-testid="value-fcr">1 of 4<' in html
    assert "too few cases for a percentage" in html
    # NPS: 5 answers are enough for a score, flagged as few (below 30), with its interval.
    assert 'data-testid="value-nps">+0<' in html and 'data-testid="flag-nps">few answers<' in html
    # CSAT: 4 answers, counts only.
    assert 'data-testid="value-csat">2 of 4<' in html
    assert 'data-testid="breakdown-table"' in html
    assert html.count('data-testid="chart"') == 4 and html.count("<canvas") == 4
    assert html.count('data-testid="chart-table"') == 4
    assert "vendor/chart.umd.min.js" in html
    # Against February (F: confirmed, resolved at first contact): no change is named on so few cases.
    assert "-20.0 pp, no significant change" in html  # confirmed 80 % against 100 %


def test_every_figure_links_to_its_cases_with_the_same_filters(client, manager, log):
    client.force_login(manager)
    html = client.get("/en/analytics/service/", MARCH_QUERY).content.decode()
    assert (
        'href="/en/analytics/service/cases/fcr/k/?period=custom&amp;first=2026-03-01&amp;last=2026-03-31"'
        in html
    )
    for key in ("csat", "nps", "confirmed", "promise_kept", "first_response", "owner_continuity"):
        assert f'data-testid="drill-{key}-n"' in html


def test_drill_down_lists_exactly_the_cases_counted(client, manager, log):
    client.force_login(manager)
    response = client.get("/en/analytics/service/cases/repeat_explanation/n/", MARCH_QUERY)
    assert response.status_code == 200
    listed = {c.pk for c in response.context["page_obj"].object_list}
    assert listed == {log.b.pk, log.c.pk}
    response = client.get("/en/analytics/service/cases/confirmed/n/", {**MARCH_QUERY, "channel": "email"})
    assert {c.pk for c in response.context["page_obj"].object_list} == {log.a.pk, log.c.pk, log.g.pk}


def test_unknown_figure_or_part_is_a_404(client, manager):
    client.force_login(manager)
    assert client.get("/en/analytics/service/cases/happiness/n/").status_code == 404
    assert client.get("/en/analytics/service/cases/fcr/everything/").status_code == 404
    assert client.get("/en/analytics/service/export/secrets/").status_code == 404
    assert client.get("/en/analytics/service/export/cases/", {"key": "fcr", "part": "x"}).status_code == 404


@pytest.mark.parametrize(
    "params,message",
    [
        ({"period": "custom"}, "Give the first day of the period."),
        ({"first": "2026-03-05", "last": "2026-03-01"}, "must end on or after"),
        ({"first": "2020-01-01", "last": "2026-03-01"}, "at most three years"),
        ({"team": "999999"}, "Select a valid choice"),
        ({"period": "decade"}, "Select a valid choice"),
        ({"first": "yesterday", "last": "2026-03-01"}, "Enter a valid date"),
    ],
)
def test_bad_filters_are_a_400_with_the_reason(client, manager, params, message):
    client.force_login(manager)
    response = client.get("/en/analytics/service/", params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert client.get("/en/analytics/service/cases/fcr/n/", params).status_code == 400
    assert client.get("/en/analytics/service/export/figures/", params).status_code == 400


def _csv(response) -> list[list[str]]:
    assert response.streaming and response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_carry_the_same_numbers(client, manager, log):
    client.force_login(manager)
    rows = _csv(client.get("/en/analytics/service/export/figures/", MARCH_QUERY))
    assert rows[0][:7] == ["figure", "label", "value", "shown", "interval_or_p90", "n", "flag"]
    by = {r[0]: r for r in rows[1:]}
    assert (by["fcr"][5], by["fcr"][6], by["fcr"][7]) == ("4", "too_few", "1")
    assert by["first_response"][5] == "4"  # B was opened by staff on the phone
    rows = _csv(client.get("/en/analytics/service/export/breakdown/", {**MARCH_QUERY, "by": "channel"}))
    confirmed = {r[1]: r for r in rows[1:] if r[3] == "confirmed"}
    # The relationship answer (no case) forms its own group, with no closed case behind it.
    assert confirmed[""][8] == "no_data"
    assert {k: confirmed[k][9] for k in confirmed if k} == {"email": "3", "phone": "0", "portal": "1"}
    rows = _csv(client.get("/en/analytics/service/export/trend/"))
    assert {r[0] for r in rows[1:]} >= {"2026-03-01", "2025-04-01"}
    rows = _csv(
        client.get("/en/analytics/service/export/cases/", {**MARCH_QUERY, "key": "reopen", "part": "k"})
    )
    assert [r[0] for r in rows[1:]] == [str(log.c.pk)]


def test_cases_at_risk_lists(client, manager, personas, at_now):
    p = personas
    customer = customer_create(actor=None, name="Kanya", email="kanya@example.com")
    t = at_now - timedelta(days=3)
    late = case_open(actor=p.adviser, customer=customer, subject="Late step", description="Help", at=t)
    commitment_set(actor=p.adviser, case=late, description="Call back", due_at=t + timedelta(days=1), at=t)
    user_set_backup(actor=None, user=p.other_adviser, backup=None)
    alone = case_open(
        actor=p.other_adviser, customer=customer, subject="Nobody here", description="Help", at=t
    )
    absence_create(
        actor=None,
        user=p.other_adviser,
        starts_at=at_now - timedelta(hours=2),
        ends_at=at_now + timedelta(days=1),
        reason="Course",
    )
    answered = case_open(actor=p.adviser, customer=customer, subject="Answered", description="Help", at=t)
    case_reply(actor=p.adviser, case=answered, body="Done soon", at=t, wait_for_customer=True)
    client.force_login(manager)
    response = client.get("/en/analytics/service/")
    risks = {name: {c.pk for c in page.object_list} for name, _t, page in response.context["risks"]}
    assert late.pk in risks["overdue"] and alone.pk not in risks["overdue"]
    assert risks["uncovered"] == {alone.pk}
    assert {late.pk, alone.pk} <= risks["waiting"] and answered.pk not in risks["waiting"]
    rows = _csv(client.get("/en/analytics/service/export/uncovered/"))
    assert [r[0] for r in rows[1:]] == [str(alone.pk)]


def test_case_csv_does_not_let_a_subject_run_as_a_formula(client, manager, personas, at_now):
    customer = customer_create(actor=None, name="=HYPERLINK(1)", email="x@example.com")
    case_open(
        actor=None, owner=personas.adviser, customer=customer, subject="=1+1", description="Hi", at=at_now
    )
    client.force_login(manager)
    rows = _csv(client.get("/en/analytics/service/export/waiting/"))
    row = next(r for r in rows[1:] if r[1].endswith("=1+1"))
    assert (row[1], row[2]) == ("'=1+1", "'=HYPERLINK(1)")


def _closed_cases(p, n: int, start: int) -> None:
    for i in range(start, start + n):
        customer = customer_create(actor=None, name=f"Customer {i}", email=f"c{i}@example.com")
        at = MARCH + timedelta(days=1 + i % 20, hours=9)
        case = case_open(actor=p.adviser, customer=customer, subject=f"Case {i}", description="Help", at=at)
        case_reply(actor=p.adviser, case=case, body="On it", at=at + timedelta(hours=1))
        commitment_set(actor=p.adviser, case=case, description="Call", due_at=at + timedelta(hours=5), at=at)
        case_propose_solution(actor=p.adviser, case=case, solution="Fixed", at=at + timedelta(hours=6))
        case_confirm_solution(case=case, at=at + timedelta(hours=7))
        answer(case, at + timedelta(hours=8), csat=4, ces=6, knew_owner_and_next_step=True)
        relationship_answer(customer, at + timedelta(hours=9), 9)


def test_dashboard_query_count_stays_constant_as_cases_grow(
    client, manager, personas, at_now, django_assert_max_num_queries
):
    client.force_login(manager)
    _closed_cases(personas, 3, 0)
    with django_assert_max_num_queries(50) as few:
        client.get("/en/analytics/service/", {**MARCH_QUERY, "by": "owner"})
    _closed_cases(personas, 27, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/en/analytics/service/", {**MARCH_QUERY, "by": "owner"})
    assert "30" in response.content.decode()
    with django_assert_max_num_queries(12) as drill:
        client.get("/en/analytics/service/cases/csat/k/", MARCH_QUERY)
    _closed_cases(personas, 5, 30)
    with django_assert_max_num_queries(len(drill.captured_queries)):
        client.get("/en/analytics/service/cases/csat/k/", MARCH_QUERY)


def test_a_risk_list_pages_on_its_own_for_htmx(
    client, manager, personas, at_now, django_assert_max_num_queries
):
    customer = customer_create(actor=None, name="Many", email="many@example.com")
    for i in range(27):  # with the personas' case: 28 cases waiting on us, two pages of 25
        case_open(
            actor=None,
            owner=personas.adviser,
            customer=customer,
            subject=f"Wait {i}",
            description="Hi",
            at=at_now,
        )
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        response = client.get(
            "/en/analytics/service/", {"risk": "waiting", "waiting_page": "2"}, HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="risk-waiting"' in html and html.count("data-case=") == 3
    assert "Page 2 of 2" in html and "risk=waiting" in html
    full = client.get("/en/analytics/service/", {"waiting_page": "2"}).content.decode()
    assert "<html" in full and 'data-testid="risk-overdue"' in full
