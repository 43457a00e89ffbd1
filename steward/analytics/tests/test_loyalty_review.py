"""The loyalty review: its periods, how a change reads, who sees the page, what it shows, CSV, bad input,
and a query count that stays constant as cases grow."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from steward.analytics import loyalty, metrics
from steward.analytics.loyalty import review_periods, show_change
from steward.analytics.tests.service_log import MARCH, NOW, answer, build_service_log
from steward.cases.services import case_confirm_solution, case_open, case_propose_solution, case_reply
from steward.customers.services import customer_create


def days(period) -> tuple[date, date]:
    return (period.first, period.last)


# ------------------------------------------------------------------ periods


def test_a_whole_month_is_compared_with_whole_months():
    p = review_periods("month", date(2026, 3, 17), today=date(2026, 4, 3))
    assert days(p.current) == (date(2026, 3, 1), date(2026, 3, 31))
    assert p.previous is not None and days(p.previous) == (date(2026, 2, 1), date(2026, 2, 28))
    assert days(p.last_year) == (date(2025, 3, 1), date(2025, 3, 31))
    assert not p.partial


def test_a_short_month_is_compared_with_the_whole_previous_month():
    p = review_periods("month", date(2026, 2, 1), today=date(2026, 4, 3))
    assert p.previous is not None and days(p.previous) == (date(2026, 1, 1), date(2026, 1, 31))


def test_a_running_month_is_compared_with_the_same_days():
    p = review_periods("month", date(2026, 3, 1), today=date(2026, 3, 23))
    assert days(p.current) == (date(2026, 3, 1), date(2026, 3, 23))
    assert p.previous is not None and days(p.previous) == (date(2026, 2, 1), date(2026, 2, 23))
    assert days(p.last_year) == (date(2025, 3, 1), date(2025, 3, 23))
    assert p.partial


def test_a_running_month_longer_than_the_previous_one_stops_at_its_end():
    p = review_periods("month", date(2026, 3, 1), today=date(2026, 3, 30))
    assert p.previous is not None and days(p.previous) == (date(2026, 2, 1), date(2026, 2, 28))


def test_a_year_is_compared_with_the_year_before_only():
    p = review_periods("year", date(2025, 6, 1), today=date(2026, 4, 3))
    assert days(p.current) == (date(2025, 1, 1), date(2025, 12, 31))
    assert days(p.last_year) == (date(2024, 1, 1), date(2024, 12, 31))  # a leap year, all of it
    assert p.previous is None and not p.partial


def test_the_running_year_is_compared_with_the_same_span_last_year():
    p = review_periods("year", date(2026, 1, 1), today=date(2026, 4, 3))
    assert days(p.current) == (date(2026, 1, 1), date(2026, 4, 3))
    assert days(p.last_year) == (date(2025, 1, 1), date(2025, 4, 3))
    assert p.partial


def test_a_period_that_has_not_started_is_refused():
    with pytest.raises(ValueError):
        review_periods("month", date(2026, 5, 1), today=date(2026, 4, 3))


# ------------------------------------------------------------------ how a change reads


def test_a_significant_rise_of_a_good_figure_is_good_news():
    ch = metrics.proportion_change(metrics.proportion(56, 70), metrics.proportion(48, 80))
    s = show_change(ch, unit="percent", lower_is_better=False)
    assert s.text == "+20.0 pp" and s.detail == "95 % CI +5.2 to +33.4 pp"
    assert (s.verdict, s.verdict_text, s.tone) == ("increase", "significant increase", "good")


def test_a_significant_rise_of_a_failure_rate_is_bad_news():
    ch = metrics.proportion_change(metrics.proportion(56, 70), metrics.proportion(48, 80))
    assert show_change(ch, unit="percent", lower_is_better=True).tone == "bad"


def test_a_change_whose_interval_includes_zero_reads_no_significant_change():
    ch = metrics.nps_change(metrics.nps(5, 3, 2), metrics.nps(4, 3, 3))
    s = show_change(ch, unit="points", lower_is_better=False)
    assert s.text == "+20" and s.verdict_text == "no significant change" and s.tone == ""


def test_times_compare_medians_without_a_test():
    ch = metrics.compare(metrics.summarize([1800, 3600, 5400]), metrics.summarize([7200]))
    s = show_change(ch, unit="seconds", lower_is_better=True)
    assert s.text == "-1.0 h (-50 %)" and s.verdict == "not_tested" and s.tone == ""


def test_nothing_to_compare_says_why():
    ch = metrics.proportion_change(metrics.proportion(3, 4), metrics.proportion(0, 0, reason="no_responses"))
    s = show_change(ch, unit="percent", lower_is_better=False)
    assert s.text == "–" and s.verdict == "no_responses" and s.verdict_text == "No answers in this period"


# ------------------------------------------------------------------ the page


URLS = ["/en/analytics/loyalty/", "/en/analytics/loyalty/export/"]
MARCH_REVIEW = {"review": "month", "month": "2026-03"}


@pytest.fixture
def at_now(monkeypatch, settings):
    settings.TIME_ZONE = "UTC"
    monkeypatch.setattr("steward.core.timeutil.now", lambda: NOW)
    return NOW


@pytest.fixture
def log(personas, at_now):
    p = personas
    return build_service_log(owner=p.adviser, other=p.other_adviser, manager=p.manager)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["adviser", "sector_member", "outsider", "backup"])
@pytest.mark.parametrize("url", URLS)
def test_only_managers_and_executives_see_the_review(client, personas, persona, url):
    client.force_login(getattr(personas, persona))
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/en/analytics/loyalty/")
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db
def test_the_default_review_is_last_month(client, manager, at_now):
    client.force_login(manager)
    response = client.get("/en/analytics/loyalty/")
    assert response.status_code == 200
    periods = response.context["periods"]
    assert (periods.kind, days(periods.current)) == ("month", (date(2026, 3, 1), date(2026, 3, 31)))
    assert "No answers in this period" in response.content.decode()  # empty: no 0 %, no error


@pytest.mark.django_db
def test_the_march_review_shows_march_against_february_and_last_march(client, manager, log):
    client.force_login(manager)
    response = client.get("/en/analytics/loyalty/", MARCH_REVIEW)
    assert response.status_code == 200
    rows = {
        r.key: (r, cur, prev, ly) for _t, items in response.context["sections"] for r, cur, prev, ly in items
    }
    csat, cur, prev, ly = rows["csat"]
    assert (csat.current.value.k, csat.current.value.n) == (2, 4)  # A 5, C 4 of A B C D
    assert (csat.previous.value.k, csat.previous.value.n) == (1, 1)  # F's answer in February
    assert cur.text == "2 of 4" and prev.text == "1 of 1"  # too few for a percentage
    # 50 % against 100 %: −50 pp, but the interval includes 0.
    assert csat.vs_previous.text == "-50.0 pp"
    assert csat.vs_previous.verdict == "no_significant_change"
    assert csat.vs_last_year.verdict == "no_responses"  # nothing in March 2025
    resolution = rows["resolution"][0]
    assert resolution.vs_previous.verdict == "not_tested"
    # F closed in February: both months have business-hours medians, so their change is shown too.
    assert resolution.vs_previous_business is not None and resolution.vs_previous_business.text != "–"
    assert rows["requester_wait"][0].vs_last_year_business is not None
    assert rows["csat"][0].vs_previous_business is None
    html = response.content.decode()
    assert 'data-verdict="no_significant_change"' in html and "no significant change" in html
    assert "Same month last year" in html and "@media print" not in html  # print rules live in the CSS
    assert "data-print" in html and "js/print.js" in html


@pytest.mark.django_db
def test_the_annual_review_has_no_previous_month_column(client, manager, log):
    client.force_login(manager)
    response = client.get("/en/analytics/loyalty/", {"review": "year", "year": "2026"})
    assert response.status_code == 200
    periods = response.context["periods"]
    assert periods.previous is None and periods.partial
    assert days(periods.current) == (date(2026, 1, 1), date(2026, 4, 3))
    html = response.content.decode()
    assert "Previous year" in html and "Previous month" not in html
    nps = next(r for _t, items in response.context["sections"] for r, *_ in items if r.key == "nps")
    assert nps.current.value.n == 5  # A B C D and the relationship answer; F's had no NPS


@pytest.mark.django_db
def test_the_review_in_thai_renders(client, manager, log):
    client.force_login(manager)
    response = client.get("/th/analytics/loyalty/", MARCH_REVIEW)
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"review": "month", "month": "2026-13"},
        {"review": "month", "month": "March"},
        {"review": "month", "month": "2026-05"},  # not started on 3 April
        {"review": "year", "year": "2027"},
        {"review": "decade"},
        {"team": "999999"},
    ],
)
def test_bad_input_is_a_form_error_not_a_500(client, manager, at_now, query):
    client.force_login(manager)
    response = client.get("/en/analytics/loyalty/", query)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert client.get("/en/analytics/loyalty/export/", query).status_code == 400


@pytest.mark.django_db
def test_the_csv_has_every_figure_for_every_period(client, manager, log):
    client.force_login(manager)
    response = client.get("/en/analytics/loyalty/export/", MARCH_REVIEW)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "steward-loyalty-review-20260301-20260331.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 3 * len(loyalty.REVIEW_KEYS)
    csat = {r["period"]: r for r in rows if r["figure"] == "csat"}
    assert csat["current"]["shown"] == "2 of 4" and csat["current"]["first_day"] == "2026-03-01"
    assert csat["previous"]["verdict"] == "no_significant_change"
    assert csat["last_year"]["first_day"] == "2025-03-01"
    resolution = {r["period"]: r for r in rows if r["figure"] == "resolution"}
    assert resolution["previous"]["business_hours_change"] and not csat["previous"]["business_hours_change"]


def _closed_cases(personas, count: int, offset: int) -> None:
    for i in range(count):
        customer = customer_create(
            actor=None, name=f"Customer {offset + i}", email=f"c{offset + i}@example.com"
        )
        at = MARCH + timedelta(days=2 + i % 20, hours=9)
        case = case_open(
            actor=None,
            customer=customer,
            subject="Parcel",
            description="Late.",
            owner=personas.adviser,
            at=at,
        )
        case_reply(actor=personas.adviser, case=case, body="On it.", at=at + timedelta(hours=1))
        case_propose_solution(
            actor=personas.adviser, case=case, solution="Delivered.", at=at + timedelta(hours=2)
        )
        case_confirm_solution(case=case, at=at + timedelta(hours=3))
        answer(case, at + timedelta(hours=4), csat=4 + i % 2, nps=9)


@pytest.mark.django_db
def test_review_query_count_stays_constant_as_cases_grow(
    client, manager, personas, at_now, django_assert_max_num_queries
):
    client.force_login(manager)
    _closed_cases(personas, 3, 0)
    with django_assert_max_num_queries(40) as few:
        client.get("/en/analytics/loyalty/", MARCH_REVIEW)
    _closed_cases(personas, 27, 3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/en/analytics/loyalty/", MARCH_REVIEW)
    csat = next(r for _t, items in response.context["sections"] for r, *_ in items if r.key == "csat")
    assert csat.current.value.n == 30
