"""The notification mails are the same text and HTML their templates wrote before the bodies were written
in Python (issue 9): every kind, for the customer and for staff, in every language, through both.

reference_templates/ holds the notification templates as they were; they still extend the live
notifications/base.txt and base.html (the survey mails use that frame too), so a change to the frame
that the Python bodies do not follow fails here. In the hostile run every value a mail shows is
hostile (markup, ampersands, quotes, template syntax, format placeholders, line breaks, a body longer
than the 2,000 characters the confirmation quotes), so the escaping is proven the same too.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import timezone, translation

from steward.cases.models import Case, Commitment, Handoff, Message, SectorTask
from steward.notifications import mail_bodies
from steward.notifications.compose import _tidy_text, notice_context, render_notice
from steward.notifications.models import NotificationKind, RecipientKind
from steward.notifications.notices import Notice, Recipient
from steward.sectors.models import TaskKind
from steward.testing import Personas

pytestmark = pytest.mark.django_db

REFERENCE = Path(__file__).parent / "reference_templates"
LANGUAGES = ["en", "th", "ru", "es"]
TRAP = "<b>bold</b> & \"quotes\" 'single' {{ 7|add:3 }} {% now 'Y' %} 100% %(name)s %s"
# Line breaks of every kind, trailing spaces and runs of blank lines (linebreaks, _tidy_text), and more
# than the 2,000 characters case_received quotes (truncatechars), with characters beyond ASCII.
LONG = (
    f"First line {TRAP}  \r\nsecond line\t\n\n\n\nnew paragraph \u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\r\r"
    + ("\u00e9t\u00e9 <i>&amp;</i> " * 200)
    + "\n \n  \n-- \nend"
)
MAIL_KINDS = [k for k in NotificationKind.values if k not in ("portal_sign_in", "other")]


def _reference_templates() -> list[dict[str, Any]]:
    templates: list[dict[str, Any]] = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [REFERENCE, *templates[0]["DIRS"]]
    return templates


def _variants(p: Personas, hostile: bool) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, kind, notice context) for every kind and every branch of its body."""
    text = LONG if hostile else "Thanks, the phone charges again."
    short = f"Call {TRAP}\nback" if hostile else "Call the customer back"
    author = p.adviser
    other = p.backup
    due = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # another day in Bangkok
    step = Commitment(case=p.case, description=short, due_at=due, promised_by=author)
    kind = TaskKind(sector=p.billing, name=f"Refund {TRAP}" if hostile else "Refund", target_minutes=60)
    task = SectorTask(
        case=p.case,
        sector=p.billing,
        task_kind=kind,
        description=text,
        due_at=due,
        created_by=author,
        assignee=other,
        target_minutes=60,
        completion_note=short,
        return_reason=text,
    )
    bare = SectorTask(
        case=p.case,
        sector=p.billing,
        task_kind=None,
        description=short,
        due_at=due,
        created_by=author,
        assignee=None,
        target_minutes=60,
        completion_note="",
        return_reason="",
    )
    message = Message(case=p.case, body=text, author=author, created_at=due)
    handoff = Handoff(
        case=p.case, from_user=author, to_user=other, by=author, customer_need=text, done_so_far=short
    )
    yield "received", NotificationKind.CASE_RECEIVED, {"message": message, "next_step": None, "spoken": False}
    yield (
        "received spoken, step",
        NotificationKind.CASE_RECEIVED,
        {
            "message": message,
            "next_step": step,
            "spoken": True,
        },
    )
    yield "reply", NotificationKind.REPLY, {"message": message, "author": author}
    yield "handoff", NotificationKind.HANDOFF, {"owner": other}
    yield "next step", NotificationKind.NEXT_STEP, {"commitment": step, "changed": False}
    yield "next step changed", NotificationKind.NEXT_STEP, {"commitment": step, "changed": True}
    yield "solution", NotificationKind.SOLUTION_PROPOSED, {"message": message, "author": author}
    yield "solution, no message", NotificationKind.SOLUTION_PROPOSED, {"message": None, "author": author}
    yield "closed", NotificationKind.CLOSED, {"confirmed": False}
    yield "confirmed", NotificationKind.CLOSED, {"confirmed": True}
    yield "sector step", NotificationKind.SECTOR_STEP, {"task": task, "expected": date(2026, 3, 3)}
    yield "sector step, no kind", NotificationKind.SECTOR_STEP, {"task": bare, "expected": due.date()}
    yield "near breach", NotificationKind.TASK_NEAR_BREACH, {"task": task}
    yield "near breach, not taken", NotificationKind.TASK_NEAR_BREACH, {"task": bare}
    yield "returned", NotificationKind.TASK_RETURNED, {"task": task, "by": other}
    yield "returned by nobody", NotificationKind.TASK_RETURNED, {"task": bare, "by": None}
    yield "completed", NotificationKind.TASK_COMPLETED, {"task": task, "by": other}
    yield "completed by nobody, no note", NotificationKind.TASK_COMPLETED, {"task": bare, "by": None}
    yield "assigned", NotificationKind.ASSIGNED, {"opened_by": other}
    yield "assigned by mail", NotificationKind.ASSIGNED, {"opened_by": None}
    yield "handed over", NotificationKind.HANDED_OVER, {"handoff": handoff}
    yield "customer wrote", NotificationKind.CUSTOMER_WROTE, {"message": message}
    yield "step due", NotificationKind.NEXT_STEP_DUE, {"commitment": step, "overdue": False}
    yield "step overdue", NotificationKind.NEXT_STEP_DUE, {"commitment": step, "overdue": True}


def _prepare(p: Personas, hostile: bool) -> Case:
    """The case, its customer and its people, with hostile names when asked (in memory only)."""
    case = p.case
    case.solution_proposed_at = timezone.now()  # the solution mail's signed links need one
    if hostile:
        case.subject = f"Subject {TRAP}\nsecond line"
        case.customer.name = f"Customer {TRAP}"
        p.billing.name = f"Billing {TRAP}"
        p.adviser.first_name, p.adviser.last_name = "Ann <i>", f"{TRAP}"
        p.backup.first_name, p.backup.last_name = "Bob &amp;", 'O\'Neil "B"'
    return case


def _recipients(p: Personas, language: str, hostile: bool) -> list[Recipient]:
    name = f"Dear {TRAP}" if hostile else "Somchai"
    return [
        Recipient(kind=RecipientKind.CUSTOMER, address="c@example.com", language=language, name=name),
        Recipient(
            kind=RecipientKind.USER, address="s@example.com", language=language, name=name, user=p.manager
        ),
    ]


def _reference(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    return (
        render_to_string(f"notifications/{kind}.txt", context),
        render_to_string(f"notifications/{kind}.html", context),
    )


def _diff(what: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "templates", "python", lineterm="", n=2)
    return f"{what}\n" + "\n".join(lines)[:4000]


def test_the_reference_templates_are_found_first_and_no_longer_in_templates():
    from django.template import engines

    with override_settings(TEMPLATES=_reference_templates()):
        for kind in MAIL_KINDS:
            origin = engines["django"].get_template(f"notifications/{kind}.html").template.origin  # type: ignore[attr-defined]
            assert Path(origin.name).parent.parent == REFERENCE
    for kind in MAIL_KINDS:
        for suffix in ("txt", "html"):
            assert not (settings.BASE_DIR / "templates" / "notifications" / f"{kind}.{suffix}").exists()


@pytest.mark.parametrize("hostile", [False, True], ids=["plain", "hostile"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Bangkok"])
def test_every_mail_body_is_what_its_templates_wrote(personas, hostile, zone, monkeypatch):
    # The solution mail's signed links carry the second they were signed in: the reference context and
    # render_notice's own are built apart, so a second boundary between them made the links differ.
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(1_800_000_000))
    p = personas
    case = _prepare(p, hostile)
    seen: set[str] = set()
    compared = 0
    with override_settings(TEMPLATES=_reference_templates()), timezone.override(zone):
        for language in LANGUAGES:
            for recipient in _recipients(p, language, hostile):
                for name, kind, extra in _variants(p, hostile):
                    notice = Notice(kind, recipient, extra)
                    with translation.override(language):
                        context = notice_context(notice, case)
                        old_text, old_html = _reference(kind, context)
                        new_text, new_html = mail_bodies.notice_bodies(kind, context)
                    where = f"{name} ({kind}) to {recipient.kind} in {language}, {zone}"
                    assert new_text == old_text, _diff(f"text of {where}", old_text, new_text)
                    assert new_html == old_html, _diff(f"HTML of {where}", old_html, new_html)
                    # And what the mail carries: render_notice's subject, tidied text and HTML.
                    rendered = render_notice(notice, case)
                    assert (rendered.text, rendered.html) == (_tidy_text(old_text), old_html), where
                    seen.add(kind)
                    compared += 1
    assert seen == set(MAIL_KINDS)
    assert compared == len(LANGUAGES) * 2 * 24
    if hostile:  # the values did reach the mails, escaped in the HTML and verbatim in the text
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot; &#x27;single&#x27;" in old_html
        assert "{{ 7|add:3 }}" in old_text and "100% %(name)s %s" in old_text


def test_the_translations_reach_the_python_bodies(personas):
    """The same msgids as the templates: a Thai mail is in Thai, not in English."""
    p = personas
    case = _prepare(p, hostile=False)
    customer, staff = _recipients(p, "th", hostile=False)
    rendered = render_notice(Notice(NotificationKind.CLOSED, customer, {"confirmed": True}), case)
    with translation.override("th"):
        closed = translation.gettext("Thank you for confirming the solution. Your request is now closed.")
        hello = translation.gettext("Hello %(name)s,") % {"name": "Somchai"}
    assert closed != "Thank you for confirming the solution. Your request is now closed."
    assert closed in rendered.text and closed in rendered.html
    assert hello in rendered.text and hello in rendered.html


def test_the_mails_real_writes_send_are_what_their_templates_wrote(staff, monkeypatch):
    """The contexts the event mapping really builds, through the case and task services."""
    from steward.cases import task_services as ts
    from steward.cases.models import Channel, CommitmentState
    from steward.cases.services import (
        case_close_unconfirmed,
        case_confirm_solution,
        case_hand_off,
        case_open,
        case_propose_solution,
        case_receive_message,
        case_reply,
        commitment_resolve,
        commitment_set,
    )
    from steward.customers.services import customer_create
    from steward.notifications import services
    from steward.notifications.services import commitments_remind_due
    from steward.testing import DONE, NEED

    p = staff
    p.sector_member.email = "billing1@staff.example"
    p.sector_member.save(update_fields=["email"])
    real = services.render_notice
    kinds: list[str] = []

    def checked(notice: Notice, case: Case, *, new_case: bool = False) -> Any:
        rendered = real(notice, case, new_case=new_case)
        with (
            override_settings(TEMPLATES=_reference_templates()),
            translation.override(notice.recipient.language),
        ):
            context = notice_context(notice, case, new_case=new_case)  # the portal key is known by now
            old_text, old_html = _reference(notice.kind, context)
        where = f"{notice.kind} to {notice.recipient.kind} in {notice.recipient.language}"
        assert rendered.text == _tidy_text(old_text), _diff(f"text of {where}", old_text, rendered.text)
        assert rendered.html == old_html, _diff(f"HTML of {where}", old_html, rendered.html)
        kinds.append(notice.kind)
        return rendered

    monkeypatch.setattr(services, "render_notice", checked)
    customer = customer_create(actor=None, name=f"Customer {TRAP}", email="c@example.com", language="es")
    now = timezone.now()
    case = case_open(
        actor=None, customer=customer, subject=f"By mail {TRAP}", description=LONG, owner=p.adviser
    )
    commitment_set(actor=p.adviser, case=case, description=f"Call {TRAP}", due_at=now + timedelta(minutes=30))
    first = case.commitments.get()
    commitment_resolve(actor=p.adviser, commitment=first, state=CommitmentState.CANCELLED, note="moved")
    commitment_set(
        actor=p.adviser, case=case, description=f"Visit {TRAP}", due_at=now + timedelta(minutes=45)
    )
    commitments_remind_due(now=now + timedelta(hours=2))  # overdue
    case_reply(actor=p.adviser, case=case, body=f"Reply {TRAP}\n\nmore")
    case_receive_message(case=case, body=f"Still {TRAP}")
    kind = TaskKind.objects.create(sector=p.billing, name=f"Refund {TRAP}", target_minutes=240)
    task = ts.task_create(actor=p.adviser, case=case, sector=p.billing, description=LONG, task_kind=kind)
    ts.task_flag_near_breach(task=task)
    ts.task_take(actor=p.sector_member, task=task)
    ts.task_return(actor=p.sector_member, task=task, reason=f"Missing {TRAP}")
    other = ts.task_create(actor=p.adviser, case=case, sector=p.billing, description="Check the invoice")
    ts.task_take(actor=p.sector_member, task=other)
    ts.task_complete(actor=p.sector_member, task=other, note="")
    case_propose_solution(actor=p.adviser, case=case, solution=f"Solved {TRAP}")
    case_confirm_solution(case=case)
    spoken = case_open(
        actor=p.backup,
        customer=customer,
        subject="On the phone",
        description=f"Told {TRAP}",
        owner=p.adviser,
        channel=Channel.PHONE,
    )
    case_hand_off(actor=p.adviser, case=spoken, to_user=p.other_adviser, customer_need=NEED, done_so_far=DONE)
    case_close_unconfirmed(actor=p.manager, case=spoken, reason="No answer for two weeks")
    assert set(kinds) == set(MAIL_KINDS), set(MAIL_KINDS) - set(kinds)
