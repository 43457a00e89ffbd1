"""CappedCountPaginator: exact counts for small lists, a bounded cost (and "about") for huge ones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from steward.core.pagination import CappedCountPaginator
from steward.customers.models import Customer


@pytest.fixture
def customers(db):
    Customer.objects.bulk_create(Customer(name=f"C{i}", email=f"c{i}@example.com") for i in range(12))
    return Customer.objects.order_by("pk")


def test_a_list_under_the_cap_is_counted_exactly(customers):
    paginator = CappedCountPaginator(customers, 5)
    assert paginator.count == 12 and paginator.num_pages == 3 and not paginator.estimated
    assert [c.name for c in paginator.page(3)] == ["C10", "C11"]


def test_a_list_over_the_cap_never_counts_the_whole_table(customers, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    paginator = CappedCountPaginator(customers, 5)
    with CaptureQueriesContext(connection) as ctx:
        count = paginator.count
    if connection.vendor == "postgresql":
        assert paginator.estimated and count >= 6
        assert "LIMIT 6" in ctx.captured_queries[0]["sql"] and "EXPLAIN" in ctx.captured_queries[1]["sql"]
    else:  # no planner estimate to read: SQLite counts exactly (small installations)
        assert count == 12 and not paginator.estimated
    assert len(paginator.page(1)) == 5


def test_a_plain_list_is_counted_with_len():
    assert CappedCountPaginator(list(range(7)), 5).count == 7
