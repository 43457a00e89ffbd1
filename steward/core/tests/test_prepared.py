"""Statements bound on the server and prepared by psycopg (steward/core/prepared.py)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from steward.core import prepared

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the tests close the connection: no test transaction
    pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side binding is PostgreSQL's"),
]

SQL = "SELECT $1 * 2, 'a % b', 100 / ($1 - 5)"  # a "%" that is no placeholder; 5 divides by zero


def _prepared_here() -> bool:
    """Whether this session holds a prepared statement of SQL (psycopg names them itself)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return any("'a % b'" in row[0] for row in cursor.fetchall())


def test_the_statement_gives_the_rows_of_the_plain_query_and_is_prepared_after_a_few_runs():
    connection.close()
    for n, arg in enumerate([6, 7, 15, 6, 8, 9, 10, 11, 2**40]):
        assert prepared.fetch_all("default", SQL, arg) == [(arg * 2, "a % b", 100 // (arg - 5))]
        assert _prepared_here() == (n >= prepared.PREPARE_THRESHOLD)  # counted, then prepared


def test_a_rollback_drops_the_prepared_statements_and_they_are_prepared_again():
    """psycopg deallocates every statement it prepared on a rollback: nothing may still count on one
    (an SQL-level PREPARE of ours did, and the next execution failed)."""
    connection.close()
    for arg in range(6, 7 + prepared.PREPARE_THRESHOLD):
        prepared.fetch_all("default", SQL, arg)
    assert _prepared_here()
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared.fetch_all("default", SQL, 5)  # division by zero: the transaction is rolled back
    for arg in range(6, 6 + 2 * prepared.PREPARE_THRESHOLD):
        assert prepared.fetch_all("default", SQL, arg) == [(arg * 2, "a % b", 100 // (arg - 5))]
    assert _prepared_here()


def test_the_setting_keeps_the_binding_and_prepares_nothing(settings):
    settings.STEWARD_DB_PREPARED_STATEMENTS = False
    connection.close()
    for arg in range(6, 16):
        assert prepared.fetch_all("default", SQL, arg) == [(arg * 2, "a % b", 100 // (arg - 5))]
    assert not _prepared_here()


def test_the_bound_cursor_is_counted_like_djangos_own(django_assert_num_queries):
    with django_assert_num_queries(1):
        prepared.fetch_all("default", SQL, 6)


def test_a_prepared_statement_is_in_the_query_log_with_its_text(settings):
    from django.test.utils import CaptureQueriesContext

    connection.close()
    with CaptureQueriesContext(connection) as ctx:
        for arg in range(6, 8 + prepared.PREPARE_THRESHOLD):
            prepared.fetch_all("default", SQL, arg)
    assert _prepared_here()
    assert all("'a % b'" in (q["sql"] or "") for q in ctx.captured_queries)


def test_the_cursor_is_kept_across_uses_and_made_anew_for_a_new_connection():
    connection.close()
    with prepared.bound_cursor(connection) as first:
        first.execute("SELECT %s::int", [1])
        assert first.fetchall() == [(1,)]
    with prepared.bound_cursor(connection) as second:
        assert second.cursor is first.cursor  # the same psycopg cursor, still usable after the `with`
        second.execute("SELECT %s::int", [2])
        assert second.fetchall() == [(2,)]
        assert second.rowcount == 1
    connection.close()  # a reconnect
    with prepared.bound_cursor(connection) as third:
        assert third.cursor is not first.cursor
        third.execute("SELECT %s::int", [3])
        assert third.fetchall() == [(3,)]


def test_an_error_leaves_the_kept_cursor_usable():
    connection.close()
    with pytest.raises(DatabaseError), prepared.bound_cursor(connection) as cursor:
        cursor.execute("SELECT 1 / %s::int", [0])
    assert prepared.fetch_all("default", "SELECT $1 + 1", 1) == [(2,)]
