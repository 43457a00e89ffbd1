from __future__ import annotations

import pytest

from steward.customers.models import Customer
from steward.customers.selectors import customer_search, customers_visible_to

pytestmark = pytest.mark.django_db


def test_search_drops_nul_characters_instead_of_failing_on_postgresql(customer):
    assert list(customer_search(Customer.objects.all(), "Som\x00chai")) == [customer]
    assert list(customer_search(Customer.objects.all(), "\x00")) == [customer]
    assert list(customer_search(Customer.objects.all(), "", email="SOMCHAI@example.com\x00")) == [customer]


def test_only_front_line_staff_see_customers(personas, customer):
    for persona in ("adviser", "other_adviser", "manager", "executive"):
        assert list(customers_visible_to(getattr(personas, persona))) == [customer]
    assert not customers_visible_to(personas.sector_member).exists()
