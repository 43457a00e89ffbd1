"""Where a customer goes after signing in: a portal page they asked for, never anywhere else.

The target (`next`) travels in the sign-in URL, the form and the sign-in token, so every hop is
untrusted input: it must be a relative URL on this site (Django's own check) and resolve to one of
the portal pages a customer may open with GET. Anything else, including the agent workspace, the
sign-in pages themselves and other sites, is refused and the customer lands on their case list.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 300  # the longest portal page path is far shorter; longer is not ours
TARGETS = frozenset({"cases", "case", "case_new"})  # portal pages shown on GET


def safe_next(value: str | None) -> str | None:
    """The portal path to go to, normalised (no query, no fragment), or None when it is not safe."""
    if not value or len(value) > MAX_LENGTH or not value.startswith("/") or value.startswith("//"):
        return None
    # No host at all is allowed: only a path on this site passes, never "//evil" or "https://evil".
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False):
        return None
    path = urlsplit(value).path
    language = translation.get_language_from_path(path)
    if language is None:
        return None
    try:
        # Resolve with the path's own language active: i18n URL prefixes only match the active one.
        with translation.override(language):
            match = resolve(path)
            if match.namespace != "portal" or match.url_name not in TARGETS:
                return None
            normalised = reverse(f"portal:{match.url_name}", kwargs=match.kwargs)
    except Resolver404:
        return None
    return normalised


def in_language(path: str, language: str) -> str:
    """The same safe portal page under another language prefix (the customer's own)."""
    with translation.override(translation.get_language_from_path(path) or language):
        match = resolve(path)
    with translation.override(language):
        return reverse(f"portal:{match.url_name}", kwargs=match.kwargs)
