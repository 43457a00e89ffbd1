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
        # The plan first; then (whether or not autovacuum has analysed the table meanwhile, which
        # adds a read of its size) a count that stops past the cap.
        sqls = [q["sql"] for q in ctx.captured_queries]
        assert "EXPLAIN" in sqls[0] and "LIMIT 6" in sqls[-1]
    else:  # no planner estimate to read: SQLite counts exactly (small installations)
        assert count == 12 and not paginator.estimated
    assert len(paginator.page(1)) == 5


def test_a_plain_list_is_counted_with_len():
    assert CappedCountPaginator(list(range(7)), 5).count == 7


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_list_the_planner_expects_far_over_the_cap_is_not_counted(customers, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CappedCountPaginator, "trust", 1)  # 12 rows planned >= 5 x 1: the estimate is taken
    monkeypatch.setattr("steward.core.pagination._table_rows", lambda qs: 12.0)  # analysed
    paginator = CappedCountPaginator(customers, 5)
    with CaptureQueriesContext(connection) as ctx:
        count = paginator.count
    assert paginator.estimated and count >= 6
    assert "EXPLAIN" in ctx.captured_queries[0]["sql"]
    assert all("LIMIT" not in q["sql"] for q in ctx.captured_queries)  # no count
    assert len(ctx.captured_queries) == 1
    assert [c.name for c in paginator.page(1)] == ["C0", "C1", "C2", "C3", "C4"]
    assert paginator.estimated  # a full page says nothing about the end


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_estimate_under_its_share_of_the_table_is_still_counted(customers, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CappedCountPaginator, "trust", 1)
    monkeypatch.setattr("steward.core.pagination._planner_rows", lambda qs: 100)  # 20 x the cap ...
    monkeypatch.setattr("steward.core.pagination._table_rows", lambda qs: 10_000)  # ... but 1 % of the table
    paginator = CappedCountPaginator(customers.filter(name__in=["C1", "C2"]), 5)
    with CaptureQueriesContext(connection) as ctx:
        assert paginator.count == 2 and not paginator.estimated
    assert "LIMIT 6" in ctx.captured_queries[-1]["sql"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_short_page_makes_an_estimated_count_exact(customers, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CappedCountPaginator, "trust", 1)
    monkeypatch.setattr("steward.core.pagination._planner_rows", lambda qs: 40)  # the planner overestimates
    paginator = CappedCountPaginator(customers, 5)
    assert paginator.count == 40 and paginator.num_pages == 8 and paginator.estimated
    page = paginator.page(3)  # rows 10-11 of 12: the end of the list
    assert [c.name for c in page] == ["C10", "C11"]
    assert paginator.count == 12 and paginator.num_pages == 3 and not paginator.estimated
    assert not page.has_next()

    paginator = CappedCountPaginator(customers, 5)
    assert paginator.get_page(5).object_list == [] and paginator.estimated  # past the end: still unknown
    paginator = CappedCountPaginator(customers.filter(name="nobody"), 5)
    assert len(paginator.page(1)) == 0 and paginator.count == 0 and not paginator.estimated


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_table_row_count_is_read_once_a_minute(customers, monkeypatch):
    from steward.core import pagination

    monkeypatch.setattr(pagination, "_TABLE_ROWS", {})
    with CaptureQueriesContext(connection) as ctx:
        first = pagination._table_rows(customers)
        assert pagination._table_rows(customers) == first
    assert len(ctx.captured_queries) == 1 and "pg_class" in ctx.captured_queries[0]["sql"]
    monkeypatch.setattr(pagination, "TABLE_ROWS_SECONDS", 0.0)
    with CaptureQueriesContext(connection) as ctx:
        pagination._table_rows(customers)
    assert len(ctx.captured_queries) == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_table_never_analysed_is_counted(customers, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    monkeypatch.setattr(CappedCountPaginator, "trust", 1)
    monkeypatch.setattr("steward.core.pagination._planner_rows", lambda qs: 100)
    monkeypatch.setattr("steward.core.pagination._table_rows", lambda qs: -1.0)  # reltuples before ANALYZE
    paginator = CappedCountPaginator(customers, 5)
    assert paginator.count == 100 and paginator.estimated  # over the cap: the estimate, but after counting
    paginator = CappedCountPaginator(customers.filter(name="C3"), 5)
    assert paginator.count == 1 and not paginator.estimated
