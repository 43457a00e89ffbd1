"""Turn a Notice into the mail its recipient reads: subject, plain text and HTML, in their language.

Rendering is pure (Python and the database, no network), so it runs inside the case transaction.
Every subject carries the case token, which is language-neutral and survives any translation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from steward.cases.models import Case
from steward.core.paths import localized_path
from steward.mail.identity import subject_with_token

from .mail_bodies import notice_bodies
from .models import NotificationKind, RecipientKind
from .notices import Notice


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(text: str) -> str:
    """Headers never carry line breaks (a subject written with one would be refused by the mailer)."""
    return " ".join(str(text).split())


def case_url(case: Case) -> str:
    """The staff case page, in the active language."""
    path = localized_path("cases:detail", translation.get_language() or settings.LANGUAGE_CODE, pk=case.pk)
    return f"{settings.STEWARD_BASE_URL}{path}"


def portal_url(language: str) -> str:
    """The customer's list of all their requests in the portal."""
    return settings.STEWARD_BASE_URL + localized_path("portal:cases", language)


def portal_case_url(case: Case, language: str, *, new_case: bool = False) -> str:
    """This case's own page in the portal (its random key is created on first use); the portal owns it.

    `new_case`: the case was opened in this transaction, so it has no key yet (none is looked for)."""
    from steward.portal.services import case_portal_url  # the portal imports this app's services

    return case_portal_url(case, language=language, new_case=new_case)


def _solution_links(case: Case) -> tuple[str, str]:
    """The customer's signed confirm / not-solved links; the portal owns them."""
    from steward.portal.links import solution_links  # the portal imports this app's services

    confirm, not_solved = solution_links(case)
    return str(confirm), str(not_solved)


def _subject_of(case: Case) -> str:
    return one_line(case.subject)


# One subject per kind, evaluated with the recipient's language active.
SUBJECTS: dict[str, Callable[[Case, dict[str, Any]], str]] = {
    NotificationKind.CASE_RECEIVED: lambda case, c: (
        _("We have your request: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.REPLY: lambda case, c: (
        _("New reply to your request: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.HANDOFF: lambda case, c: (
        _("%(name)s now takes care of your request: %(subject)s")
        % {"name": c["owner"].display_name, "subject": _subject_of(case)}
    ),
    NotificationKind.NEXT_STEP: lambda case, c: (
        (_("Your next step has changed: %(subject)s") if c.get("changed") else _("Next step: %(subject)s"))
        % {"subject": _subject_of(case)}
    ),
    NotificationKind.SOLUTION_PROPOSED: lambda case, c: (
        _("Proposed solution: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.CLOSED: lambda case, c: (
        _("Your request is closed: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.SECTOR_STEP: lambda case, c: (
        _("Our %(sector)s team is working on your request: %(subject)s")
        % {"sector": one_line(c["task"].sector.name), "subject": _subject_of(case)}
    ),
    NotificationKind.TASK_NEAR_BREACH: lambda case, c: (
        _("Task about to breach its target: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.TASK_RETURNED: lambda case, c: (
        _("%(sector)s returned a task: %(subject)s")
        % {"sector": one_line(c["task"].sector.name), "subject": _subject_of(case)}
    ),
    NotificationKind.TASK_COMPLETED: lambda case, c: (
        _("%(sector)s completed a task: %(subject)s")
        % {"sector": one_line(c["task"].sector.name), "subject": _subject_of(case)}
    ),
    NotificationKind.ASSIGNED: lambda case, c: (
        _("Case assigned to you: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.HANDED_OVER: lambda case, c: (
        _("Case handed over to you: %(subject)s") % {"subject": _subject_of(case)}
    ),
    NotificationKind.CUSTOMER_WROTE: lambda case, c: (
        _("%(customer)s wrote on your case: %(subject)s")
        % {"customer": one_line(case.customer.name), "subject": _subject_of(case)}
    ),
    NotificationKind.NEXT_STEP_DUE: lambda case, c: (
        (_("Next step overdue: %(step)s") if c.get("overdue") else _("Next step due: %(step)s"))
        % {"step": one_line(c["commitment"].description)}
    ),
}

_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def _tidy_text(text: str) -> str:
    """Template tags leave blank lines behind; keep at most one empty line between paragraphs."""
    # "-- " (with its space) is the signature separator mail clients recognise; keep it intact.
    lines = "\n".join(line if line == "-- " else line.rstrip() for line in text.strip().splitlines())
    return _BLANK_LINES.sub("\n\n", lines) + "\n"


def notice_context(notice: Notice, case: Case, *, new_case: bool = False) -> dict[str, Any]:
    """What a notice's mail shows, with its recipient's language active (the links are in it).

    Only the links the recipient's mail shows are made: the portal's for the customer, the case
    page for staff (each is a reverse(), and the portal's case link may need its key read)."""
    recipient = notice.recipient
    for_customer = recipient.kind == RecipientKind.CUSTOMER
    context: dict[str, Any] = {
        "case": case,
        "customer": case.customer,
        "owner": case.owner,
        "recipient_name": recipient.name,
        "for_customer": for_customer,
        "case_url": "" if for_customer else case_url(case),
        "portal_url": portal_url(recipient.language) if for_customer else "",
        "portal_case_url": (
            portal_case_url(case, recipient.language, new_case=new_case) if for_customer else ""
        ),
        "language": recipient.language,
        **notice.context,
    }
    if notice.kind == NotificationKind.SOLUTION_PROPOSED:
        context["confirm_url"], context["not_solved_url"] = _solution_links(case)
    return context


def render_notice(notice: Notice, case: Case, *, new_case: bool = False) -> Rendered:
    """Subject (with the case token), text and HTML of a notice, in the recipient's language.

    `new_case`: the case was opened in this transaction (portal_case_url). The bodies are written in
    Python (mail_bodies: issue 9), exactly as the templates they replace wrote them."""
    with translation.override(notice.recipient.language):
        context = notice_context(notice, case, new_case=new_case)
        # Cut the words, never the token: 370 + " [ST#n-xxxxxxxx]" fits the 400-character column.
        subject = subject_with_token(one_line(SUBJECTS[notice.kind](case, notice.context))[:370], case.number)
        text, html = notice_bodies(notice.kind, context)
    return Rendered(subject=subject, text=_tidy_text(text), html=html)
