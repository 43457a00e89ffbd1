"""Personal data on request (issue 10): export as JSON and erasure that keeps anonymised figures."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from steward.audit.models import Action, AuditEntry
from steward.cases.models import Attachment, Case, CaseEvent, Message
from steward.cases.services import case_add_note, case_confirm_solution, case_open, case_propose_solution
from steward.core.errors import DomainError, NotPermitted
from steward.customers.privacy import personal_data_erase, personal_data_export
from steward.surveys.models import SurveyResponse
from steward.surveys.services import survey_answer, survey_send, surveys_muted

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(personas):
    """A customer with a note and attachment, a solved case and a survey answer with a comment."""
    p = personas
    case_add_note(
        actor=p.adviser,
        case=p.case,
        body="Somchai called from 081-234-5678.",
        attachments=[SimpleUploadedFile("id.txt", b"passport 123", content_type="text/plain")],
    )
    with surveys_muted():
        closed = case_open(
            actor=p.adviser,
            customer=p.customer,
            subject="Somchai's broken lid",
            description="Cracked.",
            owner=p.adviser,
        )
        case_propose_solution(actor=p.adviser, case=closed, solution="A new lid was sent to Somchai.")
        case_confirm_solution(case=closed)
    survey = survey_send(case=closed)
    assert survey is not None
    survey_answer(survey=survey, answers={"csat": 2, "comment": "Somchai here: slow."})
    return p


def test_export_holds_everything_about_the_customer_and_is_logged(history, django_assert_max_num_queries):
    p = history
    with django_assert_max_num_queries(10):
        data = personal_data_export(actor=p.manager, customer=p.customer)
    text = json.dumps(data, ensure_ascii=False)
    assert data["customer"]["email"] == "somchai@example.com" and len(data["cases"]) == 2
    assert "081-234-5678" in text and "id.txt" in text and "Somchai here: slow." in text
    assert data["survey_responses"][0]["answers"]["csat"] == 2
    assert AuditEntry.objects.filter(action=Action.DATA_EXPORTED, target_id=str(p.customer.pk)).count() == 1


def test_only_managers_export_or_erase(history):
    p = history
    for who in (p.adviser, p.executive, p.sector_member):
        with pytest.raises(NotPermitted):
            personal_data_export(actor=who, customer=p.customer)
        with pytest.raises(NotPermitted):
            personal_data_erase(actor=who, customer=p.customer)


def test_erasure_anonymises_and_keeps_the_figures(history):
    p = history
    cases_before = Case.objects.filter(customer=p.customer).count()
    events_before = CaseEvent.objects.filter(case__customer=p.customer).count()
    messages_before = Message.objects.filter(case__customer=p.customer).count()
    counts = personal_data_erase(actor=p.manager, customer=p.customer)
    p.customer.refresh_from_db()
    assert p.customer.erased_at is not None and p.customer.email == "" and "Somchai" not in p.customer.name
    assert Case.objects.filter(customer=p.customer).count() == cases_before == counts["cases"]
    assert CaseEvent.objects.filter(case__customer=p.customer).count() == events_before
    assert Message.objects.filter(case__customer=p.customer).count() == messages_before
    assert not Attachment.objects.filter(case__customer=p.customer).exists()
    response = SurveyResponse.objects.get(customer=p.customer)
    assert response.csat == 2 and response.comment == ""
    # Nothing that identifies the customer is left in any of their rows.
    leftovers = json.dumps(
        personal_data_export(actor=p.manager, customer=p.customer), ensure_ascii=False, default=str
    )
    for needle in ("Somchai", "somchai@example.com", "081-234-5678", "passport", "slow."):
        assert needle not in leftovers, needle
    assert all(
        "Somchai" not in json.dumps(e.data) for e in CaseEvent.objects.filter(case__customer=p.customer)
    )
    assert AuditEntry.objects.filter(action=Action.DATA_ERASED, actor=p.manager).count() == 1
    with pytest.raises(DomainError):
        personal_data_erase(actor=p.manager, customer=p.customer)


def test_pages_confirm_before_erasing_and_404_for_others(client, history):
    p = history
    base = f"/en/customers/{p.customer.pk}/personal-data/"
    for persona in ("adviser", "backup", "executive", "sector_member", "outsider"):
        client.force_login(getattr(p, persona))
        assert client.get(base).status_code == 404
        assert client.get(base + "export/").status_code == 404
        assert client.post(base + "erase/", {"confirm": str(p.customer.pk)}).status_code == 404
    client.force_login(p.manager)
    assert client.get(base).status_code == 200
    download = client.get(base + "export/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert json.loads(download.content)["customer"]["name"] == "Somchai Jaidee"
    wrong = client.post(base + "erase/", {"confirm": "999"})
    assert wrong.status_code == 400
    p.customer.refresh_from_db()
    assert p.customer.erased_at is None
    done = client.post(base + "erase/", {"confirm": str(p.customer.pk)})
    assert done.status_code == 302
    p.customer.refresh_from_db()
    assert p.customer.erased_at is not None
    assert 'data-testid="erased"' in client.get(base).content.decode()
    assert client.get("/en/customers/999999/personal-data/").status_code == 404
