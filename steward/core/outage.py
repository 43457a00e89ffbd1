"""The database went away: answer 503 with Retry-After instead of a 500, and let the app recover.

When PostgreSQL restarts (a failover, an upgrade, a crash) every request that needs it fails until it
is back. Those requests get a clear "temporarily unavailable" answer the client can act on: an HTML
page for people, JSON for the API, both translated, with a Retry-After header. Nothing is retried
here: a write whose request failed was not acknowledged, and the client may send it again.

Recovery needs no restart: persistent connections are checked before reuse (CONN_HEALTH_CHECKS in
settings) and Django closes a connection that raised an error at the end of the request, so the
first request after the server is back opens a fresh connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def is_database_outage(exc: BaseException | None) -> bool:
    """True for a lost or refused database connection (and other transient server-side failures).

    psycopg reports a refused connection, a connection closed by a restart ("terminating connection
    due to administrator command", "server closed the connection unexpectedly") and a shut-down
    server as OperationalError; a connection already closed is an InterfaceError. Django wraps both.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # A failure while Django rolled back or closed a broken connection arrives as a DatabaseError
    # whose cause is one of the above.
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return isinstance(cause, OperationalError | InterfaceError)


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer. Renders without the request context: the context processors read the database."""
    retry_after = str(settings.STEWARD_DB_RETRY_AFTER)
    message = _(
        "The service is briefly unavailable (the database cannot be reached). Please try again in a moment."
    )
    response: HttpResponse
    if wants_json(request):
        response = JsonResponse({"detail": message, "code": "service_unavailable"}, status=503)
    else:
        html = render_to_string("503.html", {"message": message, "retry_after": retry_after})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    return response


def _drop_broken_connections() -> None:
    """Close connections that errored now rather than at the end of the request: nothing later in
    this request (middleware saving the session) should wait on a dead socket again."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred and not conn.is_usable():
            conn.close()


def answer_outage(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.warning("Database unavailable for %s %s: %s", request.method, request.path, exc)
    with suppress(DatabaseError):  # closing a dead connection may itself fail; it is gone either way
        _drop_broken_connections()
    return database_unavailable(request)


class DatabaseOutageMiddleware:
    """A view that found the database gone answers 503 (see the module docstring).

    Errors raised outside views (a middleware saving the session) reach handler500, which answers
    the same way (steward.core.views.server_error).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return answer_outage(request, exception)
        return None
