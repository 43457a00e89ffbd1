"""The notification mails' text and HTML, written in Python instead of through the template engine (issue 9).

Every case write renders its notices inside its transaction, and the engine spent about a quarter of a
millisecond per notice on two small templates (an extends, a dozen i18n tags, escaping through lazy
wrappers). This writes exactly what templates/notifications/<kind>.txt and .html wrote (they are kept as
the reference in steward/notifications/tests/reference_templates/, and test_mail_bodies.py renders every
kind, recipient, language and branch through both). The frame around the body is what
notifications/base.txt and base.html write; those stay templates, for the survey mails that extend them
(the reference templates extend them too, so the test fails if the frame changes here and not there).

Every value goes through the engine's own steps: render_value_in_context's local time, localisation
and, in the HTML, conditional_escape; the same filters (date, linebreaks, linebreaksbr, truncatechars).
Every sentence keeps the msgid its {% translate %} or {% blocktranslate %} had, so the catalogues apply
unchanged: blocktranslate turned `{{ name }}` into `%(name)s` and fills it with the rendered (in HTML,
escaped) value; the translated sentence itself is not escaped, by the engine either.
The text is raw, as the template wrote it: compose._tidy_text tidies it for both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import linebreaks_filter, linebreaksbr, truncatechars
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from steward.core.template_values import as_html as _h  # `{{ value }}` in the HTML
from steward.core.template_values import as_text as _t  # in the text ({% autoescape off %})

from .models import NotificationKind

Context = Mapping[str, Any]

# The inline styles the HTML templates gave their boxes.
_BOX = '<div style="margin:0 0 16px;padding:12px;background:#f5f7fa;border-radius:4px;">'
_QUOTE = '<blockquote style="margin:0 0 16px;padding-left:12px;border-left:3px solid #cbd2d9;color:#3e4c59;">'
_H3 = '<h3 style="margin:16px 0 4px;font-size:15px;">'
_BUTTON = (
    "display:inline-block;margin:0 8px 8px 0;padding:10px 16px;background:{};color:#ffffff;"
    "text-decoration:none;border-radius:4px;"
)
_LINK = ' style="color:#1d4ed8;"'
_MUTED = ' style="color:#616e7c;"'


def _date(value: Any, fmt: str) -> str:
    """`value|date:fmt` (the filter wants local time, as the engine hands it)."""
    return date_filter(template_localtime(value), fmt)


Both = tuple[str, str]  # (text, HTML)


def _bt(msgid: str, **values: Any) -> Both:
    """{% blocktranslate with ... %}, for the text and for the HTML: translated once, filled with each
    value as the text writes it and as the HTML writes it (escaped).

    Call it with gettext_noop("...") so makemessages still finds the msgid. A translation that
    cannot be filled (a broken placeholder) falls back to the sentence untranslated, as the tag does."""
    text = {key: _t(value) for key, value in values.items()}
    html = {key: _h(value) for key, value in values.items()}
    translated = _(msgid)
    try:
        return translated % text, translated % html
    except (KeyError, ValueError):
        return msgid % text, msgid % html


def _name(user: Any) -> Any:
    """`user.display_name`, or what the engine wrote for a missing user (string_if_invalid)."""
    return user.display_name if user is not None else ""


def _body(c: Context) -> str:
    """`message.body`, or the engine's empty string when there is no message."""
    message = c.get("message")
    return message.body if message is not None else ""


def _paras(value: Any) -> str:
    """`value|linebreaks` with autoescape on."""
    return linebreaks_filter(value, autoescape=True)


# ---------------------------------------------------------------- the frame (what notifications/base.* write)


def _page(c: Context, body: Both) -> Both:
    case = c["case"]
    hello = _bt(gettext_noop("Hello %(name)s,"), name=c["recipient_name"])
    number, subject_t, subject_h = _t(case.number), _t(case.subject), _h(case.subject)
    if c["for_customer"]:
        see, every = _("See your request at any time in the customer portal:"), _("All your requests:")
        reply = _("To write to us, simply reply to this e-mail.")
        case_link, all_link = c["portal_case_url"], c["portal_url"]
        links_t = f"{see} {_t(case_link)}\n{every} {_t(all_link)}\n{reply}"
        case_link, all_link = _h(case_link), _h(all_link)
        links_h = (
            f'<p>{see} <a href="{case_link}"{_LINK}>{case_link}</a></p>\n'
            f'<p{_MUTED}>{every} <a href="{all_link}"{_LINK}>{all_link}</a></p>\n'
            f"<p>{reply}</p>\n"
        )
        signature = _("Your customer service team")
    else:
        open_, answer = (
            _("Open the case:"),
            _("Please answer on the case page, not by replying to this e-mail."),
        )
        link = c["case_url"]
        links_t = f"{open_} {_t(link)}\n{answer}"
        link = _h(link)
        links_h = f'<p>{open_} <a href="{link}"{_LINK}>{link}</a></p>\n<p{_MUTED}>{answer}</p>\n'
        signature = "Steward"
    text = f"{hello[0]}\n\n{body[0]}\n\n{links_t}\n\n-- \n{signature}\n#{number} · {subject_t}\n\n"
    html = (
        f'<!DOCTYPE html>\n<html lang="{_h(c["language"])}">\n'
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{subject_h}</title></head>\n"
        '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'line-height:1.5;color:#1f2933;background:#ffffff;">\n'
        '<div style="max-width:640px;margin:0 auto;">\n'
        f"<p>{hello[1]}</p>\n{body[1]}\n\n{links_h}\n"
        f'<p style="margin-top:24px;color:#616e7c;font-size:13px;">{signature}<br>'
        f"#{_h(case.number)} · {subject_h}</p>\n</div>\n</body>\n</html>\n"
    )
    return text, html


# ---------------------------------------------------------------- one function per kind (<kind>.txt, .html)


def _next_step_sentence(step: Any) -> Both:
    return _bt(
        gettext_noop("Next step: %(what)s, by %(when)s."),
        what=step.description,
        when=_date(step.due_at, "DATETIME_FORMAT"),
    )


def _case_received(c: Context) -> Both:
    owner = _bt(
        gettext_noop("We have received your request and %(owner)s is taking care of it personally."),
        owner=c["owner"].display_name,
    )
    step = c.get("next_step")
    if step:
        then = _next_step_sentence(step)
    else:
        then = (_("We will tell you the next step as soon as it is set."),) * 2  # no value to escape
    told = _("What you told us, as we noted it:") if c.get("spoken") else _("What you wrote:")
    quoted = truncatechars(_body(c), 2000)
    return (
        f"{owner[0]}\n\n{then[0]}\n\n{told}\n{quoted}",
        f"<p>{owner[1]}</p>\n<p><strong>{then[1]}</strong></p>\n<p>{told}</p>\n"
        f"{_QUOTE}{linebreaksbr(quoted, autoescape=True)}</blockquote>",
    )


def _reply(c: Context) -> Both:
    replied = _bt(gettext_noop("%(name)s replied to your request:"), name=_name(c.get("author")))
    body = _body(c)
    return f"{replied[0]}\n\n{_t(body)}", f"<p>{replied[1]}</p>\n{_BOX}{_paras(body)}</div>"


def _handoff(c: Context) -> Both:
    owner = c["owner"]
    takes = _bt(
        gettext_noop("%(name)s (%(role)s) now takes care of your request."),
        name=owner.display_name,
        role=owner.get_role_display(),
    )
    again = _("You do not need to explain anything again: the whole history of your request goes with it.")
    return f"{takes[0]}\n\n{again}", f"<p><strong>{takes[1]}</strong></p>\n<p>{again}</p>"


def _next_step(c: Context) -> Both:
    if c.get("changed"):
        lead = _("The next step on your request has changed.")
    else:
        lead = _("Here is the next step on your request.")
    step = c["commitment"]
    what = _next_step_sentence(step)
    promised = _bt(gettext_noop("Promised by %(name)s."), name=_name(step.promised_by))
    return (
        f"{lead}\n\n{what[0]}\n{promised[0]}",
        f"<p>{lead}</p>\n<p><strong>{what[1]}</strong><br>\n{promised[1]}</p>",
    )


def _solution_proposed(c: Context) -> Both:
    proposes = _bt(gettext_noop("%(name)s proposes this solution:"), name=_name(c.get("author")))
    body = _body(c)
    question = _("Does this solve your problem? Your request stays open until you confirm it.")
    yes, no = _("Yes, it is solved"), _("No, it is not solved")
    confirm, not_solved = c.get("confirm_url", ""), c.get("not_solved_url", "")
    return (
        f"{proposes[0]}\n\n{_t(body)}\n\n{question}\n{yes}: {_t(confirm)}\n{no}: {_t(not_solved)}",
        f"<p>{proposes[1]}</p>\n{_BOX}{_paras(body)}</div>\n<p>{question}</p>\n"
        f'<p><a href="{_h(confirm)}" style="{_BUTTON.format("#047857")}">{yes}</a>\n'
        f'<a href="{_h(not_solved)}" style="{_BUTTON.format("#b91c1c")}">{no}</a></p>',
    )


def _closed(c: Context) -> Both:
    if c.get("confirmed"):
        closed = _("Thank you for confirming the solution. Your request is now closed.")
    else:
        closed = _("Your request is now closed.")
    again = _("If the problem comes back soon, reply to this e-mail and we will reopen your request.")
    return f"{closed}\n\n{again}", f"<p><strong>{closed}</strong></p>\n<p>{again}</p>"


def _sector_step(c: Context) -> Both:
    task = c["task"]
    if task.task_kind:
        asked = _bt(
            gettext_noop("We asked our %(sector)s team to take care of a step of your request: %(what)s."),
            sector=task.sector.name,
            what=task.task_kind.name,
        )
    else:
        asked = _bt(
            gettext_noop("We asked our %(sector)s team to take care of a step of your request."),
            sector=task.sector.name,
        )
    expected = _bt(gettext_noop("Expected by %(date)s."), date=_date(c.get("expected"), "DATE_FORMAT"))
    stays = _bt(
        gettext_noop("%(owner)s stays in charge of your request and will tell you the result."),
        owner=c["owner"].display_name,
    )
    return (
        f"{asked[0]}\n{expected[0]}\n\n{stays[0]}",
        f"<p>{asked[1]}<br>\n<strong>{expected[1]}</strong></p>\n<p>{stays[1]}</p>",
    )


def _task_near_breach(c: Context) -> Both:
    task = c["task"]
    breach = _bt(
        gettext_noop("A task of %(sector)s is about to breach its target: it is due %(due)s."),
        sector=task.sector.name,
        due=_date(task.due_at, "DATETIME_FORMAT"),
    )
    if task.assignee:
        taken = _bt(gettext_noop("Taken by %(name)s."), name=task.assignee.display_name)
    else:
        taken = (_("Nobody has taken it yet."),) * 2  # no value to escape
    todo = _("What the sector should do")
    return (
        f"{breach[0]}\n{taken[0]}\n\n{todo}:\n{_t(task.description)}",
        f"<p><strong>{breach[1]}</strong><br>\n{taken[1]}</p>\n<p>{todo}:</p>\n"
        f"{_BOX}{_paras(task.description)}</div>",
    )


def _by(c: Context) -> Any:
    """`by.display_name|default:task.sector.name`: who ended the task, else its sector."""
    by = c.get("by")
    return (by.display_name if by is not None else "") or c["task"].sector.name


def _task_returned(c: Context) -> Both:
    task = c["task"]
    returned = _bt(
        gettext_noop("%(name)s (%(sector)s) returned the task to you."), sector=task.sector.name, name=_by(c)
    )
    reason, todo = _("Reason"), _("What the sector should do")
    return (
        f"{returned[0]}\n\n{reason}:\n{_t(task.return_reason)}\n\n{todo}:\n{_t(task.description)}",
        f"<p>{returned[1]}</p>\n<p>{reason}:</p>\n{_BOX}{_paras(task.return_reason)}</div>\n"
        f"<p>{todo}:</p>\n{_BOX}{_paras(task.description)}</div>",
    )


def _task_completed(c: Context) -> Both:
    task = c["task"]
    completed = _bt(
        gettext_noop("%(name)s (%(sector)s) completed the task."), sector=task.sector.name, name=_by(c)
    )
    result, todo = _("Result"), _("What the sector should do")
    tell = _("Tell the customer what it means for them.")
    note = task.completion_note or "-"
    return (
        f"{completed[0]}\n\n{result}:\n{_t(note)}\n\n{todo}:\n{_t(task.description)}\n\n{tell}",
        f"<p>{completed[1]}</p>\n<p>{result}:</p>\n{_BOX}{_paras(note)}</div>\n"
        f"<p>{todo}:</p>\n{_BOX}{_paras(task.description)}</div>\n<p>{tell}</p>",
    )


def _assigned(c: Context) -> Both:
    opened_by = c.get("opened_by")
    if opened_by:
        assigned = _bt(
            gettext_noop("%(name)s opened a case for %(customer)s with you as the owner."),
            name=opened_by.display_name,
            customer=c["customer"].name,
        )
    else:
        assigned = _bt(
            gettext_noop("A new case from %(customer)s arrived and you are its owner."),
            customer=c["customer"].name,
        )
    subject = c["case"].subject
    return (
        f"{assigned[0]}\n\n{_t(subject)}",
        f"<p>{assigned[1]}</p>\n<p><strong>{_h(subject)}</strong></p>",
    )


def _handed_over(c: Context) -> Both:
    handoff = c["handoff"]
    handed = _bt(
        gettext_noop("%(name)s handed over the case of %(customer)s to you."),
        name=_name(handoff.from_user),
        customer=c["customer"].name,
    )
    needs, done = _("What the customer needs"), _("What has been done")
    return (
        f"{handed[0]}\n\n{needs}:\n{_t(handoff.customer_need)}\n\n{done}:\n{_t(handoff.done_so_far)}",
        f"<p>{handed[1]}</p>\n{_H3}{needs}</h3>\n<div>{_paras(handoff.customer_need)}</div>\n"
        f"{_H3}{done}</h3>\n<div>{_paras(handoff.done_so_far)}</div>",
    )


def _customer_wrote(c: Context) -> Both:
    wrote = _bt(gettext_noop("%(customer)s wrote on your case:"), customer=c["customer"].name)
    body = _body(c)
    return f"{wrote[0]}\n\n{_t(body)}", f"<p>{wrote[1]}</p>\n{_BOX}{_paras(body)}</div>"


def _next_step_due(c: Context) -> Both:
    step = c["commitment"]
    when = _date(step.due_at, "DATETIME_FORMAT")
    if c.get("overdue"):
        due = _bt(
            gettext_noop("The next step promised on this case was due at %(when)s and is overdue:"), when=when
        )
    else:
        due = _bt(gettext_noop("The next step promised on this case is due at %(when)s:"), when=when)
    waiting = _bt(gettext_noop("%(customer)s is waiting for it."), customer=c["customer"].name)
    return (
        f"{due[0]}\n\n{_t(step.description)}\n\n{waiting[0]}",
        f"<p>{due[1]}</p>\n<p><strong>{_h(step.description)}</strong></p>\n<p>{waiting[1]}</p>",
    )


_BODIES: dict[str, Callable[[Context], Both]] = {
    NotificationKind.CASE_RECEIVED: _case_received,
    NotificationKind.REPLY: _reply,
    NotificationKind.HANDOFF: _handoff,
    NotificationKind.NEXT_STEP: _next_step,
    NotificationKind.SOLUTION_PROPOSED: _solution_proposed,
    NotificationKind.CLOSED: _closed,
    NotificationKind.SECTOR_STEP: _sector_step,
    NotificationKind.TASK_NEAR_BREACH: _task_near_breach,
    NotificationKind.TASK_RETURNED: _task_returned,
    NotificationKind.TASK_COMPLETED: _task_completed,
    NotificationKind.ASSIGNED: _assigned,
    NotificationKind.HANDED_OVER: _handed_over,
    NotificationKind.CUSTOMER_WROTE: _customer_wrote,
    NotificationKind.NEXT_STEP_DUE: _next_step_due,
}


def notice_bodies(kind: str, context: Context) -> Both:
    """(text, HTML) of a notice, in the active language: what <kind>.txt (untidied) and <kind>.html wrote."""
    return _page(context, _BODIES[kind](context))
