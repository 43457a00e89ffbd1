import sys

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .outage import answer_outage, is_database_outage


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Called inside Django's `except` for an uncaught error: a database outage outside a view (a
    # middleware, the session save) is a 503 with Retry-After like one inside a view.
    exc = sys.exc_info()[1]
    if is_database_outage(exc):
        return answer_outage(request, exc)  # type: ignore[arg-type]
    return render(request, "500.html", status=500)
