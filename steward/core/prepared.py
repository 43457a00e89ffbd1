"""Statements sent with their values apart from the text, and prepared by psycopg, on PostgreSQL.

Django's PostgreSQL cursors bind on the client: psycopg writes every value into the statement text in
Python, and PostgreSQL parses and plans each text anew. For the statements Steward runs most (the
compiled reads and inserts of every write, steward/core/compiled.py) and the few large ones run with
one changing id (the case page's cost totals: 6.5 ms of planning for 1.5 ms of running at a million
cases; a cost-ledger line: 10 ms for 0.5 ms), that was most of the cost (issue 9).

`bound_cursor` is a cursor that sends the values apart (server-side binding), so the text of a
statement stays the same, and psycopg prepares it on its PREPARE_THRESHOLD-th execution in a database
session; PostgreSQL then plans it generically when that plan is as good (every statement here reads
by ids). psycopg owns every prepared statement of the session: it forgets and deallocates them all on
a rollback and prepares them again (an SQL-level PREPARE of our own did not survive that: psycopg's
DEALLOCATE ALL took it along). Django leaves psycopg's preparing off for its own cursors, which bind
on the client and never prepare, so the threshold set on the connection here applies to these cursors
only. `STEWARD_DB_PREPARED_STATEMENTS=0` (behind a transaction-mode pooler such as PgBouncer, where
sessions are shared) keeps the binding and prepares nothing.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

# psycopg's own default: a statement is prepared on its fifth execution in a session.
PREPARE_THRESHOLD = 5
# The one parameter of the statements fetch_all / execute run, as they write it.
PLACEHOLDER = "$1"


def enabled(db: str) -> bool:
    """Whether `fetch_all` / `execute` apply (PostgreSQL; their SQL is PostgreSQL's)."""
    return connections[db].vendor == "postgresql"


def bound_cursor(connection: Any) -> Any:
    """A cursor binding on the server (PostgreSQL; elsewhere Django's own), wrapped as Django wraps
    its cursors: the query log, the tests' query counts and the execute wrappers see its statements.

    The psycopg cursor under the wrapper is made once per database connection and kept (a write runs
    a dozen statements through here: making and setting up a cursor for each was 18 µs of the 25 µs
    this took); closing the wrapper only lets go of its results."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    kept = connection.__dict__.get(_KEPT)
    if kept is None or kept[0] is not raw or kept[1] != connection.timezone:
        with connection.wrap_database_errors:
            kept = connection.__dict__[_KEPT] = (raw, connection.timezone, _new_cursor(connection, raw))
    return connection._prepare_cursor(kept[2])


# Where bound_cursor keeps its cursor on Django's connection object: (psycopg connection, time zone,
# cursor). A new psycopg connection (a reconnect) or a time zone change (tests) makes a new cursor.
_KEPT = "_steward_bound_cursor"


def _new_cursor(connection: Any, raw: Any) -> Any:
    import psycopg
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    threshold = PREPARE_THRESHOLD if getattr(settings, "STEWARD_DB_PREPARED_STATEMENTS", True) else None
    if raw.prepare_threshold != threshold:
        raw.prepare_threshold = threshold
    cursor: Any = _logged_cursor_class()(raw)
    # As Django's create_cursor: the session's time zone for timestamps, if the connection's differs.
    tzloader = raw.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, Format.TEXT)
    if connection.timezone != getattr(tzloader, "timezone", None):
        register_tzloader(connection.timezone, cursor)
    return cursor


_LOGGED: list[type] = []


def _logged_cursor_class() -> type:
    """psycopg's Cursor, kept open across uses, keeping the statement it ran when that was a prepared
    one too: psycopg notes it only for statements it did not prepare, and Django's query log (debug,
    the tests' query lists) reads it from there; it logged None for every prepared statement."""
    if not _LOGGED:
        import psycopg

        class LoggedCursor(psycopg.Cursor):  # type: ignore[type-arg]
            def _send_query_prepared(self, name: bytes, pgq: Any, *, binary: bool | None = None) -> None:
                self._query = pgq
                super()._send_query_prepared(name, pgq, binary=binary)

            def close(self) -> None:
                """Django's wrapper closes its cursor at the end of each `with`: only the results go
                (the cursor is used again). The psycopg connection's close ends it for good."""
                self._reset()

        _LOGGED.append(LoggedCursor)
    return _LOGGED[0]


def _bound_text(sql: str) -> str:
    """`sql` (every value a literal, its one parameter written `$1`) as psycopg's text: "%" is plain."""
    return sql.replace("%", "%%").replace(PLACEHOLDER, "%(arg)s")


def fetch_all(db: str, sql: str, arg: int) -> list[tuple[Any, ...]]:
    """The rows of `sql` for `arg`: PostgreSQL text whose only parameter is a bigint written `$1`, with
    every other value written in as a literal (so a "%" in it is plain text)."""
    return _run(db, sql, arg, rows=True)


def execute(db: str, sql: str, arg: int) -> None:
    """Run `sql` (as for fetch_all) for `arg`, without rows."""
    _run(db, sql, arg, rows=False)


def _run(db: str, sql: str, arg: int, *, rows: bool) -> list[tuple[Any, ...]]:
    from psycopg.types.numeric import Int8

    with bound_cursor(connections[db]) as cursor:
        cursor.execute(_bound_text(sql), {"arg": Int8(int(arg))})
        return list(cursor.fetchall()) if rows else []
