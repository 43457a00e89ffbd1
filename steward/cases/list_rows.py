"""The rows of the agent case list, written in Python instead of through the template engine (issue 9).

The engine spent about 0.17 ms per row (14 variables, 4 conditions, escaping through lazy wrappers):
4 ms of a page's 12-15 ms of CPU. The markup below is exactly what templates/cases/list.html rendered
per row; every value goes through format_html's escaping (the same conditional_escape the engine uses),
and nothing user-written ever becomes markup. The page's other markup stays in the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from .models import Case, Kind, Status

ROW = (
    "\n      <tr>"
    '\n        <td><a href="{link}">{pk}</a></td>'
    '\n        <td><a href="{link}">{subject}</a> '
    '<span class="tag kind-{kind}">{kind_label}</span>{repeat}</td>'
    '\n        <td><a class="plain" href="?scope=all&amp;customer={customer_id}" title="{customer_title}">'
    "{customer_name}</a></td>"
    '\n        <td><span class="badge st-{status}">{status_label}</span></td>'
    "\n        <td>{owner}</td>"
    "\n        <td>{next_step}</td>"
    '\n        <td><time datetime="{created_iso}">{created_short}</time></td>'
    "\n      </tr>\n    "
)
# The columns _row_values reads (the next step comes from with_next_step's annotations): a list page
# read 32 columns of each case, 11 of its customer, 16 of its owner and its category for nothing.
ROW_FIELDS = (
    "subject",
    "kind",
    "is_repeat_contact",
    "status",
    "created_at",
    "customer__name",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)
REPEAT = ' <span class="tag warn">{}</span>'
NEXT_STEP = '<span class="{}">{}</span>'
NO_NEXT_STEP = '<span class="muted">{}</span>'


def rows_html(cases: Iterable[Case], now: datetime) -> SafeString:
    """The <tr> rows of these cases (selected with customer and owner, annotated with the next step)."""
    return format_html_join("", ROW, _row_values(cases, now))


def _row_values(cases: Iterable[Case], now: datetime) -> Iterator[dict[str, Any]]:
    # Worked out once per page: the link pattern, the labels and the fixed texts.
    marker = 999_999_999
    link = reverse("cases:detail", args=[marker]).replace(str(marker), "{}")
    kinds = {value: str(label) for value, label in Kind.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    repeat = format_html(REPEAT, _("repeat contact"))
    no_next_step = format_html(NO_NEXT_STEP, _("none"))
    customer_title = _("All cases of this customer")
    for c in cases:
        created = timezone.localtime(c.created_at)
        yield {
            "link": link.format(c.pk),
            "pk": c.pk,
            "subject": c.subject,
            "kind": c.kind,
            "kind_label": kinds.get(c.kind, c.kind),
            "repeat": repeat if c.is_repeat_contact else "",
            "customer_id": c.customer_id,
            "customer_title": customer_title,
            "customer_name": c.customer.name,
            "status": c.status,
            "status_label": statuses.get(c.status, c.status),
            "owner": c.owner.display_name,
            "next_step": _next_step(c, now) or no_next_step,
            "created_iso": created.isoformat(),  # what |date:"c" wrote
            "created_short": formats.date_format(created, "SHORT_DATE_FORMAT"),
        }


def _next_step(c: Case, now: datetime) -> SafeString | None:
    """The next step's text (40 characters at most) and due time, marked overdue once past."""
    due = getattr(c, "next_step_due", None)
    if due is None:
        return None
    text = Truncator(getattr(c, "next_step_text", None) or "").chars(40)
    when = formats.date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT")
    return format_html(NEXT_STEP, "overdue" if due < now else "", f"{text} · {when}")
