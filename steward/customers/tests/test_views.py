from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from steward.customers.models import Customer
from steward.customers.services import customer_create

pytestmark = pytest.mark.django_db


def test_staff_search_customers_and_open_their_page(client, adviser, customer, case):
    client.force_login(adviser)
    body = client.get("/en/customers/", {"q": "somchai"}).content.decode()
    assert customer.name in body
    page = client.get(f"/en/customers/{customer.pk}/").content.decode()
    assert case.subject in page and f"/en/cases/new/?customer={customer.pk}" in page


def test_customer_page_lists_only_cases_the_user_may_see(client, other_adviser, customer, case):
    client.force_login(other_adviser)
    page = client.get(f"/en/customers/{customer.pk}/").content.decode()
    assert case.subject not in page


def test_sector_member_cannot_list_see_or_add_customers(client, sector_member, customer):
    client.force_login(sector_member)
    assert customer.name not in client.get("/en/customers/").content.decode()
    assert client.get(f"/en/customers/{customer.pk}/").status_code == 404
    assert client.post("/en/customers/new/", {"name": "X", "language": "en"}).status_code == 403


def test_add_customer_and_duplicate_email_is_refused(client, adviser, customer):
    client.force_login(adviser)
    r = client.post("/en/customers/new/", {"name": "Ana Ruiz", "email": "ana@example.com", "language": "es"})
    assert r.status_code == 302 and Customer.objects.filter(name="Ana Ruiz", language="es").exists()
    r = client.post("/en/customers/new/", {"name": "Copy", "email": customer.email, "language": "en"})
    assert r.status_code == 400 and "already exists" in r.content.decode()


def test_customer_list_query_count_is_constant(client, adviser):
    client.force_login(adviser)
    for i in range(10):
        customer_create(actor=None, name=f"Customer {i}")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get("/en/customers/")
        return len(ctx)

    ten = count()
    for i in range(20):
        customer_create(actor=None, name=f"More {i}")
    assert count() == ten


def test_new_case_form_is_prefilled_with_the_customer(client, adviser, customer):
    client.force_login(adviser)
    body = client.get(f"/en/cases/new/?customer={customer.pk}").content.decode()
    assert f'<option value="{customer.pk}" selected>' in body
