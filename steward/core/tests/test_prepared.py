"""Statements prepared once per PostgreSQL session (steward/core/prepared.py)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from steward.core import prepared

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the tests close the connection: no test transaction
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's"),
]

SQL = "SELECT $1 * 2, 'a % b', 100 / ($1 - 5)"  # a "%" that is no placeholder; 5 divides by zero


def _names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_the_statement_is_prepared_once_and_gives_the_rows_of_the_plain_query():
    name = prepared.statement_name(SQL)
    for arg in [6, 7, 15, 6, 8, 9, 10, 11]:  # past the five custom plans
        assert prepared.fetch_all("default", SQL, arg) == [(arg * 2, "a % b", 100 // (arg - 5))]
        assert name in _names()


def test_a_new_session_prepares_it_again():
    assert prepared.fetch_all("default", SQL, 6) == [(12, "a % b", 100)]
    connection.close()  # the test's transaction goes with it; the next query opens a new session
    assert prepared.statement_name(SQL) not in _names()
    assert prepared.fetch_all("default", SQL, 7) == [(14, "a % b", 50)]
    assert prepared.statement_name(SQL) in _names()


def test_after_a_failed_first_execution_it_asks_the_server_whether_the_prepare_took():
    connection.close()
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared.fetch_all("default", SQL, 5)  # PREPARE and EXECUTE in one text: the EXECUTE fails
    session = prepared._sessions[connection.connection]
    assert session[prepared.statement_name(SQL)] is False
    assert prepared.fetch_all("default", SQL, 6) == [(12, "a % b", 100)]  # no second PREPARE error
    assert session[prepared.statement_name(SQL)] is True
    session[prepared.statement_name(SQL)] = False  # unknown, and truly missing: prepared again
    with connection.cursor() as cursor:
        cursor.execute(f"DEALLOCATE {prepared.statement_name(SQL)}")
    assert prepared.fetch_all("default", SQL, 7) == [(14, "a % b", 50)]


def test_the_setting_turns_it_off(settings):
    assert prepared.enabled("default")
    settings.STEWARD_DB_PREPARED_STATEMENTS = False
    assert not prepared.enabled("default")
