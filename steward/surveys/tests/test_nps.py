from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from steward.core.errors import DomainError, NotPermitted
from steward.customers.services import customer_create
from steward.notifications.models import OutboundMail
from steward.surveys import selectors
from steward.surveys.models import CampaignState, FollowUp, NpsCampaign, Survey, SurveyKind
from steward.surveys.services import (
    TokenState,
    nps_campaign_run,
    nps_campaign_start,
    survey_answer,
    token_check,
)

from .helpers import TOKEN_IN_URL, confirmed_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(db):
    """Six customers: four Spanish (one without an address, one at ACME), two Russian at ACME."""
    made = [
        customer_create(actor=None, name="Ana", email="ana@example.com", language="es"),
        customer_create(actor=None, name="Luis", email="luis@example.com", language="es"),
        customer_create(actor=None, name="Sin correo", email="", language="es"),
        customer_create(actor=None, name="Eva", email="eva@acme.example", language="es", organisation="ACME"),
        customer_create(
            actor=None, name="Olga", email="olga@acme.example", language="ru", organisation="ACME"
        ),
        customer_create(
            actor=None, name="Ivan", email="ivan@acme.example", language="ru", organisation="acme"
        ),
    ]
    return {c.name: c for c in made}


def test_segment_counts_show_who_would_get_it(crowd):
    now = timezone.now()
    counts = selectors.segment_counts({"language": "es"}, now=now)
    assert (counts.matched, counts.no_address, counts.quiet, counts.eligible) == (4, 1, 0, 3)
    assert selectors.segment_counts({"organisation": "Acme"}, now=now).matched == 3
    assert selectors.segment_counts({"organisation": "ACME", "language": "ru"}, now=now).eligible == 2


def test_segment_of_customers_with_a_recently_closed_case_of_a_team(crowd, adviser, personas):
    now = timezone.now()
    confirmed_case(adviser, crowd["Ana"])  # adviser is in personas.team
    assert selectors.segment_counts({"closed_within_days": 30}, now=now).matched == 1
    assert selectors.segment_counts({"team": personas.team.pk}, now=now).matched >= 1
    assert (
        selectors.segment_counts({"team": personas.other_team.pk, "closed_within_days": 30}, now=now).matched
        == 0
    )
    assert selectors.segment_counts({"closed_within_days": 30}, now=now + timedelta(days=31)).matched == 0


def test_campaign_sends_once_per_customer_and_counts(crowd, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        campaign = nps_campaign_start(actor=manager, segment={"language": "es"})
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DONE
    assert (campaign.matched, campaign.sent, campaign.skipped) == (4, 3, 1)
    assert Survey.objects.filter(kind=SurveyKind.RELATIONSHIP).count() == 3
    mails = OutboundMail.objects.filter(to__in=["ana@example.com", "luis@example.com", "eva@acme.example"])
    assert mails.count() == 3
    assert all(m.language == "es" and "/es/surveys/s/" in m.text_body for m in mails)


def test_quiet_period_stops_a_second_survey(crowd, manager, settings, django_capture_on_commit_callbacks):
    settings.STEWARD_NPS_QUIET_DAYS = 90
    with django_capture_on_commit_callbacks(execute=True):
        nps_campaign_start(actor=manager, segment={"organisation": "acme"})
    counts = selectors.segment_counts({"language": "es"}, now=timezone.now())
    assert (counts.quiet, counts.eligible) == (1, 2)  # Eva was asked already
    with django_capture_on_commit_callbacks(execute=True):
        second = nps_campaign_start(actor=manager, segment={"language": "es"})
    second.refresh_from_db()
    assert (second.sent, second.skipped) == (2, 2)
    assert Survey.objects.filter(customer=crowd["Eva"]).count() == 1
    # Nobody left to ask: the campaign is refused with a clear message.
    with pytest.raises(DomainError):
        nps_campaign_start(actor=manager, segment={"organisation": "acme"})


def test_running_a_campaign_twice_sends_nothing_twice(crowd, manager):
    campaign = nps_campaign_start(actor=manager, segment={"language": "ru"})  # no commit: not run yet
    nps_campaign_run(campaign_id=campaign.pk)
    NpsCampaign.objects.filter(pk=campaign.pk).update(state=CampaignState.SENDING)  # as if redelivered
    nps_campaign_run(campaign_id=campaign.pk)
    assert Survey.objects.filter(campaign=campaign).count() == 2


def test_only_managers_send_relationship_surveys(crowd, adviser, executive):
    for user in (adviser, executive):
        with pytest.raises(NotPermitted):
            nps_campaign_start(actor=user, segment={})


def test_detractor_answer_opens_a_follow_up_for_the_sender(
    crowd, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        nps_campaign_start(actor=manager, segment={"language": "ru"})
    mail = OutboundMail.objects.get(to="olga@acme.example")
    match = TOKEN_IN_URL.search(mail.text_body)
    assert match is not None
    check = token_check(match.group(1))
    assert check.survey is not None
    assert check.state == TokenState.VALID and check.survey.customer == crowd["Olga"]
    response = survey_answer(survey=check.survey, answers={"nps": 3, "csat": 1})
    assert response.nps == 3 and response.csat is None and response.case_id is None
    follow_up = FollowUp.objects.get()
    assert follow_up.reason == "detractor" and follow_up.assignee == manager and follow_up.case is None


def test_nps_pages_count_then_confirm(client, crowd, manager, django_capture_on_commit_callbacks):
    client.force_login(manager)
    preview = client.get("/en/surveys/nps/new/", {"language": "es"})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-testid="eligible"><strong>3</strong>' in html
    assert not Survey.objects.exists()  # counting sends nothing
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(
            "/en/surveys/nps/new/", {"language": "es", "organisation": "", "team": "", "confirm": "1"}
        )
    assert reply.status_code == 302
    campaign = NpsCampaign.objects.get()
    page = client.get(reply["Location"])
    assert 'data-testid="campaign-sent">3<' in page.content.decode()
    listing = client.get("/en/surveys/nps/")
    assert listing.status_code == 200 and f"/en/surveys/nps/{campaign.pk}/" in listing.content.decode()


def test_nps_page_refuses_bad_input_clearly(client, crowd, manager):
    client.force_login(manager)
    assert client.get("/en/surveys/nps/new/", {"closed_within_days": "-3"}).status_code == 400
    reply = client.post("/en/surveys/nps/new/", {"organisation": "Nobody Ltd", "confirm": "1"})
    assert reply.status_code == 400 and "No customer in this segment" in reply.content.decode()
    assert client.get("/en/surveys/nps/424242/").status_code == 404


def test_nps_list_has_a_constant_query_budget(client, crowd, manager, django_assert_max_num_queries):
    client.force_login(manager)
    nps_campaign_start(actor=manager, segment={"language": "es"})
    with django_assert_max_num_queries(10) as few:
        client.get("/en/surveys/nps/")
    for lang in ("ru", "es", "ru"):
        NpsCampaign.objects.create(created_by=manager, created_at=timezone.now(), segment={"language": lang})
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/en/surveys/nps/")
