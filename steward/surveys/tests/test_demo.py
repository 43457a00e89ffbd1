from __future__ import annotations

import pytest
from django.core.management import call_command

from steward.cases.models import CaseEvent, Closure, EventKind, Status
from steward.notifications.models import OutboundMail
from steward.surveys.models import FollowUp, NpsCampaign, Survey, SurveyKind, SurveyResponse, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_seed_demo_sends_and_answers_surveys_through_the_services(monkeypatch, settings, capsys):
    settings.STEWARD_WEBHOOK_URLS = ["http://127.0.0.1:9/never-called"]
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    call_command("seed_demo", cases=60, customers=20, seed=5)
    closed = Survey.objects.filter(kind=SurveyKind.CASE)
    assert closed.exists()
    # One survey per closed case, and only for cases closed with or without confirmation.
    assert closed.values("case").distinct().count() == closed.count()
    assert not closed.exclude(case__status=Status.CLOSED).exists()
    assert closed.filter(asks_solved=True).count() == closed.filter(case__closure=Closure.UNCONFIRMED).count()
    assert SurveyResponse.objects.filter(kind=SurveyKind.CASE).exists()
    assert CaseEvent.objects.filter(kind=EventKind.SURVEY_SENT).count() == closed.count()
    assert NpsCampaign.objects.get().sent > 0
    assert SurveyResponse.objects.filter(kind=SurveyKind.RELATIONSHIP, nps__isnull=False).exists()
    # History writes no survey mail and calls no webhook.
    assert not OutboundMail.objects.filter(text_body__contains="/surveys/s/").exists()
    assert not WebhookDelivery.objects.exists()
    # Every low score got a follow-up; those older than five days are done, with a note.
    low = SurveyResponse.objects.filter(csat__lte=2).count()
    assert FollowUp.objects.filter(reason="low_csat").count() == low
    assert not FollowUp.objects.filter(state="done", resolution_note="").exists()
    assert "surveys:" in capsys.readouterr().out
