"""Deployment security (issue 10, ASVS V3): Django's deploy checks, the Content-Security-Policy, and
templates free of inline script."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

ROOT = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "STEWARD_DEBUG": "0",
    "STEWARD_SECRET_KEY": secrets.token_urlsafe(50),
    "STEWARD_ALLOWED_HOSTS": "steward.example.org",
    "STEWARD_SSL_REDIRECT": "1",
    "STEWARD_HSTS_SECONDS": "31536000",
    "STEWARD_SECURE_COOKIES": "1",
}


def _check_deploy(**extra: str) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing of the test run (DJANGO_ALLOW_ASYNC_UNSAFE, STEWARD_*) leaks in.
    keep = ("PATH", "HOME", "LANG", "DATABASE_URL", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings", **extra)
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_deploy_check_is_clean_under_production_settings():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_fails_without_hsts():
    result = _check_deploy(STEWARD_HSTS_SECONDS="0")
    assert result.returncode != 0 and "security.W004" in result.stdout + result.stderr


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.django_db
def test_pages_carry_a_policy_without_inline_script(client, adviser):
    client.force_login(adviser)
    for path in ("/en/cases/", "/en/accounts/login/", "/en/portal/sign-in/"):
        response = client.get(path)
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"], path
        assert "'unsafe-inline'" not in policy["style-src"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_api_docs_have_no_inline_script(client):
    cache.clear()
    for path in ("/api/docs/", "/api/redoc/"):
        response = client.get(path)
        assert response.status_code == 200
        assert not INLINE_SCRIPT.search(response.content.decode()), path
        policy = _directives(response["Content-Security-Policy"])
        assert "'unsafe-inline'" not in policy["script-src"]
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=|javascript:", re.I)


def _page_templates() -> list[Path]:
    dirs = [ROOT / "templates", *ROOT.glob("steward/*/templates")]
    return [
        p
        for d in dirs
        for p in d.rglob("*.html")
        if not {"notifications", "mail"} & set(p.parts)  # e-mail bodies: never served as pages
    ]


def test_no_template_has_inline_script_or_event_handlers():
    offenders = []
    for path in _page_templates():
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or INLINE_HANDLER.search(text) or " style=" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"inline script, handler or style (move it to static/): {offenders}"


TEMPLATE_FROM_TEXT = re.compile(
    r"\bTemplate\(|from_string\(|\bengines\[|mark_safe\(|format_html\(\s*[a-z_]+\s*\)"
)


# Reviewed exceptions, each with why it is safe. A new one needs the same review.
MARKS_SAFE_REVIEWED = {
    # The case forms' selects, inputs and textareas rendered in Python for speed (issue 9): every name,
    # value, attribute and label is passed through conditional_escape/format_html before the joined
    # markup is marked safe (the rendered HTML is the same as Django's widget templates).
    "steward/core/widgets.py",
    # includes/form.html written in Python (issue 9): labels, help texts and errors pass through
    # conditional_escape, widgets render themselves; the template stays the reference (test_form_html).
    "steward/core/form_html.py",
    # The case page's history written in Python (issue 9): every value goes through the engine's own
    # conversions and conditional_escape or the escaping filters (linebreaks, linebreaksbr); the
    # template loop stays the reference (cases/tests/test_case_page_html.py).
    "steward/cases/timeline_html.py",
}


def test_no_code_compiles_text_into_a_template_or_marks_it_safe():
    offenders = []
    for path in (ROOT / "steward").rglob("*.py"):
        if "tests" in path.parts or str(path.relative_to(ROOT)) in MARKS_SAFE_REVIEWED:
            continue
        if TEMPLATE_FROM_TEXT.search(path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    for path in _page_templates():
        text = path.read_text()
        if "|safe" in text or "autoescape off" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"user text must never become template code or unescaped HTML: {offenders}"


@pytest.mark.django_db
def test_user_text_is_shown_literally_never_evaluated(
    client, personas, mailoutbox, django_capture_on_commit_callbacks
):
    from steward.cases.services import case_open, case_reply

    p = personas
    trap = "{{ 7|add:3 }} {% now 'Y' %} <script>alert(1)</script>"
    with django_capture_on_commit_callbacks(execute=True):
        case = case_open(
            actor=p.adviser, customer=p.customer, subject=trap, description=trap, owner=p.adviser
        )
        case_reply(actor=p.adviser, case=case, body=trap)
    client.force_login(p.adviser)
    page = client.get(f"/en/cases/{case.pk}/").content.decode()
    assert "{{ 7|add:3 }}" in page and "{% now &#x27;Y&#x27; %}" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    reply_mail = [m for m in mailoutbox if "{{ 7|add:3 }}" in m.body]
    assert reply_mail, [m.subject for m in mailoutbox]
    html = reply_mail[0].alternatives[0][0] if reply_mail[0].alternatives else ""
    assert "<script>alert(1)</script>" not in html
