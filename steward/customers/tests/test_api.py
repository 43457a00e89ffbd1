"""REST API for customers: front-line staff list, find and add them; sector members see none."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from steward.customers.models import Customer
from steward.customers.services import customer_create

pytestmark = pytest.mark.django_db


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def api(adviser) -> APIClient:
    return as_user(adviser)


def names(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {c["name"] for c in response.json()["results"]}


@pytest.mark.parametrize("persona", ["adviser", "manager", "executive"])
def test_front_line_staff_list_and_open_customers(personas, persona, customer):
    client = as_user(getattr(personas, persona))
    assert names(client.get("/api/v1/customers/")) == {customer.name}
    body = client.get(f"/api/v1/customers/{customer.pk}/").json()
    assert body == {
        "id": customer.pk,
        "name": "Somchai Jaidee",
        "email": "somchai@example.com",
        "phone": "",
        "language": "th",
        "organisation": "",
        "created_at": body["created_at"],
    }


def test_sector_members_see_no_customers_and_a_customer_is_a_404_for_them(sector_member, customer):
    client = as_user(sector_member)
    assert names(client.get("/api/v1/customers/")) == set()
    hidden = client.get(f"/api/v1/customers/{customer.pk}/")
    missing = client.get("/api/v1/customers/999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_anonymous_callers_get_a_401(customer):
    assert APIClient().get("/api/v1/customers/").status_code == 401
    assert APIClient().get(f"/api/v1/customers/{customer.pk}/").status_code == 401


def test_customers_are_found_by_text_or_exact_email(api, customer):
    customer_create(actor=None, name="Ana Ruiz", email="ana@example.com", phone="+34 600 000 000")
    assert names(api.get("/api/v1/customers/", {"q": "ruiz"})) == {"Ana Ruiz"}
    assert names(api.get("/api/v1/customers/", {"q": "600 000"})) == {"Ana Ruiz"}
    assert names(api.get("/api/v1/customers/", {"q": "example.com"})) == {"Ana Ruiz", customer.name}
    assert names(api.get("/api/v1/customers/", {"email": "ANA@example.com"})) == {"Ana Ruiz"}
    assert names(api.get("/api/v1/customers/", {"email": "ana@"})) == set()


@pytest.mark.parametrize(("params", "field"), [({"q": "a\x00b"}, "q"), ({"email": "x" * 255}, "email")])
def test_bad_customer_filters_are_400s_naming_the_filter(api, params, field):
    r = api.get("/api/v1/customers/", params)
    assert r.status_code == 400 and field in r.json()


@pytest.mark.parametrize("customer_id", ["abc", str(2**70), "-1"])
def test_malformed_customer_ids_are_404s(api, customer_id):
    assert api.get(f"/api/v1/customers/{customer_id}/").status_code == 404


def test_customer_list_is_cursor_paginated(api, customer):
    for i in range(4):
        customer_create(actor=None, name=f"Customer {i}")
    seen: list[int] = []
    page = api.get("/api/v1/customers/", {"page_size": 2}).json()
    while True:
        seen += [c["id"] for c in page["results"]]
        if not page["next"]:
            break
        page = api.get(page["next"]).json()
    assert sorted(seen) == sorted(Customer.objects.values_list("pk", flat=True))


def _list_queries(client: APIClient) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/customers/", {"page_size": 200}).status_code == 200
    return len(ctx)


def test_customer_list_query_count_is_the_same_for_10_and_100_rows(api, customer):
    for i in range(9):
        customer_create(actor=None, name=f"Customer {i}")
    ten = _list_queries(api)
    for i in range(90):
        customer_create(actor=None, name=f"More {i}")
    assert Customer.objects.count() == 100
    assert _list_queries(api) == ten


def test_customer_create_stores_a_customer_and_refuses_a_duplicate_email(api, customer):
    r = api.post("/api/v1/customers/", {"name": "Dup", "email": customer.email.upper()}, format="json")
    assert r.status_code == 400 and "email" in r.json()
    r = api.post(
        "/api/v1/customers/", {"name": "New one", "email": "New@Example.com", "language": "es"}, format="json"
    )
    assert r.status_code == 201
    assert r.json()["email"] == "new@example.com" and r.json()["language"] == "es"
    assert Customer.objects.filter(name="New one", language="es").exists()


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "X", "email": "not an address"}, {"email"}),
        ({"name": "X", "language": "klingon"}, {"language"}),
        ({"name": ["X"], "phone": "1" * 41}, {"name", "phone"}),
    ],
)
def test_malformed_customer_payloads_are_400s_with_field_messages(api, payload, fields):
    before = Customer.objects.count()
    r = api.post("/api/v1/customers/", payload, format="json")
    assert r.status_code == 400 and fields <= set(r.json())
    assert Customer.objects.count() == before


def test_sector_member_cannot_create_customers(sector_member):
    r = as_user(sector_member).post("/api/v1/customers/", {"name": "X"}, format="json")
    assert r.status_code == 403
    assert not Customer.objects.filter(name="X").exists()
