"""A database outage answers 503 with Retry-After (HTML for people, JSON for the API), translated.

The real outage (a PostgreSQL cluster restarted under load) is steward/core/tests/test_fault_database.py;
these check the answers themselves, on any database.
"""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.utils import translation

from steward.core.outage import DatabaseOutageMiddleware, is_database_outage
from steward.core.views import server_error


def _raise(exc: Exception):
    def view(request: HttpRequest) -> HttpResponse:
        raise exc

    return view


def _process(request: HttpRequest, exc: Exception) -> HttpResponse | None:
    middleware = DatabaseOutageMiddleware(_raise(exc))
    return middleware.process_exception(request, exc)


def test_api_request_gets_json_503_with_retry_after(settings) -> None:
    settings.STEWARD_DB_RETRY_AFTER = 7
    request = RequestFactory().post("/api/v1/cases/")
    response = _process(request, OperationalError("connection refused"))
    assert response is not None and response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Content-Type"] == "application/json"
    assert b"service_unavailable" in response.content


def test_page_request_gets_translated_html_503() -> None:
    request = RequestFactory().get("/cases/")
    with translation.override("es"):
        response = _process(request, InterfaceError("connection already closed"))
    assert response is not None and response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response.has_header("Retry-After")
    assert b"<h1>" in response.content and b'lang="es"' in response.content


def test_other_errors_are_left_to_the_500_handler() -> None:
    request = RequestFactory().get("/cases/")
    assert _process(request, ValueError("a bug")) is None
    assert not is_database_outage(ValueError("a bug"))


def test_outage_outside_a_view_is_a_503_too() -> None:
    """handler500 runs inside Django's `except`: an outage raised by a middleware is answered 503."""
    request = RequestFactory().get("/cases/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response.has_header("Retry-After")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


@pytest.mark.django_db
def test_whole_stack_answers_503(client, adviser, monkeypatch) -> None:
    """Through the middleware stack and DRF: a view losing the database answers 503, not 500."""
    from steward.cases.api import CaseViewSet

    def broken(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(CaseViewSet, "list", broken)
    client.raise_request_exception = False
    client.force_login(adviser)
    response = client.get("/api/v1/cases/")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response.has_header("Retry-After")
