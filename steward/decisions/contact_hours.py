"""The hourly contact rollup (models.ContactHour): kept as messages and notes arrive, rebuilt in one pass.

Why: the assessment's history (forecast.py) counted every message of the team's last 8 weeks on each run
(0.8 s at 1,000,000 cases, growing with traffic). The rollup holds the same counts per team, UTC clock
hour, channel and case kind; forecast_rollup.history() reads it (the figures of forecast.demand /
handling_times / contact_rates, the reference, compared in tests/test_contact_hours.py).

Maintenance, one statement in the transaction of the write (called from steward.cases.services):
- `count()`: a customer's non-automatic message (case_open's first message, case_receive_message), a
  reply or proposed solution (outbound), a note. Automatic messages count nowhere.
- `move_case()`: a handoff to an adviser of another team moves the case's counts to that team (the
  straight queries join the case's team as it is now).
Nothing else changes a count: messages and notes are never deleted (personal-data erasure blanks their
text and keeps the rows), a case's channel and kind never change. A deleted team leaves its cases with
no team; its rows keep its id, which no team reuses, and the total over every team (team None) is
unchanged. Bulk loads (generate_load_data, bench_assess) call `rebuild()` (rollups.rebuild_all does).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec

from django.db import connection, transaction
from django.db.models import Count, F, IntegerField, Q, Value
from django.db.models.functions import Coalesce, TruncHour

from steward.cases.models import Direction, Message, Note
from steward.core.prepared import bound_cursor

from .models import ContactHour

P = ParamSpec("P")
HOUR = timedelta(hours=1)
COUNTERS = ("contacts", "follow_ups", "replies", "notes")
NO_TEAM = 0


def hour_floor(at: datetime) -> datetime:
    """The start of the UTC clock hour `at` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _table() -> str:
    return connection.ops.quote_name(ContactHour._meta.db_table)


_UPSERT_SQL: dict[tuple[str, str], str] = {}  # built once per source and database: every write asks


def _upsert_sql(source: str) -> str:
    key = (source, connection.vendor)
    sql = _UPSERT_SQL.get(key)
    if sql is None:
        t = _table()
        add = ", ".join(f"{c} = {t}.{c} + excluded.{c}" for c in COUNTERS)
        sql = _UPSERT_SQL[key] = (
            f"INSERT INTO {t} (team_id, hour, channel, kind, {', '.join(COUNTERS)}) {source} "
            f"ON CONFLICT (team_id, hour, channel, kind) DO UPDATE SET {add}"
        )
    return sql


def count_statement(
    *,
    team_id: int | None,
    at: datetime,
    channel: str,
    kind: str,
    contacts: int = 0,
    follow_ups: int = 0,
    replies: int = 0,
    notes: int = 0,
) -> tuple[str, list[Any]]:
    """The statement adding one write's counts to its hour, and its parameters: run by `count`, or as
    part of a caller's own statement (an opened case's rows are one statement on PostgreSQL:
    cases/opening.py)."""
    hour = connection.ops.adapt_datetimefield_value(hour_floor(at))
    params = [team_id or NO_TEAM, hour, channel, kind, contacts, follow_ups, replies, notes]
    return _upsert_sql("VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"), params


def execute(statement: tuple[str, list[Any]]) -> None:
    """Run a `count_statement` (ONE statement; the caller's transaction holds it)."""
    sql, params = statement
    with bound_cursor(connection) as cur:  # one text for every write: prepared (core/prepared.py)
        cur.execute(sql, params)


def _run_at_once(statement: Callable[P, tuple[str, list[Any]]]) -> Callable[P, None]:
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        execute(statement(*args, **kwargs))

    return run


# Add one write's counts to its hour: `count_statement`'s arguments, its statement run at once.
count = _run_at_once(count_statement)


# ------------------------------------------------------------------ one case, every hour (handoff, rebuild)


def _message_rows(messages: Any) -> Any:
    """(t, h, ch, k, c, f, r, n) = team, hour, channel, kind, contacts, follow-ups, replies, notes of the
    non-automatic messages."""
    inbound = Q(direction=Direction.INBOUND)
    return (
        messages.filter(is_automatic=False)
        .annotate(
            t=Coalesce("case__team_id", Value(NO_TEAM), output_field=IntegerField()),
            h=TruncHour("created_at", tzinfo=UTC),
            ch=F("channel"),
            k=F("case__kind"),
        )
        .values("t", "h", "ch", "k")
        .annotate(
            c=Count("pk", filter=inbound),
            f=Count("pk", filter=inbound & Q(created_at__gt=F("case__created_at"))),
            r=Count("pk", filter=Q(direction=Direction.OUTBOUND)),
            n=Value(0, output_field=IntegerField()),
        )
        .order_by()
    )


def _note_rows(notes: Any) -> Any:
    """The same columns for notes (counted on the case's channel)."""
    return (
        notes.annotate(
            t=Coalesce("case__team_id", Value(NO_TEAM), output_field=IntegerField()),
            h=TruncHour("created_at", tzinfo=UTC),
            ch=F("case__channel"),
            k=F("case__kind"),
        )
        .values("t", "h", "ch", "k")
        .annotate(
            c=Value(0, output_field=IntegerField()),
            f=Value(0, output_field=IntegerField()),
            r=Value(0, output_field=IntegerField()),
            n=Count("pk"),
        )
        .order_by()
    )


_COLS = ("t", "h", "ch", "k", "c", "f", "r", "n")


def _summed_sql(messages: Any, notes: Any, *, team: bool) -> tuple[str, list[Any]]:
    """One SELECT of both sources summed per key (unique keys: an upsert meets each row once)."""
    m_sql, m_params = _message_rows(messages).query.sql_with_params()
    n_sql, n_params = _note_rows(notes).query.sql_with_params()
    names = ", ".join(f"m.{c}" for c in _COLS)
    keys = "u.t, u.h, u.ch, u.k" if team else "u.h, u.ch, u.k"
    sql = (
        f"SELECT {keys}, SUM(u.c) AS c, SUM(u.f) AS f, SUM(u.r) AS r, SUM(u.n) AS n FROM ("
        f"SELECT {names} FROM ({m_sql}) m UNION ALL SELECT {names.replace('m.', 'x.')} FROM ({n_sql}) x"
        # WHERE 1 = 1: SQLite needs a WHERE before an upsert's ON CONFLICT that follows a SELECT.
        f") u WHERE 1 = 1 GROUP BY {keys}"
    )
    return sql, [*m_params, *n_params]


def move_case(case_id: int, from_team: int | None, to_team: int | None) -> None:
    """A handoff changed the case's team: its counts leave the old team for the new one (ONE statement;
    the teams are given, so it may run before or after the case row changes)."""
    old, new = from_team or NO_TEAM, to_team or NO_TEAM
    if old == new:
        return
    sql, params = _summed_sql(
        Message.objects.filter(case_id=case_id), Note.objects.filter(case_id=case_id), team=False
    )
    signed = ", ".join(f"s.{c} * x.sign" for c in ("c", "f", "r", "n"))
    source = (
        f"SELECT x.team, s.h, s.ch, s.k, {signed} FROM ({sql}) s "
        f"CROSS JOIN (SELECT %s AS team, -1 AS sign UNION ALL SELECT %s, 1) x WHERE 1 = 1"
    )
    with connection.cursor() as cur:
        cur.execute(_upsert_sql(source), [*params, old, new])


def rebuild(*, team_ids: Iterable[int] | None = None, report: Callable[[str], None] | None = None) -> int:
    """Recount every hour from the messages and notes, set-based (two statements). Idempotent.
    `team_ids` limits it to those teams' cases (a bulk load of one team: bench_assess)."""
    began = _time.monotonic()
    messages, notes, rows = Message.objects.all(), Note.objects.all(), ContactHour.objects.all()
    if team_ids is not None:
        ids = list(team_ids)
        messages = messages.filter(case__team_id__in=ids)
        notes = notes.filter(case__team_id__in=ids)
        rows = rows.filter(team_id__in=ids)
    # TRUNCATE cannot run with pending FK checks (a caller's or a test's transaction).
    truncate = team_ids is None and connection.vendor == "postgresql" and not connection.in_atomic_block
    t = _table()
    with transaction.atomic():
        if truncate:
            with connection.cursor() as cur:
                cur.execute(f"TRUNCATE {t}")
        else:
            rows.delete()
        sql, params = _summed_sql(messages, notes, team=True)
        with connection.cursor() as cur:
            # In team and hour order: a team's weeks lie together on disk.
            columns = f"team_id, hour, channel, kind, {', '.join(COUNTERS)}"
            cur.execute(f"INSERT INTO {t} ({columns}) {sql} ORDER BY 1, 2", params)
            n = cur.rowcount
    if connection.vendor == "postgresql":
        # VACUUM sets the visibility map, so the assessment's read is answered from the covering index
        # alone (it cannot run inside a transaction: then ANALYZE only).
        with connection.cursor() as cur:
            cur.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {t}")
    if report:
        report(f"  rollups: {n:,} contact hours ({_time.monotonic() - began:,.1f} s)")
    return n
