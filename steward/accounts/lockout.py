"""What a locked-out sign-in gets: JSON for API clients, the lockout page for people."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    if request.path.startswith("/api/"):
        message = _("Too many failed sign-in attempts. Try again in 15 minutes.")
        return JsonResponse({"detail": message}, status=429)
    return render(request, "accounts/locked_out.html", status=429)
