"""CostDay: the costs ledger summed per day, source and category, kept equal to the ledger.

Why a rollup: the cost-of-quality page summed every ledger line of two years (3 million replies, work
logs and handoffs at a million cases, each costed by a correlated rate lookup): 38 s per request. The
page now sums at most a few thousand CostDay rows.

What is stored: the COSTED amounts, as the ledger computes them (selectors.py is the one definition:
every statement here wraps its SQL, so a line is costed and classified exactly as the ledger shows it).
Three things change lines after the fact; each re-rolls what it affects, in the transaction of the
change, by subtracting the lines' contribution before and adding it after (or, where the service is
past the change, by moving it between categories):
- a rate: `rate_set` refuses a rate that would re-cost costed time; it only gives a cost to time that
  had none (dated before the sector's first rate, or the sector's first rate). Re-rolled: the sector's
  lines from the new rate's date to the next rate. Rare (a manager's action), bounded by that slice.
  Chosen over storing minutes and multiplying by the rates at read time: that puts a rate lookup per
  row back into every page view, and the per-line rounding (minutes × rate / 60 to the minor unit)
  forbids multiplying a sum of minutes.
- the case's flags: the first reopen of a case that was neither a complaint nor a repeat contact turns
  its ordinary-service lines into external failure (EF-REOPENED); a returned sector task turns its work
  logs into internal failure (IF-RETURNED). Kind and repeat flag are set when a case opens, never after.
- a classification override, a cost entry edited or deleted.
New lines (a reply, a note, a handoff, logged work, an approved compensation, a cost entry, review
meeting time) add themselves: ONE upsert statement per write, compiled once per process.

Followed through `case_event_recorded` (cases app) and the costs services. Settings the ledger reads
(STEWARD_CONTACT_MINUTES, STEWARD_FRONT_LINE_SECTOR, TIME_ZONE, STEWARD_CURRENCY), a person moved to
another sector, or rows changed outside the services (admin, bulk loads): run `manage.py
rebuild_rollups` (`rebuild()`: one set-based statement over the ledger).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from steward.cases.models import EventKind, Kind
from steward.core import prepared

from .events import COMPENSATION_APPROVED
from .models import CostCategory, CostDay, LineSource
from .money import org_currency
from .selectors import Scope, _parts, contact_minutes

# A line id replaced in the parameters of a statement compiled once (see `_line_statement`).
_PLACEHOLDER = 9_007_199_254_740_991
FAR_FUTURE = date(9999, 1, 1)


@dataclass(frozen=True)
class Part:
    """Ledger lines to add (sign 1) or take away (-1); `category` books them under another category
    than the ledger's (a move: their category before the change)."""

    sql: str
    params: tuple[Any, ...]
    sign: int = 1
    category: str | None = None
    # The lines had no cost and have one now (a first rate): only their amount is added and they
    # leave the unknown counts; minutes and line counts stay. One pass instead of before and after.
    costed_now: bool = False


def _union_sql(parts: Sequence[QuerySet[Any]]) -> tuple[str, tuple[Any, ...]] | None:
    if not parts:
        return None
    first, *rest = parts
    qs = first.union(*rest, all=True) if rest else first
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    return sql, tuple(params)


def _lines(scope: Scope, narrow: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None) -> Part | None:
    """The ledger's lines of a scope as SQL (front-line sector inside the SQL: no query first)."""
    scope = Scope(
        start=scope.start,
        end=scope.end,
        case_id=scope.case_id,
        sources=scope.sources,
        line_id=scope.line_id,
        front_line_in_sql=True,
    )
    parts = _parts(scope)
    if narrow is not None:
        parts = [narrow(p) for p in parts]
    compiled = _union_sql(parts)
    return None if compiled is None else Part(*compiled)


def _statement(parts: Sequence[Part]) -> tuple[str, tuple[Any, ...]]:
    """One INSERT .. SELECT .. ON CONFLICT adding the parts' sums to CostDay (signed)."""
    table = connection.ops.quote_name(CostDay._meta.db_table)
    selects, params = [], []
    for p in parts:
        if p.sign not in (1, -1):
            raise ValueError("sign must be 1 or -1")
        s = p.sign
        category = "COALESCE(x.ln_category, '')" if p.category is None else "%s"
        # CASTs: a part compiled alone has NULL literals of no type where the union had its first part's.
        minutes = "COALESCE(CAST(x.ln_minutes AS BIGINT), 0)"
        amount = "CAST(x.ln_amount AS BIGINT)"
        if p.costed_now:
            cols = f"{amount} AS a, 0 AS m, 0 AS n, -1 AS u, -{minutes} AS um"
        else:
            cols = (
                f"{s} * {amount} AS a, {s} * {minutes} AS m, {s} AS n, "
                f"CASE WHEN x.ln_amount IS NULL THEN {s} ELSE 0 END AS u, "
                f"CASE WHEN x.ln_amount IS NULL THEN {s} * {minutes} ELSE 0 END AS um"
            )
        selects.append(f"SELECT x.ln_day AS d, x.ln_source AS s, {category} AS c, {cols} FROM ({p.sql}) x")
        if p.category is not None:
            params.append(p.category)
        params.extend(p.params)
    body = " UNION ALL ".join(selects)
    # WHERE 1 = 1: SQLite reads the ON of ON CONFLICT as a join's without it (documented ambiguity).
    sql = (
        f"INSERT INTO {table} (day, source, category, amount_minor, minutes, lines, unknown_lines, "
        "unknown_minutes) "
        "SELECT y.d, y.s, y.c, COALESCE(SUM(y.a), 0), SUM(y.m), SUM(y.n), SUM(y.u), SUM(y.um) "
        f"FROM ({body}) y WHERE 1 = 1 GROUP BY y.d, y.s, y.c "
        "ON CONFLICT (day, source, category) DO UPDATE SET "
        f"amount_minor = {table}.amount_minor + excluded.amount_minor, "
        f"minutes = {table}.minutes + excluded.minutes, lines = {table}.lines + excluded.lines, "
        f"unknown_lines = {table}.unknown_lines + excluded.unknown_lines, "
        f"unknown_minutes = {table}.unknown_minutes + excluded.unknown_minutes"
    )
    return sql, tuple(params)


def apply(parts: Sequence[Part | None]) -> None:
    """Book the parts into CostDay (one statement; none when there is nothing to book)."""
    real = [p for p in parts if p is not None]
    if not real:
        return
    sql, params = _statement(real)
    with connection.cursor() as cur:
        cur.execute(sql, params)


# ------------------------------------------------------------------ one new line: compiled once


_compiled: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]] | None] = {}


def _config_key(source: str) -> tuple[Any, ...]:
    """What the compiled SQL of a line depends on besides its id (settings the ledger reads)."""
    return (
        connection.alias,
        connection.vendor,
        source,
        tuple(sorted(contact_minutes().items())),
        org_currency(),
        timezone.get_current_timezone_name(),
    )


def add_line(source: str, line_id: int) -> None:
    """A new ledger line (or one that just became a line, an approved compensation): one statement.

    The statement is compiled once per source and settings, with a placeholder id replaced in its
    parameters: building the ledger's SQL through the ORM costs more than running it for one row.
    """
    key = _config_key(source)
    if key not in _compiled:
        part = _lines(Scope(sources=frozenset({source}), line_id=_PLACEHOLDER))
        compiled = None if part is None else _statement([part])
        if compiled is not None and (_PLACEHOLDER not in compiled[1] or str(_PLACEHOLDER) in compiled[0]):
            compiled = ("", ())  # not parametrised as expected: compile per line below
        _compiled[key] = compiled
    compiled = _compiled[key]
    if compiled is None:
        return  # this source books nothing under the settings (e.g. 0 standard minutes for notes)
    if not compiled[0]:
        apply([_lines(Scope(sources=frozenset({source}), line_id=line_id))])
        return
    sql, params = compiled
    if prepared.enabled(connection.alias):
        # Planning this statement costs 10 ms, running it 0.5 ms: its constants are written in once
        # (by the driver, as it quotes them) and only the line id is sent, so psycopg prepares it once
        # per database session (steward.core.prepared).
        literal = _literal.get(key)
        if literal is None:
            text = connection.ops.compose_sql(sql, params)  # type: ignore[attr-defined]
            literal = _literal[key] = text.replace(str(_PLACEHOLDER), prepared.PLACEHOLDER)
        prepared.execute(connection.alias, literal, line_id)
        return
    with connection.cursor() as cur:
        cur.execute(sql, tuple(line_id if p == _PLACEHOLDER else p for p in params))


# A line statement with its constants written in, per source and settings (add_line).
_literal: dict[tuple[Any, ...], str] = {}


@contextmanager
def reroll(scope: Scope, narrow: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None) -> Iterator[None]:
    """Take the scope's lines away before the block and add them back after it: whatever the block
    changes in them (a category, a cost, the line itself) is then booked. Two statements."""
    before = _lines(scope, narrow)
    if before is not None:
        apply([Part(before.sql, before.params, sign=-1)])
    yield
    apply([_lines(scope, narrow)])


def cost_sector_time(sector_id: int, start: date, end: date | None) -> None:
    """A new rate of a sector costs its staff time in [start, end), which had no cost: `rate_set`
    refuses a rate that would re-cost costed time (a rate dated before the sector's first one, or its
    first, only fills in time without a cost). Call it once the rate is saved. One statement, one pass
    over the slice (at a million cases the first rate of the front line re-costs most replies: tens of
    seconds, once per sector)."""
    from .selectors import STAFF_TIME_SOURCES

    last = (end or FAR_FUTURE).toordinal() - 1
    part = _lines(
        Scope(start=start, end=date.fromordinal(last), sources=STAFF_TIME_SOURCES),
        lambda qs: qs.filter(ln_sector=sector_id, ln_amount__isnull=False),
    )
    if part is not None:
        apply([Part(part.sql, part.params, costed_now=True)])


def add_meeting(meeting_id: int) -> None:
    """A review meeting's participants' time (one statement)."""
    apply(
        [
            _lines(
                Scope(sources=frozenset({LineSource.REVIEW.value})),
                lambda qs: qs.filter(meeting_id=meeting_id),
            )
        ]
    )


# ------------------------------------------------------------------ case events


def case_flag_category(case: Any) -> str:
    """The category the case's flags give its work and contacts (classification.py, in that order)."""
    if case.kind == Kind.COMPLAINT or case.reopen_count > 0 or case.is_repeat_contact:
        return CostCategory.EXTERNAL_FAILURE.value
    return ""


def _move(scope: Scope, narrow: Callable[[QuerySet[Any]], QuerySet[Any]], before: str) -> None:
    """Lines whose category the event just changed: out of `before`, into their category now."""
    part = _lines(scope, narrow)
    if part is None:
        return
    apply([Part(part.sql, part.params, sign=-1, category=before), part])


_LINE_EVENTS = {
    EventKind.MESSAGE_OUT: (LineSource.REPLY.value, "message"),
    EventKind.SOLUTION_PROPOSED: (LineSource.REPLY.value, "message"),  # the solution is a reply
    EventKind.NOTE: (LineSource.NOTE.value, "note"),
    EventKind.HANDOFF: (LineSource.HANDOFF.value, "handoff"),
    EventKind.TASK_WORK_LOGGED: (LineSource.WORK_LOG.value, "log"),
    # Approved at once (within the limit) or by a manager: booked from its decision on.
    COMPENSATION_APPROVED: (LineSource.COMPENSATION.value, "compensation"),
}
_CONTACTS = frozenset({LineSource.REPLY.value, LineSource.NOTE.value, LineSource.HANDOFF.value})


def on_case_event(sender: Any, event: Any, **kwargs: Any) -> None:
    """Receiver of `case_event_recorded`: book what the event adds or re-classifies, in its transaction.

    At most one statement per event; none for the events that book nothing (a customer's message).
    """
    kind = event.kind
    if kind in _LINE_EVENTS:
        source, key = _LINE_EVENTS[kind]
        line_id = event.data.get(key) if isinstance(event.data, dict) else None
        if line_id is not None and (source not in _CONTACTS or contact_minutes()[source] > 0):
            add_line(source, int(line_id))
        return
    case = event.case
    if kind == EventKind.REOPENED and case.reopen_count == 1:
        if case.kind == Kind.COMPLAINT or case.is_repeat_contact:
            return  # external failure already (EF-COMPLAINT / EF-REPEAT): the same category
        # Its work (on tasks not returned) and contacts were ordinary service; they are EF-REOPENED now.
        _move(
            Scope(case_id=case.pk, sources=frozenset({LineSource.WORK_LOG.value, *_CONTACTS})),
            lambda qs: qs.filter(ln_rule="EF-REOPENED", ln_overridden=False),
            "",
        )
    elif kind == EventKind.TASK_RETURNED:
        task_id = event.data.get("task") if isinstance(event.data, dict) else None
        if task_id is None:
            return
        # The task's work was classified by the case's flags; it is rework (IF-RETURNED) now.
        _move(
            Scope(case_id=case.pk, sources=frozenset({LineSource.WORK_LOG.value})),
            lambda qs: qs.filter(task_id=int(task_id), ln_overridden=False),
            case_flag_category(case),
        )


# ------------------------------------------------------------------ rebuild


def rebuild(report: Callable[[str], None] | None = None) -> int:
    """Every ledger line summed again, set-based (one INSERT .. SELECT over the ledger). Idempotent."""
    began = _time.monotonic()
    table = connection.ops.quote_name(CostDay._meta.db_table)
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Writers wait until the rebuild commits, then add their lines on top: none counted twice.
            cur.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cur.execute(f"DELETE FROM {table}")
        apply([_lines(Scope())])
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {table}")
    n = CostDay.objects.count()
    if report:
        report(f"  rollups: cost of quality, {n:,} day rows ({_time.monotonic() - began:,.0f} s)")
    return n


# ------------------------------------------------------------------ a person moves to another sector

# Replies, notes and handoffs are costed at their author's CURRENT sector's rate (the ledger joins the
# person), so moving a person re-costs their past contacts: taken away before the save, added after.
_AUTHOR_FIELD = {"Message": "author_id", "Note": "author_id", "Handoff": "by_id"}


def _by_person(user_id: int) -> Callable[[QuerySet[Any]], QuerySet[Any]]:
    def narrow(qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(**{_AUTHOR_FIELD[qs.model.__name__]: user_id})

    return narrow


def _contacts_scope() -> Scope:
    return Scope(sources=_CONTACTS)


def on_user_pre_save(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A person's sector about to change: their contacts leave CostDay (one query to compare, only
    for saves that may change the sector; a login's save of last_login costs nothing)."""
    if (
        instance.pk is None
        or kwargs.get("raw")
        or (update_fields is not None and "sector" not in update_fields)
    ):
        return
    old = type(instance).objects.filter(pk=instance.pk).values_list("sector_id", flat=True).first()
    if old == instance.sector_id:
        return
    part = _lines(_contacts_scope(), _by_person(instance.pk))
    if part is not None:
        apply([Part(part.sql, part.params, sign=-1)])
    instance._costday_moved = True


def on_user_post_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    """... and come back costed at the new sector's rate."""
    if getattr(instance, "_costday_moved", False):
        instance._costday_moved = False
        apply([_lines(_contacts_scope(), _by_person(instance.pk))])
