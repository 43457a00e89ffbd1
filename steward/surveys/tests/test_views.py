from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steward.portal.services import case_key
from steward.portal.tests.helpers import sign_in
from steward.surveys.models import FollowUp, FollowUpState, SurveyResponse
from steward.surveys.services import survey_answer
from steward.testing import make_user

from .helpers import confirmed_case, send, unconfirmed_case

pytestmark = pytest.mark.django_db


def url(token: str, lang: str = "en") -> str:
    return f"/{lang}/surveys/s/{token}/"


def test_token_page_shows_the_questions_in_the_language_of_the_link(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    _survey, token = send(case)
    page = client.get(url(token, "th"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csat"' in html and 'type="radio"' in html
    assert 'name="ces"' in html and 'name="solved"' not in html  # confirmed: no "is it solved?"
    assert 'lang="th"' in html
    assert "csrfmiddlewaretoken" in html


def test_answering_by_token_stores_the_answer_and_thanks(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, token = send(case)
    reply = client.post(
        url(token),
        {
            "csat": "4",
            "ces": "6",
            "explained_more_than_once": "no",
            "knew_owner_and_next_step": "yes",
            "comment": "Fine",
        },
    )
    assert reply.status_code == 302 and reply["Location"].endswith("/surveys/thanks/")
    response = SurveyResponse.objects.get(survey=survey)
    assert (
        response.csat,
        response.ces,
        response.explained_more_than_once,
        response.knew_owner_and_next_step,
    ) == (
        4,
        6,
        False,
        True,
    )
    assert response.solved_first_contact is None  # skipped


def test_a_used_link_says_already_answered_and_keeps_the_first_answer(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    _survey, token = send(case)
    client.post(url(token), {"csat": "5"})
    again = client.post(url(token), {"csat": "1"})
    assert again.status_code == 409
    assert "already answered" in again.content.decode()
    assert client.get(url(token)).status_code == 200
    assert SurveyResponse.objects.get().csat == 5


def test_missing_required_answer_shows_the_form_again(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    _survey, token = send(case)
    reply = client.post(url(token), {"ces": "5"})
    assert reply.status_code == 400
    assert "Please answer this question." in reply.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    "token, status", [("A" * 43, 404), ("short", 400), ("bad%20token%3F" + "x" * 20, 400), ("x" * 150, 400)]
)
def test_forged_or_malformed_links_get_a_clear_page(client, adviser, customer, token, status):
    case = confirmed_case(adviser, customer)
    send(case)
    for method in (client.get, client.post):
        reply = method(url(token))
        assert reply.status_code == status
        assert "not valid" in reply.content.decode()


def test_expired_link_is_gone_with_a_clear_page(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    _survey, token = send(case, at=timezone.now() - timedelta(days=45))
    reply = client.get(url(token))
    assert reply.status_code == 410
    assert "has closed" in reply.content.decode()
    assert client.post(url(token), {"csat": "5"}).status_code == 410
    assert not SurveyResponse.objects.exists()


def test_the_state_page_is_translated(client, adviser, customer):
    reply = client.get(url("Z" * 43, "es"))
    assert reply.status_code == 404
    assert 'lang="es"' in reply.content.decode()


def test_survey_pages_are_throttled_per_client_address(client, settings, adviser, customer):
    settings.STEWARD_SURVEY_LIMIT_PER_IP = 3
    case = confirmed_case(adviser, customer)
    _survey, token = send(case)
    codes = [client.get(url(token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another address is not affected.
    assert client.get(url(token), REMOTE_ADDR="10.1.2.3").status_code == 200


def test_unconfirmed_case_survey_asks_whether_solved(client, adviser, manager, customer):
    case = unconfirmed_case(adviser, manager, customer)
    _survey, token = send(case)
    assert 'name="solved"' in client.get(url(token)).content.decode()
    client.post(url(token), {"csat": "3", "solved": "no"})
    assert FollowUp.objects.get().reason == "not_solved"


# ---------------------------------------------------------------- portal


def test_portal_case_page_shows_the_invitation_while_open(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    sign_in(client, customer)
    page = client.get(f"/en/portal/cases/{case_key(case)}/")
    assert 'data-testid="survey-invitation"' in page.content.decode()
    assert f"/en/surveys/portal/{survey.pk}/" in page.content.decode()
    reply = client.post(f"/en/surveys/portal/{survey.pk}/", {"csat": "5"})
    assert reply.status_code == 302
    page = client.get(f"/en/portal/cases/{case_key(case)}/")
    assert 'data-testid="survey-invitation"' not in page.content.decode()


def test_portal_survey_of_another_customer_is_a_404(client, adviser, customer):
    from steward.customers.services import customer_create

    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    stranger = customer_create(actor=None, name="Ana", email="ana@example.com", language="es")
    sign_in(client, stranger)
    assert client.get(f"/en/surveys/portal/{survey.pk}/").status_code == 404
    assert client.post(f"/en/surveys/portal/{survey.pk}/", {"csat": "1"}).status_code == 404
    assert not SurveyResponse.objects.exists()


def test_portal_survey_needs_a_signed_in_customer(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    reply = client.get(f"/en/surveys/portal/{survey.pk}/")
    assert reply.status_code == 302 and "/portal/sign-in/" in reply["Location"]


# ---------------------------------------------------------------- managers' pages


def _low_scores(adviser, customer, n: int) -> None:
    from steward.customers.services import customer_create

    start = SurveyResponse.objects.count()
    for i in range(start, start + n):
        other = customer_create(actor=None, name=f"Customer {i}", email=f"c{i}@example.com", language="en")
        case = confirmed_case(adviser, other, subject=f"Problem {i}")
        survey, _token = send(case)
        survey_answer(survey=survey, answers={"csat": 1, "comment": "Bad"})


@pytest.mark.parametrize("who", ["adviser", "sector_member", "executive"])
def test_manager_pages_do_not_exist_for_others(client, personas, who):
    client.force_login(getattr(personas, who))
    for path in (
        "/en/surveys/follow-ups/",
        "/en/surveys/questions/",
        "/en/surveys/nps/",
        "/en/surveys/nps/new/",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/en/surveys/questions/", {"language": "en", "csat": "Hi"}).status_code == 404
    assert client.post("/en/surveys/nps/new/", {"confirm": "1"}).status_code == 404


def test_follow_up_list_has_a_constant_query_budget(
    client, manager, adviser, customer, django_assert_max_num_queries
):
    client.force_login(manager)
    _low_scores(adviser, customer, 2)
    with django_assert_max_num_queries(12) as few:
        assert client.get("/en/surveys/follow-ups/").status_code == 200
    _low_scores(adviser, customer, 6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/en/surveys/follow-ups/")
    assert page.content.decode().count("Mark done") == 8


def test_follow_up_list_is_empty_politely(client, manager):
    client.force_login(manager)
    assert "No open follow-ups" in client.get("/en/surveys/follow-ups/").content.decode()


def test_manager_marks_a_follow_up_done(client, manager, adviser, customer):
    _low_scores(adviser, customer, 1)
    follow_up = FollowUp.objects.get()
    client.force_login(manager)
    bad = client.post(f"/en/surveys/follow-ups/{follow_up.pk}/done/", {"note": "short"})
    assert bad.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.OPEN
    client.post(f"/en/surveys/follow-ups/{follow_up.pk}/done/", {"note": "Called; replaced the router."})
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.DONE
    assert "replaced the router" in client.get("/en/surveys/follow-ups/?state=done").content.decode()
    assert (
        client.post("/en/surveys/follow-ups/999999/done/", {"note": "Called; all good now."}).status_code
        == 404
    )


def test_adviser_cannot_mark_a_follow_up_done(client, adviser, customer, manager):
    _low_scores(adviser, customer, 1)
    follow_up = FollowUp.objects.get()
    client.force_login(adviser)
    assert (
        client.post(
            f"/en/surveys/follow-ups/{follow_up.pk}/done/", {"note": "Called; all good now."}
        ).status_code
        == 404
    )
    follow_up.refresh_from_db()
    assert follow_up.state == FollowUpState.OPEN


def test_team_manager_sees_only_their_follow_ups_with_mine(client, personas, adviser, customer):
    lead = make_user("lead", role="manager", team=personas.team)
    _low_scores(adviser, customer, 1)
    client.force_login(lead)
    assert client.get("/en/surveys/follow-ups/?mine=1").content.decode().count("Mark done") == 1
    client.force_login(personas.manager)
    assert client.get("/en/surveys/follow-ups/?mine=1").content.decode().count("Mark done") == 0
