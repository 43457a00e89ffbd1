"""The service dashboard's per-day counts (models.ServiceDay): kept as deltas, rebuilt set-based, read.

A case contributes to at most two days: the day it was opened (family "o") and, while closed, the day
it was closed (family "r"), once for all cases and once per scope field (team, owner, category,
channel, kind). Its `CaseContacts` row is a copy of what it contributed last time, so a refresh
(rollups.refresh_contacts, in the event's transaction) subtracts the old contribution and adds the new
one in ONE upsert statement, whatever moved: a close, a reopen (the close day goes away), a handoff
(the owner and team rows change), a follow-up (FCR of the earlier case).

Counts are the ones `service_figures` takes with conditional COUNTs on the cases, with the FCR window
taken as over; the dashboard reads the days still inside the window from the cases (service_figures).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import ServiceDay

OPENED, RESOLVED, HANDOFF = "o", "r", "h"
DIMS = ("team", "owner", "category", "channel", "kind")
COUNTERS = (
    "rows",
    "repeat_contact",
    "unanswered",
    "fcr_k",
    "reopened",
    "reopens",
    "confirmed",
    "exposed",
    "exposed_flagged",
    "flagged",
    "changed_owner",
    "owner_changes",
    "short_summary",
)
# The CaseContacts columns a contribution is computed from (the copy of the case).
FACT_FIELDS = (
    "opened_at",
    "closed_at",
    "team_id",
    "owner_id",
    "category_id",
    "channel",
    "kind",
    "reopen_count",
    "confirmed",
    "repeat_contact",
    "answered",
    "inbound_before_close",
    "owner_changes",
    "first_follow_up_at",
    "repeat_flagged",
)
_DIM_COLUMN = {
    "team": "team_id",
    "owner": "owner_id",
    "category": "category_id",
    "channel": "channel",
    "kind": "kind",
}


def fcr_window() -> timedelta:
    from .service_figures import fcr_window as window

    return window()


def local_day(at: datetime) -> date:
    return timezone.localtime(at, timezone.get_default_timezone()).date()


Key = tuple[str, date, str, str]  # family, day, dim, key


def contributions(fact: Mapping[str, Any] | None) -> dict[Key, tuple[dict[str, Any], list[int]]]:
    """What one case (its CaseContacts values) adds to ServiceDay: key -> (dimension columns, counters)."""
    if not fact or fact.get("opened_at") is None:
        return {}
    per_family: list[tuple[str, date, list[int]]] = []
    per_family.append(
        (
            OPENED,
            local_day(fact["opened_at"]),
            _counters(rows=1, repeat_contact=fact["repeat_contact"], unanswered=not fact["answered"]),
        )
    )
    closed = fact.get("closed_at")
    if closed is not None:
        inbound, changes, reopens = fact["inbound_before_close"], fact["owner_changes"], fact["reopen_count"]
        follow = fact.get("first_follow_up_at")
        came_back = follow is not None and follow <= closed + fcr_window()
        exposed = inbound >= 2 or changes >= 1
        flagged = bool(fact["repeat_flagged"])
        per_family.append(
            (
                RESOLVED,
                local_day(closed),
                _counters(
                    rows=1,
                    fcr_k=inbound == 1 and reopens == 0 and not came_back,
                    reopened=reopens >= 1,
                    reopens=reopens,
                    confirmed=fact["confirmed"],
                    exposed=exposed,
                    exposed_flagged=exposed and flagged,
                    flagged=flagged,
                    changed_owner=changes >= 1,
                    owner_changes=changes,
                ),
            )
        )
    out: dict[Key, tuple[dict[str, Any], list[int]]] = {}
    for family, day, counters in per_family:
        out[(family, day, "", "")] = ({}, counters)
        for dim in DIMS:
            value = fact[_DIM_COLUMN[dim]]
            key = "" if value is None else str(value)
            out[(family, day, dim, key)] = (
                {_DIM_COLUMN[dim]: value if value is not None else _none(dim)},
                counters,
            )
    return out


def _none(dim: str) -> Any:
    return "" if dim in ("channel", "kind") else None


def _counters(**values: Any) -> list[int]:
    return [int(values.get(name, 0) or 0) for name in COUNTERS]


def handoff_contribution(
    at: datetime, need_chars: int, done_chars: int
) -> dict[Key, tuple[dict[str, Any], list[int]]]:
    """A new handoff (made at `at`; its summary's lengths) in the all-cases row of its day."""
    from steward.cases.summaries import MIN_CHARS

    short = need_chars < MIN_CHARS or done_chars < MIN_CHARS
    return {(HANDOFF, local_day(at), "", ""): ({}, _counters(rows=1, short_summary=short))}


def on_erasing(sender: Any, case_ids: list[int], erased: str, **kwargs: Any) -> None:
    """Receiver of `steward.customers.signals.personal_data_erasing`: the customer's handoff summaries
    are about to become `erased`, which the handoff family measures like any text (too short: a handoff
    without a summary). Two statements: the handoffs' lengths now, the delta of their days."""
    from django.db.models.functions import Length

    from steward.cases.models import Handoff

    rows = (
        Handoff.objects.filter(case_id__in=case_ids)
        .annotate(need=Length("customer_need"), done=Length("done_so_far"))
        .values_list("created_at", "need", "done")
    )
    acc: dict[Key, tuple[dict[str, Any], list[int]]] = {}
    for at, need, done in rows:
        for sign, contribution in (
            (-1, handoff_contribution(at, need, done)),
            (1, handoff_contribution(at, len(erased), len(erased))),
        ):
            for key, (cols, counters) in contribution.items():
                total = acc.setdefault(key, (cols, [0] * len(COUNTERS)))[1]
                for i, v in enumerate(counters):
                    total[i] += sign * v
    apply({k: v for k, v in acc.items() if any(v[1])})


def deltas(
    pairs: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]],
    extra: Mapping[Key, tuple[dict[str, Any], list[int]]] | None = None,
) -> dict[Key, tuple[dict[str, Any], list[int]]]:
    """New minus old contributions of some cases (plus `extra`, a new handoff), summed per ServiceDay
    key; keys that net to zero are left out."""
    acc: dict[Key, tuple[dict[str, Any], list[int]]] = {}
    for key, (cols, counters) in (extra or {}).items():
        acc[key] = (cols, list(counters))
    for old, new in pairs:
        for sign, fact in ((-1, old), (1, new)):
            for key, (cols, counters) in contributions(fact).items():
                _cols, total = acc.setdefault(key, (cols, [0] * len(COUNTERS)))
                for i, v in enumerate(counters):
                    total[i] += sign * v
    return {k: v for k, v in acc.items() if any(v[1])}


_COLUMNS = ("family", "day", "dim", "key", "team_id", "owner_id", "category_id", "channel", "kind", *COUNTERS)


def apply(changes: Mapping[Key, tuple[dict[str, Any], list[int]]]) -> None:
    """Add the deltas to ServiceDay: one INSERT … ON CONFLICT DO UPDATE statement (none if nothing moved)."""
    if not changes:
        return
    with connection.cursor() as cur:
        cur.execute(*apply_sql(changes))


def adding_excluded(table: str, counters: Iterable[str]) -> str:
    """The SET list of a day rollup's upsert: each counter plus the incoming row's (`table` quoted)."""
    q = connection.ops.quote_name
    return ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in counters)


def adding_upsert_sql(
    table: str, columns: Sequence[str], counters: Sequence[str], conflict: Sequence[str], n: int
) -> str:
    """INSERT of n rows of `columns` that, where a row of the `conflict` key exists, adds the counters to
    it instead: the statement every day rollup (ServiceDay, SurveyDay) applies its deltas with."""
    q = connection.ops.quote_name
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {q(table)} ({', '.join(q(c) for c in columns)}) VALUES "
        + ", ".join([one] * n)
        + f" ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET "
        + adding_excluded(q(table), counters)
    )


def sum_into(
    acc: dict[Any, tuple[dict[str, Any], list[int]]], more: Mapping[Any, Any], sign: int = 1
) -> None:
    """Add `more`'s counters (times `sign`) to `acc`, key by key (contributions of a day rollup)."""
    for key, (cols, counters) in more.items():
        total = acc.setdefault(key, (cols, [0] * len(counters)))[1]
        for i, v in enumerate(counters):
            total[i] += sign * v


def apply_sql(changes: Mapping[Key, tuple[dict[str, Any], list[int]]]) -> tuple[str, list[Any]]:
    """`apply`'s statement and its parameters (to run on its own, or inside another statement's WITH)."""
    rows: list[Any] = []
    for (family, day, dim, key), (cols, counters) in sorted(changes.items()):
        rows += [
            family,
            day,
            dim,
            key,
            cols.get("team_id"),
            cols.get("owner_id"),
            cols.get("category_id"),
            cols.get("channel", ""),
            cols.get("kind", ""),
            *counters,
        ]
    sql = adding_upsert_sql(
        ServiceDay._meta.db_table, _COLUMNS, COUNTERS, ("family", "dim", "key", "day"), len(changes)
    )
    return sql, rows


_KEY_SQL = """CASE d.dim WHEN '' THEN '' WHEN 'team' THEN coalesce(f.team_id::text, '')
    WHEN 'owner' THEN coalesce(f.owner_id::text, '') WHEN 'category' THEN coalesce(f.category_id::text, '')
    WHEN 'channel' THEN f.channel ELSE f.kind END,
  CASE WHEN d.dim = 'team' THEN f.team_id END, CASE WHEN d.dim = 'owner' THEN f.owner_id END,
  CASE WHEN d.dim = 'category' THEN f.category_id END,
  CASE WHEN d.dim = 'channel' THEN f.channel ELSE '' END, CASE WHEN d.dim = 'kind' THEN f.kind ELSE '' END"""
_DIM_VALUES = "(VALUES (''), ('team'), ('owner'), ('category'), ('channel'), ('kind')) AS d(dim)"

# The first human reply of a case changes two things the dashboard reads: the case is answered (the
# "opened" rows' `unanswered` goes down by one) and it has a first response time. One statement: the
# copy is updated only if it still said unanswered, and its scope fields give the rows to change.
_PG_FIRST_REPLY = """
WITH f AS (
  UPDATE {contacts} SET answered = true, first_response_seconds = %(calendar)s,
    first_response_business_seconds = %(business)s
  WHERE case_id = %(case)s AND NOT answered AND opened_at IS NOT NULL
  RETURNING opened_at, team_id, owner_id, category_id, channel, kind
)
INSERT INTO {days} (family, day, dim, key, team_id, owner_id, category_id, channel, kind, {counters})
SELECT 'o', (f.opened_at AT TIME ZONE %(tz)s)::date, d.dim, {key}, {values}
FROM f CROSS JOIN {dims}
ON CONFLICT (family, dim, key, day) DO UPDATE SET unanswered = {days}.unanswered + excluded.unanswered
"""


def first_reply(case: Any) -> None:
    """The case's first human reply was just stamped on it (cases.services._first_response)."""
    from steward.cases import durations as case_durations

    from .models import CaseContacts

    if connection.vendor != "postgresql":  # SQLite: the general refresh (a few statements)
        from .rollups import refresh_contacts

        refresh_contacts([case.pk])
        return
    q = connection.ops.quote_name
    calendar, business = case_durations.FIRST_RESPONSE
    sql = _PG_FIRST_REPLY.format(
        contacts=q(CaseContacts._meta.db_table),
        days=q(ServiceDay._meta.db_table),
        counters=", ".join(q(c) for c in COUNTERS),
        key=_KEY_SQL,
        values=", ".join("-1" if c == "unanswered" else "0" for c in COUNTERS),
        dims=_DIM_VALUES,
    )
    params = {
        "calendar": getattr(case, calendar),
        "business": getattr(case, business),
        "case": case.pk,
        "tz": settings.TIME_ZONE,
    }
    with connection.cursor() as cur:
        cur.execute(sql, params)


# ------------------------------------------------------------------ rebuild

_PG_DAYS = """
INSERT INTO {days} (family, day, dim, key, team_id, owner_id, category_id, channel, kind, {counters})
SELECT f.family, f.day, d.dim, {key},
  {sums}
FROM (
  SELECT 'o' AS family, (c.opened_at AT TIME ZONE %(tz)s)::date AS day, c.team_id, c.owner_id,
    c.category_id, c.channel, c.kind, 1 AS rows, c.repeat_contact::int AS repeat_contact,
    (NOT c.answered)::int AS unanswered, 0 AS fcr_k, 0 AS reopened, 0 AS reopens, 0 AS confirmed,
    0 AS exposed, 0 AS exposed_flagged, 0 AS flagged, 0 AS changed_owner, 0 AS owner_changes,
    0 AS short_summary
  FROM {contacts} c WHERE c.opened_at IS NOT NULL
  UNION ALL
  SELECT 'r', (c.closed_at AT TIME ZONE %(tz)s)::date, c.team_id, c.owner_id, c.category_id, c.channel,
    c.kind, 1, 0, 0,
    (c.inbound_before_close = 1 AND c.reopen_count = 0
      AND NOT coalesce(c.first_follow_up_at <= c.closed_at + %(window)s, false))::int,
    (c.reopen_count >= 1)::int, c.reopen_count, c.confirmed::int,
    (c.inbound_before_close >= 2 OR c.owner_changes >= 1)::int,
    ((c.inbound_before_close >= 2 OR c.owner_changes >= 1) AND c.repeat_flagged)::int,
    c.repeat_flagged::int, (c.owner_changes >= 1)::int, c.owner_changes, 0
  FROM {contacts} c WHERE c.closed_at IS NOT NULL AND c.opened_at IS NOT NULL
) f
CROSS JOIN {dims}
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""

_PG_HANDOFFS = """
INSERT INTO {days} (family, day, dim, key, channel, kind, {counters})
SELECT 'h', (h.created_at AT TIME ZONE %(tz)s)::date, '', '', '', '', {sums}
FROM {handoffs} h GROUP BY 2
"""


def rebuild() -> int:
    """ServiceDay from the CaseContacts copies (fill those first). Returns the rows written."""
    from steward.cases.models import Handoff
    from steward.cases.summaries import MIN_CHARS

    from .models import CaseContacts

    ServiceDay.objects.all().delete()
    if connection.vendor == "postgresql":
        q = connection.ops.quote_name
        days = q(ServiceDay._meta.db_table)
        counters = ", ".join(q(c) for c in COUNTERS)
        short = "length(h.customer_need) < %(min)s OR length(h.done_so_far) < %(min)s"
        handoff_sums = ", ".join(
            "count(*)" if c == "rows" else f"count(*) FILTER (WHERE {short})" if c == "short_summary" else "0"
            for c in COUNTERS
        )
        params: dict[str, Any] = {"tz": settings.TIME_ZONE, "window": fcr_window(), "min": MIN_CHARS}
        with connection.cursor() as cur:
            cur.execute(
                _PG_DAYS.format(
                    days=days,
                    contacts=q(CaseContacts._meta.db_table),
                    counters=counters,
                    sums=", ".join(f"sum(f.{q(c)})" for c in COUNTERS),
                    key=_KEY_SQL,
                    dims=_DIM_VALUES,
                ),
                params,
            )
            n = cur.rowcount
            cur.execute(
                _PG_HANDOFFS.format(
                    days=days, handoffs=q(Handoff._meta.db_table), counters=counters, sums=handoff_sums
                ),
                params,
            )
            return n + cur.rowcount
    # SQLite (tests, small installs): the same contributions, summed in Python.
    acc: dict[Key, tuple[dict[str, Any], list[int]]] = {}
    for fact in CaseContacts.objects.values(*FACT_FIELDS).iterator(chunk_size=5000):
        sum_into(acc, contributions(fact))
    for at, need, done in Handoff.objects.values_list(
        "created_at", "customer_need", "done_so_far"
    ).iterator():
        sum_into(acc, handoff_contribution(at, len(need), len(done)))
    ServiceDay.objects.bulk_create(
        [
            ServiceDay(
                family=f, day=d, dim=dim, key=key, **cols, **dict(zip(COUNTERS, counters, strict=True))
            )
            for (f, d, dim, key), (cols, counters) in acc.items()
        ],
        batch_size=2000,
    )
    return len(acc)


__all__ = ["COUNTERS", "DIMS", "FACT_FIELDS", "apply", "contributions", "deltas", "on_erasing", "rebuild"]
