"""The case page renders exactly what its templates rendered before the history and the forms were written
in Python (issue 9): every kind of case, viewer and language, through both.

reference_templates/ holds the templates as they were (the history loop, includes/form.html per form);
the page is rendered once normally and once with those templates found first, and the two must be
the same HTML but for the CSRF tokens (masked anew on every render).
"""

from __future__ import annotations

import copy
import difflib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone

from steward.accounts.services import absence_create
from steward.cases import task_services
from steward.cases.models import Case, Kind
from steward.cases.services import (
    case_add_note,
    case_close_unconfirmed,
    case_confirm_solution,
    case_flag_repeat_explanation,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_receive_message,
    case_reopen,
    case_reply,
    case_set_status,
    commitment_resolve,
    commitment_set,
)
from steward.core import timeutil
from steward.costs.services import compensation_decide, compensation_request
from steward.customers.privacy import personal_data_erase
from steward.customers.services import customer_create
from steward.notifications.models import MailState, OutboundMail, RecipientKind
from steward.surveys.services import survey_answer, survey_send, surveys_muted
from steward.testing import Personas

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "reference_templates"
TRAP = "<b>bold</b> & \"quotes\" 'single' {{ 7|add:3 }} {% now 'Y' %}"
CSRF = re.compile(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"')
LANGUAGES = ["en", "th", "ru", "es"]


def _file(name: str, size: int = 1500) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"x" * size, content_type="application/pdf")


def _busy_open_case(p: Personas) -> Case:
    """Open, with every kind of history entry an open case can have and the forms it shows."""
    case = case_open(
        actor=p.adviser,
        customer=p.customer,
        subject=f"Busy {TRAP}",
        description=f"First line {TRAP}\nsecond line\n\nnew paragraph",
        owner=p.adviser,
        kind=Kind.COMPLAINT,
        attachments=[_file(f"photo {TRAP}.pdf", 123456)],
    )
    case_reply(actor=p.adviser, case=case, body=f"We look into it {TRAP}", attachments=[_file("a.pdf", 10)])
    case_receive_message(
        case=case,
        body=f"Still broken {TRAP}\n\nOn Mon, 2 Mar 2026, Steward wrote:\n> We look into it\n> more",
    )
    case_add_note(
        actor=p.adviser, case=case, body=f"Internal {TRAP}", attachments=[_file("n.pdf", 2_500_000)]
    )
    case_flag_repeat_explanation(actor=p.adviser, case=case, comment=f"Told twice {TRAP}")
    kept = commitment_set(
        actor=p.adviser,
        case=case,
        description=f"Call back {TRAP}",
        due_at=timezone.now() + timedelta(hours=2),
    )
    commitment_resolve(actor=p.adviser, commitment=kept, state="kept", note=f"Called {TRAP}")
    commitment_set(
        actor=p.adviser,
        case=case,
        description="Overdue step",
        due_at=timezone.now() - timedelta(hours=1),
        at=timezone.now() - timedelta(hours=2),
    )
    commitment_set(
        actor=p.adviser, case=case, description="Later step", due_at=timezone.now() + timedelta(days=2)
    )
    case.refresh_from_db()
    case_set_status(actor=p.adviser, case=case, status="waiting_customer", expected_version=case.version)
    queued = task_services.task_create(
        actor=p.adviser, case=case, sector=p.billing, description=f"Check {TRAP}"
    )
    working = task_services.task_create(actor=p.adviser, case=case, sector=p.billing, description="Refund")
    task_services.task_take(actor=p.sector_member, task=working)
    task_services.task_log_work(actor=p.sector_member, task=working, minutes=25)
    returned = task_services.task_create(
        actor=p.adviser, case=case, sector=p.billing, description="Wrong one"
    )
    task_services.task_return(actor=p.sector_member, task=returned, reason=f"Not ours {TRAP}")
    done = task_services.task_create(actor=p.adviser, case=case, sector=p.billing, description="Done one")
    task_services.task_take(actor=p.sector_member, task=done)
    task_services.task_complete(actor=p.sector_member, task=done, note=f"Finished {TRAP}")
    cancelled = task_services.task_create(actor=p.adviser, case=case, sector=p.billing, description="Dropped")
    task_services.task_cancel(actor=p.adviser, task=cancelled, reason="No longer needed")
    assert queued.pk
    compensation_request(
        actor=p.adviser, case=case, kind="goodwill", amount_minor=500, currency="EUR", reason=f"Sorry {TRAP}"
    )
    big = compensation_request(
        actor=p.adviser, case=case, kind="refund", amount_minor=10_000_000, currency="EUR", reason="Big one"
    )
    assert big.state == "pending"
    for approve in (True, False):
        decided = compensation_request(
            actor=p.adviser, case=case, kind="credit", amount_minor=9_000, currency="EUR", reason="Decided"
        )
        compensation_decide(actor=p.manager, compensation=decided, approve=approve, note=f"Why {TRAP}")
    case.refresh_from_db()
    case_hand_off(
        actor=p.adviser,
        case=case,
        to_user=p.other_adviser,
        customer_need=f"Needs {TRAP}\nline two",
        done_so_far=f"Done {TRAP}\r\nline two",
        expected_version=case.version,
    )
    OutboundMail.objects.create(
        case=case,
        to=p.customer.email,
        recipient_kind=RecipientKind.CUSTOMER,
        language="en",
        kind="reply",
        subject="Re: Busy",
        text_body="x",
        message_id="<failed@example.com>",
        state=MailState.FAILED,
        attempts=5,
        last_error=f"550 mailbox unavailable {TRAP}" * 5,
        created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )
    return case


def _cases(p: Personas) -> dict[str, Case]:
    cases: dict[str, Case] = {"new": p.case, "busy": _busy_open_case(p)}
    proposed = case_open(
        actor=p.adviser, customer=p.customer, subject="Proposed", description="x", owner=p.adviser
    )
    case_propose_solution(actor=p.adviser, case=proposed, solution=f"Try this {TRAP}")
    cases["proposed"] = proposed
    with surveys_muted():
        confirmed = case_open(
            actor=p.adviser, customer=p.customer, subject="Fine", description="x", owner=p.adviser
        )
        case_propose_solution(actor=p.adviser, case=confirmed, solution="Firmware updated")
        confirmed = case_confirm_solution(
            actor=p.adviser, case=confirmed, channel="phone", note=f"On the phone {TRAP}"
        )
    survey = survey_send(case=confirmed)
    assert survey is not None
    survey_answer(survey=survey, answers={"csat": 2, "ces": 6, "solved": False})
    cases["closed, survey answered"] = confirmed
    unconfirmed = case_open(
        actor=p.adviser, customer=p.customer, subject="Gone quiet", description="x", owner=p.adviser
    )
    case_close_unconfirmed(actor=p.manager, case=unconfirmed, reason=f"No answer {TRAP}")
    cases["closed unconfirmed"] = unconfirmed
    reopened = case_open(
        actor=p.adviser, customer=p.customer, subject="Back again", description="x", owner=p.adviser
    )
    case_close_unconfirmed(actor=p.manager, case=reopened, reason="No answer for two weeks")
    case_reopen(actor=p.adviser, case=reopened, reason=f"Customer called {TRAP}")
    cases["reopened"] = reopened
    follow_up = case_open(
        actor=p.adviser,
        customer=p.customer,
        subject="Same again",
        description="x",
        owner=p.adviser,
        follow_up_of=confirmed,
    )
    cases["follow-up"] = follow_up
    erased = customer_create(actor=None, name=f"Erin {TRAP}", email="erin@example.com", language="es")
    gone = case_open(
        actor=p.adviser, customer=erased, subject="Private", description="My address", owner=p.adviser
    )
    case_reply(actor=p.adviser, case=gone, body="Noted")
    case_close_unconfirmed(actor=p.manager, case=gone, reason="No answer for two weeks")
    personal_data_erase(actor=p.manager, customer=erased)
    cases["erased customer"] = gone
    return cases


def _normal(html: str) -> str:
    return CSRF.sub(r'\1"-"', html)


def _get(client: Client, url: str, method: str = "get", data: dict | None = None) -> tuple[int, str]:
    response = getattr(client, method)(url, data or {})
    return response.status_code, _normal(response.content.decode())


def _reference_templates() -> list[dict[str, Any]]:
    templates: list[dict[str, Any]] = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [REFERENCE, *templates[0]["DIRS"]]
    return templates


def _assert_same(client: Client, url: str, method: str = "get", data: dict | None = None) -> int:
    status, new = _get(client, url, method, data)
    with override_settings(TEMPLATES=_reference_templates()):
        old_status, old = _get(client, url, method, data)
    assert status == old_status, url
    if new != old:
        diff = "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2))
        pytest.fail(f"{method.upper()} {url}: the page differs from the reference templates\n{diff[:6000]}")
    return status


def test_the_reference_templates_are_the_ones_found_first():
    from django.template import engines

    with override_settings(TEMPLATES=_reference_templates()):
        origin = engines["django"].get_template("cases/detail.html").template.origin  # type: ignore[attr-defined]
        assert Path(origin.name).parent.parent == REFERENCE
        assert "{% for item in timeline %}" in Path(origin.name).read_text()
    current = engines["django"].get_template("cases/detail.html").template.origin  # type: ignore[attr-defined]
    assert Path(current.name).parent.parent != REFERENCE


def test_the_case_page_is_the_same_html_as_its_reference_templates(personas, monkeypatch):
    p = personas
    cases = _cases(p)
    now = timezone.now()
    monkeypatch.setattr(timeutil, "now", lambda: now)  # the page's "now" (overdue, open for) is fixed
    absence_create(
        actor=None,
        user=p.other_adviser,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=3),
        reason="x",
    )
    viewers = {
        "owner": p.adviser,
        "manager": p.manager,
        "executive": p.executive,
        "new owner's backup": p.backup,
        "sector member": p.sector_member,
    }
    shown = 0
    for language in LANGUAGES:
        for who, user in viewers.items():
            client = Client()
            client.force_login(user)
            for name, case in cases.items():
                status = _assert_same(client, f"/{language}/cases/{case.pk}/")
                assert status in (200, 404), (who, name, status)
                shown += status == 200
    assert shown > 60


def test_refused_forms_render_the_same_as_with_the_reference_templates(personas, monkeypatch):
    """Bound forms with errors and a stale version, through both."""
    p = personas
    cases = _cases(p)
    now = timezone.now()
    monkeypatch.setattr(timeutil, "now", lambda: now)
    client = Client()
    client.force_login(p.adviser)
    busy = cases["busy"]
    for language in LANGUAGES:
        base = f"/{language}/cases/{p.case.pk}/"
        assert _assert_same(client, base + "reply/", "post", {"body": "", "expected_version": "x"}) == 400
        assert (
            _assert_same(client, base + "next-step/", "post", {"description": TRAP, "due_at": "soon"}) == 400
        )
        assert _assert_same(client, base + "task/", "post", {"sector": "999", "description": ""}) == 400
        stale = {"body": f"Late {TRAP}", "expected_version": "0"}
        assert _assert_same(client, base + "reply/", "post", stale) == 409
        assert (
            _assert_same(client, f"/{language}/cases/{busy.pk}/resolve-step/", "post", {"state": "x"}) == 400
        )
    other = Client()
    other.force_login(p.other_adviser)  # the new owner of the busy case
    assert _assert_same(other, f"/en/cases/{busy.pk}/handoff/", "post", {"customer_need": TRAP}) == 400
