"""The OpenAPI schema: valid, warning-free, public (it describes the API, it holds no data)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command
from rest_framework.test import APIClient


def test_openapi_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_schema_and_docs_are_served_to_anonymous_and_signed_in_callers(client, adviser):
    cache.clear()  # the anonymous throttle counts in the cache
    pages = ["/api/schema/", "/api/docs/", "/api/redoc/"]
    assert [client.get(p).status_code for p in pages] == [200, 200, 200]
    client.force_login(adviser)
    assert [client.get(p).status_code for p in pages] == [200, 200, 200]


@pytest.fixture
def schema(db, adviser) -> dict:
    client = APIClient()
    client.force_authenticate(adviser)
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _codes(schema: dict, path: str, method: str) -> set[str]:
    return set(schema["paths"][path][method]["responses"])


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/cases/", "get", {"200", "400"}),
        ("/api/v1/cases/", "post", {"201", "400"}),
        ("/api/v1/cases/{id}/", "get", {"200", "404"}),
        ("/api/v1/cases/{id}/messages/", "post", {"201", "400", "403", "404", "409"}),
        ("/api/v1/cases/{id}/notes/", "post", {"201", "400", "403", "404"}),
        ("/api/v1/cases/{id}/handoffs/", "post", {"201", "400", "403", "404", "409"}),
        ("/api/v1/cases/{id}/commitments/", "post", {"201", "400", "403", "404"}),
        ("/api/v1/cases/{id}/commitments/{commitment_id}/resolve/", "post", {"200", "400", "403", "404"}),
        ("/api/v1/cases/{id}/propose/", "post", {"200", "400", "403", "404", "409"}),
        ("/api/v1/cases/{id}/confirm/", "post", {"200", "400", "403", "404"}),
        ("/api/v1/cases/{id}/close-unconfirmed/", "post", {"200", "400", "403", "404"}),
        ("/api/v1/cases/{id}/reopen/", "post", {"200", "400", "403", "404"}),
        ("/api/v1/cases/{id}/status/", "post", {"200", "400", "403", "404", "409"}),
        ("/api/v1/cases/{id}/events/", "get", {"200", "404"}),
        ("/api/v1/customers/", "get", {"200", "400"}),
        ("/api/v1/customers/", "post", {"201", "400", "403"}),
        ("/api/v1/customers/{id}/", "get", {"200", "404"}),
        ("/api/v1/auth/token/", "post", {"200", "400", "429"}),
    ],
)
def test_schema_documents_the_error_answers_each_endpoint_gives(schema, path, method, codes):
    operation = schema["paths"][path][method]
    common = {"429"} | ({"401"} if operation.get("security") else set())
    common |= {"415"} if "requestBody" in operation else set()
    assert _codes(schema, path, method) == codes | common


def test_every_operation_documents_the_answers_of_authentication_throttle_and_parsers(schema):
    """401 (not for the token endpoint, which asks none), 429, and 415 where a body is read."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "429" in codes, (path, method)
            assert ("401" in codes) == (path != "/api/v1/auth/token/"), (path, method)
            assert ("415" in codes) == ("requestBody" in operation), (path, method)


def test_schema_lists_the_case_filters_and_multipart_replies(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/cases/"]["get"]["parameters"]}
    assert {"scope", "status", "kind", "owner", "customer", "sector", "overdue", "q", "cursor"} <= params
    reply = schema["paths"]["/api/v1/cases/{id}/messages/"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(reply)


def test_schema_offers_token_and_session_auth(schema):
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
