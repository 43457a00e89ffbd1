from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Action
from .selectors import audit_entries, can_read_audit

PAGE_SIZE = 50


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, 50 a page (managers and administrators; a 404 for others)."""
    if not can_read_audit(request.user):
        raise Http404
    action = request.GET.get("action", "")
    if action not in Action.values:
        action = ""
    actor = request.GET.get("actor", "").strip()[:150]
    page = Paginator(audit_entries(action=action, actor=actor), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "audit/log.html",
        {"page": page, "actions": Action.choices, "action": action, "actor": actor},
    )
