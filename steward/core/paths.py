"""Addresses of pages, reversed once per page and language, then filled in (issue 9: every mail links
the case's portal page and the customer's list; Django's reverse walks the URL patterns each time, about
70 µs a link)."""

from __future__ import annotations

import re

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation

# What a filled-in value may be: nothing reverse would quote or refuse (portal keys, ids).
_PLAIN = re.compile(r"[A-Za-z0-9_-]+\Z")
_TEMPLATES: dict[tuple[object, ...], str] = {}


def _placeholder(name: str) -> str:
    return f"zqxsteward{name}zqx"


def localized_path(viewname: str, language: str, **kwargs: str | int) -> str:
    """What `reverse(viewname, kwargs=kwargs)` gives with `language` active (the language prefix of
    i18n_patterns), from a template reversed once per page, language, URL configuration, script
    prefix and argument names. A value that is not plain (letters, digits, "_", "-") is reversed."""
    values = {name: str(value) for name, value in kwargs.items()}
    if not all(_PLAIN.match(value) for value in values.values()):
        with translation.override(language):
            return reverse(viewname, kwargs=kwargs)
    key = (viewname, language, get_urlconf(), get_script_prefix(), tuple(sorted(values)))
    template = _TEMPLATES.get(key)
    if template is None:
        with translation.override(language):
            template = reverse(viewname, kwargs={name: _placeholder(name) for name in values})
        _TEMPLATES[key] = template
    for name, value in values.items():
        template = template.replace(_placeholder(name), value)
    return template
