"""A customer answers the case survey on a phone, with JavaScript off, in Spanish."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import Browser, expect

from steward.cases.services import case_confirm_solution, case_open, case_propose_solution
from steward.customers.services import customer_create
from steward.surveys.models import FollowUp, SurveyResponse
from steward.surveys.questionnaire import wording_update

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_customer_answers_the_survey_on_a_phone_without_javascript(
    live_server, browser: Browser, personas, settings, tmp_path
):
    settings.STEWARD_BASE_URL = live_server.url
    cache.clear()  # throttle counters
    # A manager's own Spanish wording, so the test does not depend on compiled catalogues.
    wording_update(
        actor=personas.manager,
        language="es",
        texts={
            "csat": "¿Qué tan satisfecho quedó con nuestra atención?",
            "ces": "Fue fácil resolver mi problema.",
        },
    )
    customer = customer_create(actor=None, name="Lucía Pérez", email="lucia@example.com", language="es")
    case = case_open(
        actor=personas.adviser,
        customer=customer,
        subject="El router se reinicia",
        description="Se reinicia cada hora.",
        owner=personas.adviser,
    )
    case_propose_solution(actor=personas.adviser, case=case, solution="Le enviamos un router nuevo.")
    case_confirm_solution(case=case)  # after the commit the survey goes out (eager Celery)

    to_lucia = [m for m in mail.outbox if m.to == ["lucia@example.com"] and "/surveys/s/" in str(m.body)]
    assert len(to_lucia) == 1
    link = re.search(r"https?://\S+/es/surveys/s/[\w-]+/", str(to_lucia[0].body))
    assert link is not None, to_lucia[0].body

    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="es-ES", is_mobile=True)
    page = context.new_page()
    try:
        page.goto(link.group(0))
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.locator("fieldset[data-question=csat] legend")).to_contain_text(
            "¿Qué tan satisfecho quedó con nuestra atención?"
        )
        # Big tap targets that fit the phone's width.
        form_box = page.get_by_test_id("survey-form").bounding_box()
        assert form_box is not None and form_box["width"] <= PHONE["width"]
        five = page.locator("fieldset[data-question=csat] label.sv-opt").filter(has_text="5")
        box = five.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]
        page.screenshot(path=str(tmp_path / "survey-phone.png"), full_page=True)

        # Submitting without the required answer keeps what was chosen and says what is missing.
        page.locator("fieldset[data-question=ces] label.sv-opt").filter(has_text="6").click()
        page.locator(".sv-submit").click()
        expect(page.locator("fieldset[data-question=csat].sv-invalid")).to_be_visible()
        expect(page.locator("fieldset[data-question=ces] input[value='6']")).to_be_checked()

        five.click()  # tapping the label checks the radio: no script involved
        page.locator("fieldset[data-question=explained_more_than_once] label.sv-opt").nth(1).click()  # no
        page.locator("fieldset[data-question=knew_owner_and_next_step] label.sv-opt").nth(0).click()  # yes
        page.fill("textarea[name=comment]", "Muy rápido, gracias.")
        page.locator(".sv-submit").click()
        expect(page.get_by_test_id("survey-thanks")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/es/surveys/thanks/$"))

        response = SurveyResponse.objects.get(case=case)
        assert (response.csat, response.ces, response.explained_more_than_once) == (5, 6, False)
        assert response.knew_owner_and_next_step is True and response.solved_first_contact is None
        assert response.comment == "Muy rápido, gracias."
        assert not FollowUp.objects.exists()

        # The link works once: opening it again says so, in a page of its own.
        page.goto(link.group(0))
        expect(page.get_by_test_id("survey-state")).to_be_visible()
        assert SurveyResponse.objects.count() == 1
    finally:
        context.close()
