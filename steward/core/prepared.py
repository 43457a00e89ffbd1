"""Named prepared statements on PostgreSQL, for the few large queries run with one changing id.

The case page's cost totals are one UNION ALL of every kind of ledger line: PostgreSQL spent 6.5 ms
planning it and 1.5 ms running it for each case page at a million cases (issue 9). Prepared once per
database session, it is planned with a generic plan after PostgreSQL's first five executions (every
part is an index lookup by the case id, so the generic plan is the custom one), and then only runs.

Django turns psycopg's own statement cache off (a transaction-mode pooler such as PgBouncer hands each
transaction a different server session), so the statement is prepared here with SQL's PREPARE, once per
psycopg connection (one database session; a reconnection is a new object, so it is prepared again). A
prepared statement outlives a rolled-back transaction. `STEWARD_DB_PREPARED_STATEMENTS=0` turns this
off (behind such a pooler): the query is then sent whole each time, as before.

The first execution on a session sends "PREPARE …; EXECUTE …" as one statement text (one round trip,
one query in the counts); if it fails, whether the PREPARE took is unknown, so the next call asks
pg_prepared_statements once.
"""

from __future__ import annotations

import hashlib
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import connections

PLACEHOLDER = "$1"

# psycopg connection -> {statement name: True (prepared) | False (unknown: a PREPARE may have failed)}
_sessions: WeakKeyDictionary[Any, dict[str, bool]] = WeakKeyDictionary()


def enabled(db: str) -> bool:
    return connections[db].vendor == "postgresql" and bool(
        getattr(settings, "STEWARD_DB_PREPARED_STATEMENTS", True)
    )


def statement_name(sql: str) -> str:
    return "steward_" + hashlib.sha256(sql.encode()).hexdigest()[:20]


def fetch_all(db: str, sql: str, arg: int) -> list[tuple[Any, ...]]:
    """The rows of `sql` for `arg`: PostgreSQL text whose only parameter is a bigint written `$1`, with
    every other value written in as a literal (no psycopg placeholder, so a "%" in it is plain text)."""
    arg = int(arg)  # written into the statement text: an int only
    connection = connections[db]
    name = statement_name(sql)
    with connection.cursor() as cursor:
        session = _sessions.setdefault(connection.connection, {})
        state = session.get(name)
        if state is False:
            cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [name])
            state = session[name] = cursor.fetchone() is not None
        if state:
            cursor.execute(f"EXECUTE {name}({arg})")
            return list(cursor.fetchall())
        session[name] = False  # until the PREPARE is known to have taken
        cursor.execute(f"PREPARE {name}(bigint) AS {sql}; EXECUTE {name}({arg})")
        session[name] = True
        cursor.nextset()  # the PREPARE's result first, then the rows
        return list(cursor.fetchall())
