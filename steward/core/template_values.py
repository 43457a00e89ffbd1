"""`{{ value }}` as Django's template engine writes it, for the pages and mails written in Python
(issue 9: cases/timeline_html.py, notifications/mail_bodies.py): render_value_in_context's local
time and localisation, then, in HTML, conditional_escape. One definition, so the two stay the engine's."""

from __future__ import annotations

from typing import Any

from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]


def as_text(value: Any) -> str:
    """`{{ value }}` with autoescape off (plain-text mails)."""
    return str(localize(template_localtime(value)))


def as_html(value: Any) -> str:
    """`{{ value }}` with autoescape on."""
    value = localize(template_localtime(value))
    return conditional_escape(value if isinstance(value, str) else str(value))
