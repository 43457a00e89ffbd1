"""The case page's history, written in Python instead of through the template engine (issue 9).

The engine spent about 0.25 ms per event (a dozen conditions, two dates, an include per message,
escaping through lazy wrappers). This writes exactly the markup the loop of templates/cases/detail.html
wrote (the loop is kept as the reference in steward/cases/tests/reference_templates/, and
test_case_page_html.py renders every kind of case through both). Every value goes through the engine's
own steps: render_value_in_context's local time, localisation and conditional_escape, and the same
filters (date, linebreaks, linebreaksbr, filesizeformat); nothing user-written ever becomes markup.
Translated texts are the template's literals, which the engine does not escape either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat, linebreaks_filter, linebreaksbr
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django.utils.translation import gettext as _

from steward.core.template_values import as_html as _v  # `{{ value }}`
from steward.costs.templatetags.costs import event_label
from steward.mail.quoting import split_reply

from .models import Case
from .selectors import TimelineEntry

_MISSING = ""  # what the engine writes for a missing variable (string_if_invalid)


def _date(value: Any, fmt: str) -> str:
    """`{{ value|date:fmt }}` (the filter wants local time, like the engine gives it)."""
    return _v(date_filter(template_localtime(value), fmt))


def _get(data: Any, key: str) -> Any:
    """`e.data.<key>`: the JSON object's value, or what the engine writes for a missing one."""
    return data.get(key, _MISSING) if isinstance(data, dict) else _MISSING


def _name(user: Any) -> Any:
    return user.display_name if user is not None else _MISSING


class _Page:
    """What every entry of one page shares: translated texts and link patterns, worked out once."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.customer = _v(case.customer.name)
        self.needs = _("What the customer needs")
        self.done = _("What has been done")
        self.quoted = _("Earlier mail quoted in this reply")
        self.due = _("due")
        self.csat = _("CSAT")
        self.ces = _("CES")
        self.not_solved = _("not solved")


def timeline_html(timeline: Sequence[TimelineEntry], case: Case) -> SafeString:
    """The <li> entries of the history, as the template's loop wrote them (between <ol> and </ol>)."""
    page = _Page(case)
    return mark_safe("".join(_entry(entry, page) for entry in timeline))  # noqa: S308 (escaped above)


def _entry(entry: TimelineEntry, page: _Page) -> str:
    e, obj, data = entry.event, entry.obj, entry.event.data
    who = ""
    if e.actor:
        who = _v(e.actor.display_name)
    elif e.kind == "message_in" or e.kind == "solution_confirmed":
        who = page.customer
    if e.sector:
        who += " · " + _v(e.sector)
    if _get(data, "channel") and e.kind == "solution_confirmed":
        who += " · " + _v(_get(data, "channel"))
    parts = [
        f'\n      <li class="ev ev-{_v(e.kind)}" id="event-{_v(e.pk)}">'
        '\n        <div class="ev-head">'
        f"\n          <strong>{_v(event_label(e))}</strong>"
        f'\n          <span class="muted">{who}</span>'
        f'\n          <time class="muted" datetime="{_date(e.at, "c")}">'
        f"{_date(e.at, 'DATETIME_FORMAT')}</time>"
        "\n        </div>\n        ",
        _body(e, obj, data, page),
        "\n        ",
    ]
    if entry.attachments:
        parts.append('<ul class="atts">')
        for a in entry.attachments:
            link = conditional_escape(reverse("cases:attachment", args=[page.case.pk, a.pk]))
            parts.append(
                f'<li><a href="{link}">{_v(a.original_name)}</a> '
                f'<span class="muted">{_v(filesizeformat(a.size))}</span></li>'
            )
        parts.append("</ul>")
    parts.append("\n      </li>\n    ")
    return "".join(parts)


def _body(e: Any, obj: Any, data: Any, page: _Page) -> str:
    """The if/elif chain under the entry's head."""
    end = "\n        "
    if e.kind == "handoff" and obj:
        names = _("From %(a)s to %(b)s") % {"a": _v(_name(obj.from_user)), "b": _v(_name(obj.to_user))}
        return (
            '\n          <div class="handoff" data-testid="handoff-summary">'
            f'\n            <p class="muted">{names}</p>'
            f"\n            <h3>{page.needs}</h3><p>{linebreaksbr(obj.customer_need, autoescape=True)}</p>"
            f"\n            <h3>{page.done}</h3><p>{linebreaksbr(obj.done_so_far, autoescape=True)}</p>"
            f"\n          </div>{end}"
        )
    if obj and getattr(obj, "body", _MISSING):
        return f"\n          {_message_body(obj.body, page)}{end}"
    if obj and getattr(obj, "description", _MISSING):
        note = ""
        if e.kind != "commitment_set" and getattr(obj, "resolution_note", _MISSING):
            note = f" — {_v(obj.resolution_note)}"
        return (
            f"\n          <p>{_v(obj.description)} · {page.due} "
            f"{_date(obj.due_at, 'DATETIME_FORMAT')}{note}</p>{end}"
        )
    if _get(data, "reason"):
        return f"<p>{_v(_get(data, 'reason'))}</p>{end}"
    if _get(data, "comment"):
        return f"<p>{_v(_get(data, 'comment'))}</p>{end}"
    if e.kind == "status":
        return f'<p class="muted">{_v(_get(data, "from"))} → {_v(_get(data, "to"))}</p>{end}'
    if e.kind == "survey_answered":
        text = ""
        if _get(data, "csat"):
            text += f"{page.csat} {_v(_get(data, 'csat'))}"
        if _get(data, "ces"):
            text += f" · {page.ces} {_v(_get(data, 'ces'))}"
        if _get(data, "solved") is False:
            text += f" · {page.not_solved}"
        return f'<p class="muted">{text}</p>{end}'
    if e.kind == "survey_follow_up_done":
        return f"<p>{_v(_get(data, 'note'))}</p>{end}"
    if e.kind == "follow_up_linked":
        origin = _get(data, "follow_up_of")
        link = conditional_escape(reverse("cases:detail", args=[origin]))
        return f'<p><a href="{link}">#{_v(origin)}</a></p>{end}'
    return ""


def _message_body(body: str, page: _Page) -> str:
    """templates/includes/message_body.html (with its final newline): the fresh text, and the earlier
    mail it quotes folded away."""
    fresh, quoted = split_reply(body)
    html = f'<div class="body">{linebreaks_filter(fresh, autoescape=True)}'
    if quoted:
        html += (
            f'\n  <details class="quoted"><summary>{page.quoted}</summary>'
            f"{linebreaks_filter(quoted, autoescape=True)}</details>"
        )
    return html + "</div>\n"
