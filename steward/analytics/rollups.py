"""Keeping the analysis rollups (models.py) equal to the event log, and rebuilding them.

Maintenance: `on_case_event`, a receiver of `steward.cases.signals.case_event_recorded`, keeps the
rows of the ONE case the event belongs to, in the transaction that appends the event, so the figures
are exactly those of the event log at every moment (the tests and the cross-checks read right after a
write) and an event and its rollup commit or roll back together. Issue 9 (write cost): the common
events are applied incrementally, from what the stored rows already say (`advance_flow`: one read and
one UPDATE instead of re-reading the case's log and rewriting its rows; a case being opened is inserted
from its first event; a customer message on an open case changes no contact count). Anything the
increment cannot decide exactly (sector tasks, a change of sector, an event dated before the last
one, a resolved case, sector shares of 1/k) recomputes the case from its log (`refresh_case`).

Bulk paths that bypass the services (`generate_load_data`) call `rebuild_all()` afterwards; existing
installs run `manage.py rebuild_rollups` once after migrating (the migration notes it).
"""

from __future__ import annotations

import re
import time as _time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, IntegerField, Max, Min, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce, Length

from steward.cases import durations as case_durations
from steward.cases.durations import HUMAN_REPLY_KINDS
from steward.cases.models import Case, CaseEvent, Closure, Direction, Handoff, Message, Status
from steward.core.compiled import compiled, standin, upsert
from steward.core.prepared import bound_cursor

from . import metrics, service_rollup, survey_rollup
from .metrics import CLOSING_KINDS, CUSTOMER_PENDING, TASK_CREATED, TASK_ENDS, TASK_KINDS, EventRow
from .models import CaseContacts, CaseFlow, FlowStep, SectorTime, ServiceDay, SurveyDay, TaskFact

# The kinds the lead-time attribution reads (selectors.attributions reads the same).
ATTRIBUTION_KINDS = frozenset(
    {"opened", "status", "message_out", "solution_proposed", "reopened", *CLOSING_KINDS, *TASK_KINDS}
)
FRONT = "f"
CUSTOMER = "c"
_US = 1_000_000


def _us(x: Fraction) -> int:
    """Exact seconds (a Fraction) as microseconds; shares of 1/k are rounded to the microsecond."""
    return round(x * _US)


# ------------------------------------------------------------------ one case's facts (pure)


def tail_holder(events: Sequence[EventRow]) -> str:
    """Who holds the case after its last event: the sectors with open tasks, else customer or front line."""
    status = ""
    open_tasks: dict[int, int | None] = {}
    for e in sorted(events, key=lambda e: e.order):
        status = metrics.status_after(e, status)
        tid = metrics._int(e.data.get("task")) if e.kind in TASK_KINDS else None
        if tid is not None and e.kind == TASK_CREATED:
            open_tasks[tid] = e.sector
        elif tid is not None and e.kind in TASK_ENDS:
            open_tasks.pop(tid, None)
    holders = set(open_tasks.values())
    if holders:
        return "s:" + ",".join(sorted("-" if s is None else str(s) for s in holders))
    if status in CUSTOMER_PENDING or status == "closed":
        return CUSTOMER
    return FRONT


def tail_sectors(tail: str) -> list[int | None]:
    if not tail.startswith("s:"):
        return []
    return [None if s == "-" else int(s) for s in tail[2:].split(",")]


def fold_task_events(events: Iterable[EventRow]) -> list[dict[str, Any]]:
    """The task events grouped by task as `selectors._fold_tasks`'s GROUP BY aggregates them."""
    acc: dict[int, dict[str, Any]] = {}
    for e in events:
        if e.kind not in TASK_KINDS:
            continue
        tid = metrics._int(e.data.get("task"))
        if tid is None:
            continue
        r = acc.setdefault(
            tid,
            {
                "task_id": tid,
                "case_id_": e.case,
                "sector_": None,
                "created": None,
                "target": None,
                "due": None,
                "taken": None,
                "completed": None,
                "returned": None,
                "cancelled": None,
                "returns": 0,
                "minutes": None,
            },
        )
        r["case_id_"] = min(r["case_id_"], e.case)

        def lo(key: str, value: Any, r: dict[str, Any] = r) -> None:
            if value is not None and (r[key] is None or value < r[key]):
                r[key] = value

        def hi(key: str, value: Any, r: dict[str, Any] = r) -> None:
            if value is not None and (r[key] is None or value > r[key]):
                r[key] = value

        if e.kind == TASK_CREATED:
            lo("sector_", e.sector)
            lo("created", e.at)
            hi("target", metrics._int(e.data.get("target_minutes")))
            due = e.data.get("due_at")
            hi("due", None if due is None else str(due))
        elif e.kind == metrics.TASK_TAKEN:
            lo("taken", e.at)
        elif e.kind == metrics.TASK_COMPLETED:
            hi("completed", e.at)
        elif e.kind == metrics.TASK_RETURNED:
            hi("returned", e.at)
            r["returns"] += 1
        elif e.kind == metrics.TASK_CANCELLED:
            hi("cancelled", e.at)
        elif e.kind == metrics.TASK_WORK_LOGGED:
            m = metrics._int(e.data.get("minutes"))
            if m is not None:
                r["minutes"] = (r["minutes"] or 0) + m
    return sorted(
        (r for r in acc.values() if r["created"] is not None), key=lambda r: (r["created"], r["task_id"])
    )


def steps_of(events: Iterable[EventRow]) -> list[tuple[int, int, int | None, float]]:
    """(source, target, sector before source, wait seconds) for every change of sector, in log order."""
    out: list[tuple[int, int, int | None, float]] = []
    prev: EventRow | None = None
    before: int | None = None
    for e in sorted((e for e in events if e.sector is not None), key=lambda e: e.order):
        if prev is not None and prev.sector != e.sector:
            out.append((prev.sector, e.sector, before, metrics.seconds(e.at - prev.at)))  # type: ignore[arg-type]
            before = prev.sector
        prev = e
    return out


def case_rows(
    case_id: int, opened_at: datetime, events: Sequence[EventRow]
) -> tuple[CaseFlow | None, list[SectorTime], list[TaskFact], list[FlowStep]]:
    """The rollup rows of one case from its whole event log (unsaved)."""
    from .selectors import _task_from_aggregate

    evs = sorted(events, key=lambda e: e.order)
    attr_evs = [e for e in evs if e.kind in ATTRIBUTION_KINDS]
    flow: CaseFlow | None = None
    times: list[SectorTime] = []
    if attr_evs:
        last_at = attr_evs[-1].at
        att = metrics.lead_time_attribution(attr_evs, now=last_at)
        if att is not None:
            start = next(e.at for e in attr_evs if e.kind == "opened")
            flow = CaseFlow(
                case_id=case_id,
                opened_at=opened_at,
                start_at=start,
                last_at=last_at,
                resolved=att.resolved,
                lead_us=_us(att.lead),
                front_us=_us(att.front_line),
                customer_us=_us(att.customer),
                tail="" if att.resolved else tail_holder(attr_evs),
                has_sector=any(e.sector is not None for e in evs),
            )
            times = [
                SectorTime(case_id=case_id, opened_at=opened_at, sector_id=s, seconds=float(v))
                for s, v in att.sectors.items()
            ]
    tasks = []
    for r in fold_task_events(evs):
        t = _task_from_aggregate(r)
        tasks.append(
            TaskFact(
                case_id=case_id,
                opened_at=opened_at,
                task=t.task,
                sector_id=t.sector,
                created_at=t.created_at,
                target_minutes=t.target_minutes,
                due_at=t.due_at,
                taken_at=t.taken_at,
                ended_at=t.ended_at,
                end_kind=t.end_kind,
                work_seconds=t.work_seconds,
                returns=t.returns,
            )
        )
    steps = [
        FlowStep(case_id=case_id, opened_at=opened_at, source=a, target=b, before=p, wait=w)
        for a, b, p, w in steps_of(evs)
    ]
    return flow, times, tasks, steps


# ------------------------------------------------------------------ maintenance


def _event_rows(case_ids: Iterable[int]) -> dict[int, list[EventRow]]:
    by_case: dict[int, list[EventRow]] = defaultdict(list)
    rows = (
        CaseEvent.objects.filter(case_id__in=list(case_ids))
        .order_by("case_id", "at", "id")
        .values_list("case_id", "id", "at", "kind", "sector_id", "data")
    )
    for case_id, pk, at, kind, sector, data in rows:
        by_case[case_id].append(EventRow(case_id, pk, at, kind, sector, data or {}))
    return by_case


def refresh_case(case: Case, event: CaseEvent | None = None) -> None:
    """Recompute one case's rollup rows from its events (call inside the writing transaction).

    With the `event` that triggered it, only the tables that event can change are rewritten: task rows
    change with task events only, steps with events that have a sector only.
    """
    events = _event_rows([case.pk]).get(case.pk, [])
    flow, times, tasks, steps = case_rows(case.pk, case.created_at, events)
    tables: list[tuple[type[Any], list[Any]]] = [(SectorTime, times)]
    if event is None or event.kind in TASK_KINDS:
        tables.append((TaskFact, tasks))
    if event is None or event.sector_id is not None:
        tables.append((FlowStep, steps))
    CaseFlow.objects.filter(case_id=case.pk).delete()
    for model, _rows in tables:
        model.objects.filter(case_id=case.pk).delete()
    if flow is not None:
        flow.save(force_insert=True)
    for model, rows in tables:
        model.objects.bulk_create(rows)


# The kinds after which a case's contact counts (CaseContacts) may have changed.
CONTACT_KINDS = frozenset(
    {
        "opened",
        "message_in",
        "handoff",
        "reopened",
        "status",
        "follow_up_linked",
        "repeat_explanation",
        "survey_answered",
        *CLOSING_KINDS,
    }
)


_CASE_COPY = (
    "created_at",
    "closed_at",
    "status",
    "team_id",
    "owner_id",
    "category_id",
    "channel",
    "kind",
    "reopen_count",
    "closure",
    "is_repeat_contact",
    "first_response_at",
    *case_durations.FIRST_RESPONSE,
    *case_durations.RESOLUTION,
    *case_durations.REQUESTER_WAIT,
)


def _copy_of_case(row: dict[str, Any]) -> dict[str, Any]:
    """The CaseContacts columns copied from the case (what the dashboard filters, buckets and measures)."""
    closed = row["status"] == Status.CLOSED
    return {
        "opened_at": row["created_at"],
        "closed_at": row["closed_at"] if closed else None,
        "team_id": row["team_id"],
        "owner_id": row["owner_id"],
        "category_id": row["category_id"],
        "channel": row["channel"],
        "kind": row["kind"],
        "reopen_count": row["reopen_count"],
        "confirmed": closed and row["closure"] == Closure.CONFIRMED,
        "repeat_contact": bool(row["is_repeat_contact"]),
        "answered": row["first_response_at"] is not None,
        **{f: row[f] for f in (*case_durations.FIRST_RESPONSE, *case_durations.RESOLUTION)},
        **{f: row[f] for f in case_durations.REQUESTER_WAIT},
    }


def _contacts_query(case_ids: Any, with_old: bool, handoff: int | None, lock: bool) -> Any:
    """The read of `_contacts_of`: a values() queryset, one row per case."""
    from steward.surveys.models import SurveyResponse

    def per_case(qs: Any) -> Coalesce:
        sub = qs.order_by().values("case").annotate(c=Count("pk")).values("c")
        return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))

    customer = Message.objects.filter(case=OuterRef("pk"), direction=Direction.INBOUND, is_automatic=False)
    inbound = customer.filter(created_at__lte=OuterRef("closed_at"))
    last_in = customer.order_by().values("case").annotate(m=Max("created_at")).values("m")
    first = (
        Case.objects.filter(follow_up_of=OuterRef("pk"))
        .order_by()
        .values("follow_up_of")
        .annotate(m=Min("created_at"))
        .values("m")
    )
    old: dict[str, Any] = (
        {f"old_{f}": F(f"contacts_rollup__{f}") for f in service_rollup.FACT_FIELDS} if with_old else {}
    )
    if with_old:
        old["old_has_answers"] = Exists(SurveyResponse.objects.filter(case=OuterRef("pk")))
    if handoff is not None:
        new = Handoff.objects.filter(pk=handoff)
        old |= {
            "h_at": Subquery(new.values("created_at")),
            "h_need": Subquery(new.annotate(n=Length("customer_need")).values("n")),
            "h_done": Subquery(new.annotate(n=Length("done_so_far")).values("n")),
        }
    qs = Case.objects.filter(pk__in=case_ids)
    if lock:
        qs = qs.select_for_update(of=("self",), no_key=True)
    return qs.annotate(
        inb=per_case(inbound),
        changes=per_case(Handoff.objects.filter(case=OuterRef("pk"))),
        follow=Subquery(first),
        last_in=Subquery(last_in),
        flag=Exists(CaseEvent.objects.filter(case=OuterRef("pk"), kind="repeat_explanation")),
        said=Exists(SurveyResponse.objects.filter(case=OuterRef("pk"), explained_more_than_once=True)),
        **old,
    ).values("pk", "inb", "changes", "follow", "last_in", "flag", "said", *_CASE_COPY, *old)


def _contacts_of(
    case_ids: Any, *, with_old: bool = False, handoff: int | None = None
) -> list[tuple[dict[str, Any] | None, CaseContacts, tuple[Any, int, int] | None]]:
    """The contact counts and case copies of these cases (a list or a subquery of ids), in one query.

    With `with_old`, each comes with the values its CaseContacts row holds now (None without a row):
    what the case contributed to ServiceDay, for the delta, and under "has_answers" whether the case
    has survey answers (SurveyDay counts them under the copy's scope values). The case rows are locked
    (a follow-up refreshes an earlier case outside that case's own service lock). With the id of a new
    `handoff`, the lengths of its summary come along (`_new_handoff`).
    """
    lock = with_old and connection.in_atomic_block and connection.features.has_select_for_update
    if isinstance(case_ids, (list, tuple)):
        # Compiled once per shape (steward.core.compiled): building this read through the ORM was
        # 25-30 ms of CPU, a quarter of an API "open a case" on average at the benchmark's follow-up rate.
        ids = [int(pk) for pk in case_ids]
        stand = [standin(n) for n in range(len(ids))]
        key = ("contacts_of", len(ids), with_old, handoff is not None, lock)
        query = compiled(
            key,
            lambda: _contacts_query(
                stand, with_old, standin(len(ids)) if handoff is not None else None, lock
            ),
        )
        values = dict(zip(stand, ids, strict=True))
        if handoff is not None:
            values[standin(len(ids))] = int(handoff)
        rows: Any = query.dicts(values)
    else:
        rows = _contacts_query(case_ids, with_old, handoff, lock)
    out = []
    for r in rows:
        made = None
        if handoff is not None and r["h_at"] is not None:
            made = (r["h_at"], r["h_need"] or 0, r["h_done"] or 0)
        before = None
        if with_old and r["old_opened_at"] is not None:
            before = {f: r[f"old_{f}"] for f in (*service_rollup.FACT_FIELDS, "has_answers")}
        contacts = CaseContacts(
            case_id=r["pk"],
            inbound_before_close=r["inb"],
            owner_changes=r["changes"],
            first_follow_up_at=r["follow"],
            repeat_flagged=r["flag"] or r["said"],
            last_inbound_at=r["last_in"],
            **_copy_of_case(r),
        )
        out.append((before, contacts, made))
    return out


_CONTACT_FIELDS = [f.attname for f in CaseContacts._meta.concrete_fields if not f.primary_key]


def _fact(c: CaseContacts) -> dict[str, Any]:
    return {f: getattr(c, f) for f in service_rollup.FACT_FIELDS}


def refresh_contacts(case_ids: list[int], *, handoff: int | None = None) -> None:
    """These cases' CaseContacts rows, and the change of what they contribute to ServiceDay (with a
    new `handoff`, its count in the all-cases row of its day).

    Three statements: the read (with the old copy), the upsert, and the ServiceDay delta (none when
    nothing the dashboard counts moved); two more when a case's scope values changed (a handoff): its
    survey answers, if any, move to the new owner and team (survey_rollup.move).
    """
    rows = _contacts_of(case_ids, with_old=True, handoff=handoff)
    extra = {}
    for _old, _c, made in rows:
        if made is not None:
            extra.update(service_rollup.handoff_contribution(*made))
    upsert([c for _old, c, _made in rows], unique=["case"], update=_CONTACT_FIELDS)
    service_rollup.apply(service_rollup.deltas(((old, _fact(c)) for old, c, _made in rows), extra))
    moved = {
        c.case_id: (old, _fact(c))
        for old, c, _made in rows
        if old is not None and old["has_answers"] and survey_rollup.scope_changed(old, _fact(c))
    }
    survey_rollup.move(moved)


# While the case is open (closed_at NULL) a status change moves nothing CaseContacts holds (the copy's
# closure fields are written at closure, the inbound count only counts messages up to the close), and a
# customer's message only moves `last_inbound_at` (the waiting list): one UPDATE instead of the refresh.
OPEN_CASE_QUIET_CONTACT_KINDS = frozenset({"message_in", "status"})


def _note_inbound(message: Message) -> None:
    """A customer's message on an open case: its time as the case's last inbound (one statement, written
    once per process: the ORM built it anew for every portal message)."""
    q = connection.ops.quote_name
    at = connection.ops.adapt_datetimefield_value(message.created_at)
    with bound_cursor(connection) as cur:
        cur.execute(
            f"UPDATE {q(CaseContacts._meta.db_table)} SET last_inbound_at = %s WHERE case_id = %s "
            "AND (last_inbound_at IS NULL OR last_inbound_at < %s)",
            [at, message.case_id, at],
        )


def _opened_rows(event: CaseEvent) -> None:
    """A case being opened (`opening`: created in this transaction, so it has no rollup rows yet): its
    rows from the case in memory, without reading anything (issue 9: the read `refresh_contacts` takes
    was a third of the CPU of opening a case through the API).

    CaseFlow: what `case_rows` gives for a log whose only attribution event is "opened": nothing
    elapsed, the front line holds it, no sector time, task or step (the opening's other events carry
    the actor's sector or none, so they cannot make a step; an event with a sector recomputes the case
    anyway). CaseContacts: what `_contacts_of` reads for it (test_rollups checks they are equal): no
    handoff, follow-up, flag or survey answer yet, and one customer message, the opening one, written
    at the case's creation time (case_open) and not counted before a close it has not had. ServiceDay:
    its contribution to its opening day. On PostgreSQL the three are part of case_open's one
    statement (`opening_rows`: the event says so), and nothing is left to write here.
    """
    if getattr(event, "rollup_rows_written", False):
        return
    case = event.case
    flow = _opened_flow(case, event)
    contacts = CaseContacts(
        case_id=case.pk,
        inbound_before_close=0,
        owner_changes=0,
        first_follow_up_at=None,
        repeat_flagged=False,
        last_inbound_at=case.created_at,
        **_copy_of_case({f: getattr(case, f) for f in _CASE_COPY}),
    )
    flow.save(force_insert=True)
    contacts.save(force_insert=True)
    service_rollup.apply(service_rollup.deltas([(None, _fact(contacts))]))


# PostgreSQL: the three INSERTs of an opened case in one statement, with a handful of parameters (the
# rows as values took 165, each made into a literal by the driver: a tenth of the CPU of opening a case).
# The copy is taken from the case row as `_PG_CONTACTS` (the rebuild) takes it, with nothing to count
# yet; its ServiceDay rows as `service_rollup.contributions` gives them for an open case (the "opened"
# family: the case, its repeat-contact flag, unanswered), keyed as `first_reply` keys them.
# Three CTEs inside case_open's statement (cases/opening.py), the case row from its CTE `c`.
_PG_OPENED = """
rollup_flow AS (
  INSERT INTO {flow} (case_id, opened_at, start_at, last_at, resolved, lead_us, front_us, customer_us, tail,
                      has_sector)
  VALUES ((SELECT id FROM c), %(opened)s, %(start)s, %(start)s, false, 0, 0, 0, %(tail)s, %(sector)s)
), rollup_contacts AS (
  INSERT INTO {contacts} (case_id, inbound_before_close, owner_changes, first_follow_up_at, repeat_flagged,
    last_inbound_at, opened_at, closed_at, team_id, owner_id, category_id, channel, kind, reopen_count,
    confirmed, repeat_contact, answered, first_response_seconds, first_response_business_seconds,
    resolution_seconds, resolution_business_seconds, requester_wait_seconds,
    requester_wait_business_seconds)
  SELECT c.id, 0, 0, NULL, false, c.created_at, c.created_at,
    CASE WHEN c.status = %(closed)s THEN c.closed_at END, c.team_id, c.owner_id, c.category_id, c.channel,
    c.kind, c.reopen_count, c.status = %(closed)s AND c.closure = %(confirmed)s, c.is_repeat_contact,
    c.first_response_at IS NOT NULL, c.first_response_seconds, c.first_response_business_seconds,
    c.resolution_seconds, c.resolution_business_seconds, c.requester_wait_seconds,
    c.requester_wait_business_seconds
  FROM c
  RETURNING opened_at, team_id, owner_id, category_id, channel, kind, repeat_contact, answered
), rollup_days AS (
  INSERT INTO {days} (family, day, dim, key, team_id, owner_id, category_id, channel, kind, {counters})
  SELECT 'o', (f.opened_at AT TIME ZONE %(tz)s)::date, d.dim, {key}, {values}
  FROM rollup_contacts f CROSS JOIN {dims}
  ON CONFLICT (family, dim, key, day) DO UPDATE SET {sets}
)"""
_OPENED_VALUES = {
    "rows": "1",
    "repeat_contact": "f.repeat_contact::int",
    "unanswered": "(NOT f.answered)::int",
}


_PG_OPENED_SQL: dict[str, Any] = {}  # formatted once: the CTEs with %s, and the parameters' names


def _opened_flow(case: Case, event: CaseEvent) -> CaseFlow:
    return CaseFlow(
        case_id=case.pk,
        opened_at=case.created_at,
        start_at=event.at,
        last_at=event.at,
        resolved=False,
        tail=FRONT,
        has_sector=event.sector_id is not None,
    )


def _opened_params(flow: CaseFlow) -> dict[str, Any]:
    return {
        "opened": flow.opened_at,
        "start": flow.start_at,
        "tail": flow.tail,
        "sector": flow.has_sector,
        "closed": Status.CLOSED,
        "confirmed": Closure.CONFIRMED,
        "tz": settings.TIME_ZONE,
    }


def opening_rows(sender: Any, *, case: Case, event: CaseEvent, **kwargs: Any) -> tuple[list[str], list[Any]]:
    """Receiver of `case_opening_rows` (PostgreSQL): an opened case's rows as CTEs of case_open's one
    statement, reading the new case row from its CTE `c` (issue 9: a round trip fewer). The event is
    marked, so that `on_case_event` does not write them again."""
    part = _PG_OPENED_SQL.get("part")
    if part is None:
        named = _opened_sql()
        names: list[str] = []

        def positional(match: Any) -> str:
            names.append(match.group(1))
            return "%s"

        part = _PG_OPENED_SQL["part"] = (re.sub(r"%\((\w+)\)s", positional, named), names)
    sql, names = part
    flow = _opened_flow(case, event)
    values = _opened_params(flow)
    event.rollup_rows_written = True  # type: ignore[attr-defined]
    return [sql], [values[name] for name in names]


def _opened_sql() -> str:
    q = connection.ops.quote_name
    days = q(ServiceDay._meta.db_table)
    return _PG_OPENED.format(
        flow=q(CaseFlow._meta.db_table),
        contacts=q(CaseContacts._meta.db_table),
        days=days,
        counters=", ".join(q(c) for c in service_rollup.COUNTERS),
        key=service_rollup._KEY_SQL,
        values=", ".join(_OPENED_VALUES.get(c, "0") for c in service_rollup.COUNTERS),
        dims=service_rollup._DIM_VALUES,
        sets=", ".join(f"{q(c)} = {days}.{q(c)} + excluded.{q(c)}" for c in service_rollup.COUNTERS),
    )


def _same_sector_as_before(event: CaseEvent) -> bool:
    """The event's sector adds no step: the case's latest earlier event with a sector (if any) has the
    same sector, and comes before it in log order. Otherwise the steps are recomputed from the log."""
    prev = (
        CaseEvent.objects.filter(case_id=event.case_id, sector__isnull=False)
        .exclude(pk=event.pk)
        .order_by("-at", "-id")
        .values_list("at", "id", "sector_id")
        .first()
    )
    if prev is None:
        return True  # the case's first event with a sector: a step needs two
    at, pk, sector = prev
    return sector == event.sector_id and (at, pk) < (event.at, event.pk)


# PostgreSQL: advance_flow's increment as one UPDATE. The span is computed in SQL exactly (EXTRACT of an
# interval is numeric, microseconds are whole); the row changes only where the Python path would apply
# the increment (not resolved, held by the front line or the customer, the event not before last_at).
_PG_ADVANCE = """
UPDATE {flow} SET
  lead_us = lead_us + {span},
  front_us = front_us + CASE WHEN tail = %(front)s THEN {span} ELSE 0 END,
  customer_us = customer_us + CASE WHEN tail = %(customer)s THEN {span} ELSE 0 END,
  last_at = %(at)s, resolved = %(resolved)s, tail = coalesce(%(tail)s, tail),
  has_sector = has_sector OR %(sector)s
WHERE case_id = %(case)s AND NOT resolved AND tail IN (%(front)s, %(customer)s) AND last_at <= %(at)s
"""


_UNCHANGED = "\x00"  # a status no event sets: status_after(event, _UNCHANGED) leaves it as it was


def _pg_advance(event: CaseEvent, *, tail: str | None) -> bool:
    span = "(EXTRACT(EPOCH FROM (%(at)s - last_at)) * 1000000)::bigint"
    sql = _PG_ADVANCE.format(flow=connection.ops.quote_name(CaseFlow._meta.db_table), span=span)
    params: dict[str, Any] = {
        "front": FRONT,
        "customer": CUSTOMER,
        "at": event.at,
        "resolved": event.kind in CLOSING_KINDS,
        "tail": tail,
        "sector": event.sector_id is not None,
        "case": event.case_id,
    }
    with bound_cursor(connection) as cur:  # one text for every event: prepared (core/prepared.py)
        cur.execute(sql, params)
        return cur.rowcount == 1


def advance_flow(event: CaseEvent) -> bool:
    """Apply one appended event to the case's rows from the stored rows alone, where that is exact.

    Exact (the same rows as `case_rows` over the whole log) when the event is no task event and:
    - its sector (if any) is the sector of the case's previous event with one: no new FlowStep, only
      `has_sector` set (an adviser of the front desk working on their case: the common event);
    - for an event the attribution reads: the case is not resolved, nobody but the front line or the
      customer holds it (`tail`), and the event is not dated before `last_at`. Then the time from
      `last_at` to the event goes whole to the holder (microseconds, no 1/k shares to round), and the
      holder afterwards follows from the event's own status. SectorTime and TaskFact do not change.
    Returns False when the case must be recomputed from its log instead (`refresh_case`).
    """
    if event.kind in TASK_KINDS:
        return False
    attributed = event.kind in ATTRIBUTION_KINDS
    if not attributed and event.sector_id is None:
        return True  # nothing the rows hold
    tail: str | None = None  # the holder after the event; None: the one before
    closing = event.kind in CLOSING_KINDS
    if attributed:
        row = EventRow(event.case_id, event.pk, event.at, event.kind, None, event.data or {})
        status = metrics.status_after(row, _UNCHANGED)
        if status == "closed" and not closing:
            return False  # "closed" without a closing event: the log's rules, not this shortcut
        if closing:
            tail = ""
        elif status != _UNCHANGED:
            tail = CUSTOMER if status in CUSTOMER_PENDING else FRONT
    if event.sector_id is not None and not _same_sector_as_before(event):
        return False
    if not attributed:  # an event with the same sector as before: at most `has_sector` changes
        CaseFlow.objects.filter(case_id=event.case_id, has_sector=False).update(has_sector=True)
        return True
    if connection.vendor == "postgresql":
        return _pg_advance(event, tail=tail)  # the same increment in one guarded UPDATE, no read first
    flow = CaseFlow.objects.filter(case_id=event.case_id).first()
    if flow is None or flow.resolved or flow.tail not in (FRONT, CUSTOMER) or event.at < flow.last_at:
        return False
    span = _us(metrics.exact_seconds(event.at - flow.last_at))
    if flow.tail == CUSTOMER:
        flow.customer_us += span
    else:
        flow.front_us += span
    flow.lead_us += span
    flow.last_at = event.at
    flow.resolved = closing
    if tail is not None:
        flow.tail = tail
    flow.has_sector = flow.has_sector or event.sector_id is not None
    flow.save(
        update_fields=["customer_us", "front_us", "lead_us", "last_at", "resolved", "tail", "has_sector"]
    )
    return True


def on_case_event(sender: Any, event: CaseEvent, opening: bool = False, **kwargs: Any) -> None:
    """Receiver of `case_event_recorded`: the event's case's rollups, in the event's transaction.

    `opening`: the event belongs to a case created in this same transaction (case_open)."""
    if opening and event.kind == "opened":
        _opened_rows(event)  # its flow, its copy and what it adds to ServiceDay
        return
    message = kwargs.get("message")
    if event.kind in OPEN_CASE_QUIET_CONTACT_KINDS and event.case.closed_at is None:
        if event.kind == "message_in" and not opening:  # an opening's message: read by the refresh above
            if message is None:
                refresh_contacts([event.case_id])
            elif message.direction == Direction.INBOUND and not message.is_automatic:
                _note_inbound(message)
    elif event.kind in CONTACT_KINDS:
        ids = [event.case_id]
        if event.kind == "follow_up_linked" and event.case.follow_up_of_id:
            ids.append(event.case.follow_up_of_id)  # the earlier case "came back"
        handoff = (event.data or {}).get("handoff") if event.kind == "handoff" else None
        refresh_contacts(ids, handoff=handoff if isinstance(handoff, int) else None)
    elif event.kind in HUMAN_REPLY_KINDS and event.case.first_response_at == event.at:
        service_rollup.first_reply(event.case)  # answered, first response time: one statement
    if event.kind not in ATTRIBUTION_KINDS and event.sector_id is None:
        return  # nothing the analysis screens read changed (a customer message, a note, ...)
    if not advance_flow(event):
        refresh_case(event.case, event)  # what the increment cannot decide exactly: from the log


# ------------------------------------------------------------------ rebuild


def _case_chunks(chunk: int) -> Iterator[list[tuple[int, datetime]]]:
    """(id, created_at) of every case, `chunk` at a time, in id order."""
    last = 0
    while True:
        cases = list(Case.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "created_at")[:chunk])
        if not cases:
            return
        last = cases[-1][0]
        yield cases


_PG_TASKS = """
INSERT INTO {taskfact} (case_id, opened_at, task, sector_id, created_at, target_minutes, due_at, taken_at,
                        ended_at, end_kind, work_seconds, returns)
SELECT t.case_id, c.created_at, t.task, t.sector, t.created, t.target, t.due::timestamptz, t.taken,
  greatest(t.completed, t.returned, t.cancelled),
  CASE WHEN t.completed IS NOT NULL
            AND t.completed >= coalesce(greatest(t.returned, t.cancelled), t.completed) THEN 'task_completed'
       WHEN t.returned IS NOT NULL AND t.returned >= coalesce(t.cancelled, t.returned) THEN 'task_returned'
       WHEN t.cancelled IS NOT NULL THEN 'task_cancelled' ELSE '' END,
  coalesce(t.minutes, 0) * 60.0, t.returns
FROM (
  SELECT (e.data ->> 'task')::int AS task, min(e.case_id) AS case_id,
    min(e.sector_id) FILTER (WHERE e.kind = 'task_created') AS sector,
    min(e.at) FILTER (WHERE e.kind = 'task_created') AS created,
    max((e.data ->> 'target_minutes')::int) FILTER (WHERE e.kind = 'task_created') AS target,
    max(e.data ->> 'due_at') FILTER (WHERE e.kind = 'task_created') AS due,
    min(e.at) FILTER (WHERE e.kind = 'task_taken') AS taken,
    max(e.at) FILTER (WHERE e.kind = 'task_completed') AS completed,
    max(e.at) FILTER (WHERE e.kind = 'task_returned') AS returned,
    max(e.at) FILTER (WHERE e.kind = 'task_cancelled') AS cancelled,
    count(*) FILTER (WHERE e.kind = 'task_returned') AS returns,
    sum((e.data ->> 'minutes')::int) FILTER (WHERE e.kind = 'task_work_logged') AS minutes
  FROM {events} e
  WHERE e.kind IN ({kinds}) AND (e.data ->> 'task') IS NOT NULL
  GROUP BY 1
) t JOIN {cases} c ON c.id = t.case_id
WHERE t.created IS NOT NULL
"""

_PG_STEPS = """
INSERT INTO {flowstep} (case_id, opened_at, source, target, before, wait)
SELECT r.case_id, c.created_at, r.p1, r.sector_id, r.p2, extract(epoch FROM r.at - r.prev_at)::float8
FROM (
  SELECT case_id, sector_id, at, prev_at, LAG(sector_id, 1) OVER w AS p1, LAG(sector_id, 2) OVER w AS p2
  FROM (
    SELECT e.case_id, e.sector_id, e.at, e.id,
           LAG(e.sector_id) OVER v AS prev, LAG(e.at) OVER v AS prev_at
    FROM {events} e WHERE e.sector_id IS NOT NULL
    WINDOW v AS (PARTITION BY e.case_id ORDER BY e.at, e.id)
  ) s
  WHERE prev IS NULL OR prev <> sector_id
  WINDOW w AS (PARTITION BY case_id ORDER BY at, id)
) r JOIN {cases} c ON c.id = r.case_id
WHERE r.p1 IS NOT NULL
"""


def _rebuild_pg(*, chunk: int, report: Callable[[str], None] | None) -> int:
    """PostgreSQL: tasks and steps in two set-based statements; the lead-time split (a sweep over each
    case's log, metrics.lead_time_attribution) in Python over a light read, written with COPY."""
    q = connection.ops.quote_name
    tables = {
        "taskfact": q(TaskFact._meta.db_table),
        "flowstep": q(FlowStep._meta.db_table),
        "events": q(CaseEvent._meta.db_table),
        "cases": q(Case._meta.db_table),
    }
    began = _time.monotonic()

    def say(line: str) -> None:
        if report:
            report(f"  rollups: {line} ({_time.monotonic() - began:,.0f} s)")

    with connection.cursor() as cur:
        # A rebuild can be run again from the event log: no need to wait for each chunk's fsync.
        cur.execute("SET synchronous_commit = off")
        kinds = ", ".join(["%s"] * len(TASK_KINDS))
        cur.execute(_PG_TASKS.format(kinds=kinds, **tables), TASK_KINDS)
        say(f"{cur.rowcount:,} sector tasks")
        cur.execute(_PG_STEPS.format(**tables))
        say(f"{cur.rowcount:,} sector-to-sector steps")
    total = Case.objects.count()
    kinds_list = sorted(ATTRIBUTION_KINDS)
    read = (
        f"SELECT e.case_id, e.id, e.at, e.kind, e.sector_id, e.data ->> 'to', e.data ->> 'task' "
        f"FROM {tables['events']} e WHERE e.case_id >= %s AND e.case_id <= %s "
        f"AND (e.kind = ANY(%s) OR e.sector_id IS NOT NULL) ORDER BY e.case_id, e.at, e.id"
    )
    flow_cols = (
        "case_id, opened_at, start_at, last_at, resolved, lead_us, front_us, customer_us, tail, has_sector"
    )
    done = 0
    for cases in _case_chunks(chunk):
        lo, last = cases[0][0], cases[-1][0]
        by_case: dict[int, list[EventRow]] = defaultdict(list)
        with connection.cursor() as cur:
            cur.execute(read, (lo, last, kinds_list))
            for case_id, pk, at, kind, sector, to, task in cur.fetchall():
                data = {}
                if to is not None:
                    data["to"] = to
                if task is not None:
                    data["task"] = task
                by_case[case_id].append(EventRow(case_id, pk, at, kind, sector, data))
        flows: list[tuple[Any, ...]] = []
        times: list[tuple[Any, ...]] = []
        for pk, created in cases:
            evs = by_case.get(pk)
            if not evs:
                continue
            flow, sector_times = _flow_of(pk, created, evs)
            if flow is not None:
                flows.append(flow)
                times += sector_times
        with transaction.atomic(), connection.cursor() as cur:
            raw = getattr(cur, "cursor", cur)
            with raw.copy(f"COPY {q(CaseFlow._meta.db_table)} ({flow_cols}) FROM STDIN") as copy:
                for row in flows:
                    copy.write_row(row)
            with raw.copy(
                f"COPY {q(SectorTime._meta.db_table)} (case_id, opened_at, sector_id, seconds) FROM STDIN"
            ) as copy:
                for row in times:
                    copy.write_row(row)
        done += len(cases)
        elapsed = _time.monotonic() - began
        rate = done / elapsed if elapsed else 0.0
        eta = (total - done) / rate if rate else 0.0
        say(f"{done:,}/{total:,} cases · {rate:,.0f} cases/s · ETA {eta:,.0f} s")
    return done


def _flow_of(
    case_id: int, opened_at: datetime, evs: Sequence[EventRow]
) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
    """A case's CaseFlow and SectorTime rows as tuples (the same figures `case_rows` gives)."""
    attr_evs = [e for e in evs if e.kind in ATTRIBUTION_KINDS]
    if not attr_evs:
        return None, []
    last_at = attr_evs[-1].at
    att = metrics.lead_time_attribution(attr_evs, now=last_at)
    if att is None:
        return None, []
    start = next(e.at for e in attr_evs if e.kind == "opened")
    flow = (
        case_id,
        opened_at,
        start,
        last_at,
        att.resolved,
        _us(att.lead),
        _us(att.front_line),
        _us(att.customer),
        "" if att.resolved else tail_holder(attr_evs),
        any(e.sector is not None for e in evs),
    )
    return flow, [(case_id, opened_at, s, float(v)) for s, v in att.sectors.items()]


_PG_CONTACTS = """
INSERT INTO {contacts} (case_id, inbound_before_close, owner_changes, first_follow_up_at, repeat_flagged,
  last_inbound_at,
  opened_at, closed_at, team_id, owner_id, category_id, channel, kind, reopen_count, confirmed,
  repeat_contact, answered, first_response_seconds, first_response_business_seconds, resolution_seconds,
  resolution_business_seconds, requester_wait_seconds, requester_wait_business_seconds)
SELECT c.id, coalesce(m.n, 0), coalesce(h.n, 0), f.first,
  EXISTS (SELECT 1 FROM {events} e WHERE e.case_id = c.id AND e.kind = 'repeat_explanation')
  OR EXISTS (SELECT 1 FROM {responses} r WHERE r.case_id = c.id AND r.explained_more_than_once),
  m.last, c.created_at, CASE WHEN c.status = %s THEN c.closed_at END, c.team_id, c.owner_id, c.category_id,
  c.channel, c.kind, c.reopen_count, c.status = %s AND c.closure = %s, c.is_repeat_contact,
  c.first_response_at IS NOT NULL, c.first_response_seconds, c.first_response_business_seconds,
  c.resolution_seconds, c.resolution_business_seconds, c.requester_wait_seconds,
  c.requester_wait_business_seconds
FROM {cases} c
LEFT JOIN (
  SELECT m.case_id, count(*) FILTER (WHERE m.created_at <= c2.closed_at) AS n, max(m.created_at) AS last
  FROM {messages} m JOIN {cases} c2 ON c2.id = m.case_id
  WHERE m.direction = %s AND NOT m.is_automatic GROUP BY m.case_id
) m ON m.case_id = c.id
LEFT JOIN (SELECT case_id, count(*) AS n FROM {handoffs} GROUP BY case_id) h ON h.case_id = c.id
LEFT JOIN (
  SELECT follow_up_of_id, min(created_at) AS first FROM {cases} WHERE follow_up_of_id IS NOT NULL
  GROUP BY follow_up_of_id
) f ON f.follow_up_of_id = c.id
"""


def _rebuild_contacts(*, chunk: int, report: Callable[[str], None] | None) -> None:
    began = _time.monotonic()
    if connection.vendor == "postgresql":
        # One set-based statement: the same counts `_contacts_of` takes per case.
        from steward.surveys.models import SurveyResponse

        q = connection.ops.quote_name
        with connection.cursor() as cur:
            cur.execute(
                _PG_CONTACTS.format(
                    contacts=q(CaseContacts._meta.db_table),
                    cases=q(Case._meta.db_table),
                    messages=q(Message._meta.db_table),
                    handoffs=q(Handoff._meta.db_table),
                    events=q(CaseEvent._meta.db_table),
                    responses=q(SurveyResponse._meta.db_table),
                ),
                (Status.CLOSED, Status.CLOSED, Closure.CONFIRMED, Direction.INBOUND),
            )
            if report:
                report(f"  rollups: contacts of {cur.rowcount:,} cases ({_time.monotonic() - began:,.0f} s)")
        return
    done = 0
    for cases in _case_chunks(chunk):
        ids = Case.objects.filter(pk__gte=cases[0][0], pk__lte=cases[-1][0]).values("pk")
        with transaction.atomic():
            CaseContacts.objects.bulk_create([c for _old, c, _made in _contacts_of(ids)], batch_size=5000)
        done += len(cases)
        if report:
            report(f"  rollups: contacts of {done:,} cases ({_time.monotonic() - began:,.0f} s)")


def rebuild_all(*, chunk: int = 5000, report: Callable[[str], None] | None = None) -> int:
    """Recompute every case's rollups from the event log, `chunk` cases per transaction. Idempotent.

    Returns the number of cases read. For a bulk load (generate_load_data) and existing installs
    (`manage.py rebuild_rollups`). Memory stays bounded by one chunk.
    """
    began = _time.monotonic()
    outer = connection.in_atomic_block  # TRUNCATE cannot run with pending FK checks (a test, a caller)
    with transaction.atomic():
        for model in (CaseFlow, SectorTime, TaskFact, FlowStep, CaseContacts, ServiceDay, SurveyDay):
            if connection.vendor == "postgresql" and not outer:
                with connection.cursor() as cur:
                    cur.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")
            else:
                model.objects.all().delete()
    _rebuild_contacts(chunk=max(chunk, 5000), report=report)
    # The decision assessment's hourly contact counts (steward.decisions.contact_hours), set-based.
    from steward.decisions import contact_hours

    contact_hours.rebuild(report=report)
    from steward.costs.rollup import rebuild as rebuild_costs

    rebuild_costs(report=report)  # the cost-of-quality page's CostDay (one set-based statement)
    with transaction.atomic():
        days = service_rollup.rebuild()
    if report:
        report(f"  rollups: {days:,} service day rows ({_time.monotonic() - began:,.0f} s)")
    with transaction.atomic():  # the survey answers under their cases' copies (read above)
        days = survey_rollup.rebuild()
    if report:
        report(f"  rollups: {days:,} survey day rows ({_time.monotonic() - began:,.0f} s)")
    if connection.vendor == "postgresql":
        done = _rebuild_pg(chunk=chunk, report=report)
        with connection.cursor() as cur:
            for model in (CaseFlow, SectorTime, TaskFact, FlowStep, CaseContacts, ServiceDay, SurveyDay):
                cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        return done
    total = Case.objects.count()
    done = 0
    for cases in _case_chunks(chunk):
        by_case = _event_rows(pk for pk, _ in cases)
        flows: list[CaseFlow] = []
        times: list[SectorTime] = []
        tasks: list[TaskFact] = []
        steps: list[FlowStep] = []
        for pk, created in cases:
            f, ti, ta, st = case_rows(pk, created, by_case.get(pk, []))
            if f is not None:
                flows.append(f)
            times += ti
            tasks += ta
            steps += st
        with transaction.atomic():
            CaseFlow.objects.bulk_create(flows, batch_size=2000)
            SectorTime.objects.bulk_create(times, batch_size=2000)
            TaskFact.objects.bulk_create(tasks, batch_size=2000)
            FlowStep.objects.bulk_create(steps, batch_size=2000)
        done += len(cases)
        if report:
            elapsed = _time.monotonic() - began
            rate = done / elapsed if elapsed else 0.0
            eta = (total - done) / rate if rate else 0.0
            report(f"  rollups: {done:,}/{total:,} cases · {rate:,.0f} cases/s · ETA {eta:,.0f} s")
    return done
