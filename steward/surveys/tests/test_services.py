from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from steward.cases.models import CaseEvent, Status
from steward.cases.services import case_reopen
from steward.core.errors import DomainError, NotPermitted
from steward.notifications.models import OutboundMail
from steward.surveys import events, selectors
from steward.surveys.models import FollowUp, FollowUpState, Survey, SurveyKind, SurveyResponse
from steward.surveys.services import (
    AlreadyAnswered,
    SurveyExpired,
    follow_up_complete,
    survey_answer,
    survey_send,
)

from .helpers import confirmed_case, send, unconfirmed_case

pytestmark = pytest.mark.django_db


def test_survey_send_is_idempotent_one_survey_and_one_mail_per_case(adviser, customer):
    case = confirmed_case(adviser, customer)
    first = survey_send(case=case)
    second = survey_send(case=case)
    assert first is not None and second is not None
    assert first.pk == second.pk
    assert Survey.objects.filter(case=case).count() == 1
    assert OutboundMail.objects.filter(case=case, text_body__contains="/surveys/s/").count() == 1
    assert CaseEvent.objects.filter(case=case, kind=events.SURVEY_SENT).count() == 1


def test_database_refuses_a_second_case_survey_for_the_same_case(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey = survey_send(case=case)
    assert survey is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(
            kind=SurveyKind.CASE,
            case=case,
            customer=customer,
            language="en",
            questionnaire_version=1,
            token_hash="x" * 64,
            sent_at=timezone.now(),
            expires_at=timezone.now(),
        )


def test_survey_is_in_the_customers_language_with_text_and_html(adviser, customer):
    case = confirmed_case(adviser, customer)  # the persona customer writes Thai
    survey, token = send(case)
    assert survey.language == "th"
    outbound = OutboundMail.objects.get(case=case, text_body__contains="/surveys/s/")
    assert outbound.language == "th"
    assert f"/th/surveys/s/{token}/" in outbound.text_body
    assert f"/th/surveys/s/{token}/" in outbound.html_body
    assert "<html" in outbound.html_body
    # Only the hash of the token is stored.
    assert token not in survey.token_hash
    assert not Survey.objects.filter(token_hash=token).exists()


def test_confirming_a_solution_sends_the_survey_after_commit(
    adviser, customer, django_capture_on_commit_callbacks
):
    from steward.cases.services import case_confirm_solution, case_open, case_propose_solution

    case = case_open(
        actor=adviser, customer=customer, subject="Lost parcel", description="Where?", owner=adviser
    )
    case_propose_solution(actor=adviser, case=case, solution="Parcel found and redelivered today.")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case_confirm_solution(case=case)
    assert not Survey.objects.filter(case=case).exists()  # nothing happens before the commit
    for callback in callbacks:
        callback()
    survey = Survey.objects.get(case=case)
    assert survey.kind == SurveyKind.CASE and not survey.asks_solved
    # The task running twice (a redelivered message) still sends one survey.
    from steward.surveys.tasks import send_case_survey

    assert send_case_survey(case.pk) == survey.pk
    assert Survey.objects.filter(case=case).count() == 1


def test_closing_unconfirmed_sends_a_survey_that_asks_whether_solved(
    adviser, manager, customer, django_capture_on_commit_callbacks
):
    from steward.cases.services import case_close_unconfirmed, case_open

    case = case_open(
        actor=adviser, customer=customer, subject="Bill is wrong", description="Too high.", owner=adviser
    )
    with django_capture_on_commit_callbacks(execute=True):
        case_close_unconfirmed(actor=manager, case=case, reason="Customer never answered our proposal.")
    survey = Survey.objects.get(case=case)
    assert survey.asks_solved


def test_other_case_events_send_no_survey(adviser, customer, django_capture_on_commit_callbacks):
    from steward.cases.services import case_add_note, case_open

    with django_capture_on_commit_callbacks(execute=True):
        case = case_open(
            actor=adviser, customer=customer, subject="Q", description="A question.", owner=adviser
        )
        case_add_note(actor=adviser, case=case, body="Called the warehouse.")
    assert not Survey.objects.exists()


def test_case_reopened_before_the_task_ran_gets_no_survey_yet(adviser, customer):
    case = confirmed_case(adviser, customer)
    case_reopen(actor=adviser, case=case, reason="The customer wrote again.")
    assert survey_send(case=case) is None
    assert not Survey.objects.exists()


def test_only_managers_send_by_hand(adviser, manager, customer):
    case = confirmed_case(adviser, customer)
    with pytest.raises(NotPermitted):
        survey_send(case=case, actor=adviser)
    assert survey_send(case=case, actor=manager) is not None


def test_answer_is_stored_with_the_version_and_recorded_on_the_case(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    response = survey_answer(
        survey=survey,
        answers={
            "csat": 5,
            "ces": 6,
            "explained_more_than_once": False,
            "knew_owner_and_next_step": True,
            "solved_first_contact": True,
            "comment": "  Quick and kind.  ",
        },
    )
    assert response.case_id == case.pk and response.customer_id == customer.pk
    assert response.questionnaire_version == survey.questionnaire_version == 1
    assert (response.csat, response.ces, response.solved) == (5, 6, None)
    assert response.comment == "Quick and kind."
    survey.refresh_from_db()
    assert survey.responded_at == response.responded_at
    event = CaseEvent.objects.get(case=case, kind=events.SURVEY_ANSWERED)
    assert event.data["csat"] == 5 and "comment" not in event.data
    assert not FollowUp.objects.exists()


def test_first_answer_wins(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 4})
    with pytest.raises(AlreadyAnswered):
        survey_answer(survey=survey, answers={"csat": 1})
    assert SurveyResponse.objects.get().csat == 4


def test_expired_survey_refuses_answers(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case, at=timezone.now() - timedelta(days=60))
    with pytest.raises(SurveyExpired):
        survey_answer(survey=survey, answers={"csat": 4})


@pytest.mark.parametrize(
    "answers, field",
    [
        ({}, "csat"),
        ({"csat": 6}, "csat"),
        ({"csat": 0}, "csat"),
        ({"csat": 3, "ces": 8}, "ces"),
        ({"csat": 3, "solved_first_contact": "y"}, "solved_first_contact"),
    ],
)
def test_bad_answers_are_refused_with_the_field(adviser, customer, answers, field):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    with pytest.raises(DomainError) as err:
        survey_answer(survey=survey, answers=answers)
    assert err.value.field == field
    assert not SurveyResponse.objects.exists()


def test_unasked_questions_are_ignored(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)  # confirmed: "is it solved?" is not asked, nor NPS
    response = survey_answer(survey=survey, answers={"csat": 4, "solved": False, "nps": 3})
    assert response.solved is None and response.nps is None
    assert not FollowUp.objects.exists()


def test_low_csat_opens_a_follow_up_for_the_team_manager(adviser, customer, personas):
    from steward.testing import make_user

    team_manager = make_user("teamlead", role="manager", team=personas.team, email="lead@example.com")
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    response = survey_answer(survey=survey, answers={"csat": 2, "comment": "Took a week."})
    follow_up = FollowUp.objects.get(response=response)
    assert follow_up.assignee == team_manager
    assert follow_up.reason == "low_csat" and follow_up.state == FollowUpState.OPEN
    assert follow_up.due_at > response.responded_at
    assert CaseEvent.objects.filter(case=case, kind=events.SURVEY_FOLLOW_UP).exists()
    # The manager hears about it by mail.
    assert OutboundMail.objects.filter(user=team_manager, recipient_kind="user").exists()


def test_without_a_team_manager_any_manager_gets_the_follow_up(adviser, manager, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 1})
    assert FollowUp.objects.get().assignee == manager


def test_not_solved_after_an_unconfirmed_closure_opens_a_follow_up(adviser, manager, customer):
    case = unconfirmed_case(adviser, manager, customer)
    survey, _token = send(case)
    assert survey.asks_solved
    survey_answer(survey=survey, answers={"csat": 4, "solved": False})
    assert FollowUp.objects.get().reason == "not_solved"


def test_good_scores_open_no_follow_up(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 3})
    assert not FollowUp.objects.exists()


def test_follow_up_is_done_by_a_manager_with_a_note(adviser, manager, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 1})
    follow_up = FollowUp.objects.get()
    with pytest.raises(NotPermitted):
        follow_up_complete(actor=adviser, follow_up=follow_up, note="Called, refunded the fee.")
    with pytest.raises(DomainError):
        follow_up_complete(actor=manager, follow_up=follow_up, note="ok")
    done = follow_up_complete(actor=manager, follow_up=follow_up, note="Called, refunded the fee.")
    assert done.state == FollowUpState.DONE and done.done_by == manager
    assert CaseEvent.objects.filter(case=case, kind=events.SURVEY_FOLLOW_UP_DONE).exists()
    with pytest.raises(DomainError):
        follow_up_complete(actor=manager, follow_up=follow_up, note="Called again, all good.")


def test_responses_in_selects_the_half_open_period(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    at = timezone.now()
    survey_answer(survey=survey, answers={"csat": 5}, at=at)
    assert selectors.responses_in(at, at + timedelta(seconds=1)).count() == 1
    assert selectors.responses_in(at - timedelta(days=1), at).count() == 0


def test_the_case_stays_closed_after_survey_events(adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 1})
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_sweep_sends_the_surveys_whose_task_never_ran(adviser, manager, customer):
    from steward.surveys.tasks import sweep_case_surveys

    confirmed = confirmed_case(adviser, customer)
    unconfirmed = unconfirmed_case(adviser, manager, customer)
    assert sweep_case_surveys() == 2
    assert Survey.objects.filter(case__in=[confirmed, unconfirmed]).count() == 2
    assert sweep_case_surveys() == 0


def test_staff_case_page_shows_the_survey_events(client, adviser, customer):
    case = confirmed_case(adviser, customer)
    survey, _token = send(case)
    survey_answer(survey=survey, answers={"csat": 2, "ces": 3})
    client.force_login(adviser)
    html = client.get(f"/en/cases/{case.pk}/").content.decode()
    assert "Survey sent" in html and "Survey answered" in html and "Low score: follow-up opened" in html
    assert "CSAT 2" in html
