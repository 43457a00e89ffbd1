"""Case durations in calendar and business seconds (metrics.md §0 "store both", §3.8).

The case services write each duration at the moment it happens (first reply, closure), so reports read
stored integers instead of replaying the log; the event log stays the truth and `durations_from_log`
recomputes every one of them from it (the backfill migration uses it, and the tests check that the
services agree with it).

- First response: the customer's first (non-automatic) message → the first HUMAN public reply (a reply or
  a proposed solution written by a person). Cases opened by staff (a phone call, a walk-in) have none.
- First resolution: created → the first closure (confirmed or closed unconfirmed). Full resolution:
  created → the last closure, after any reopen; empty while the case is open again.
- Requester wait: time in statuses where the case waits on us (new, open, reopened, waiting on a sector)
  up to the closure; agent wait: time waiting on the customer (waiting on customer, solution proposed).
  Both are written at closure and emptied by a reopen.

Business seconds use the business calendar of the case's team (its time zone, days and hours), which is
the organisation's calendar when the team sets none. A negative duration (clock skew, a bad import) is
not stored: it is logged and left empty.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from steward.core.business_calendar import BusinessCalendar, business_seconds_between

logger = logging.getLogger(__name__)

# Status values and event kinds as stored (kept as literals so the backfill migration can use this module).
WAITING_ON_US = frozenset({"new", "open", "reopened", "waiting_sector"})
WAITING_ON_CUSTOMER = frozenset({"waiting_customer", "solution_proposed"})
CLOSING_KINDS = frozenset({"solution_confirmed", "closed_unconfirmed"})
HUMAN_REPLY_KINDS = frozenset({"message_out", "solution_proposed"})
# Events whose data {"from", "to"} moves the status (a handoff's from/to are people, not statuses).
STATUS_MOVES = frozenset(
    {"status", "message_out", "task_created", "task_completed", "task_returned", "task_cancelled"}
)

FIRST_RESPONSE = ("first_response_seconds", "first_response_business_seconds")
FIRST_RESOLUTION = ("first_resolution_seconds", "first_resolution_business_seconds")
RESOLUTION = ("resolution_seconds", "resolution_business_seconds")
REQUESTER_WAIT = ("requester_wait_seconds", "requester_wait_business_seconds")
AGENT_WAIT = ("agent_wait_seconds", "agent_wait_business_seconds")
CLOSURE_FIELDS = (*RESOLUTION, *REQUESTER_WAIT, *AGENT_WAIT)  # emptied by a reopen
ALL_FIELDS = (*FIRST_RESPONSE, *FIRST_RESOLUTION, *CLOSURE_FIELDS)


@dataclass(frozen=True)
class Span:
    seconds: int
    business_seconds: int


@dataclass(frozen=True)
class LogEvent:
    """What the durations need from one CaseEvent row."""

    id: int
    at: datetime
    kind: str
    actor_id: int | None = None
    data: Mapping[str, Any] | None = None


def span(start: datetime, end: datetime, calendar: BusinessCalendar) -> Span | None:
    """Calendar and business seconds from `start` to `end`; None (logged) when `end` comes first."""
    if end < start:
        logger.warning("Negative case duration rejected: %s → %s", start.isoformat(), end.isoformat())
        return None
    return Span(int((end - start).total_seconds()), business_seconds_between(start, end, calendar))


def status_after(event: LogEvent, current: str) -> str:
    """The case status once `event` has happened, read from the log (never from the case row)."""
    data = event.data or {}
    if event.kind == "opened":
        return "new"
    if event.kind in STATUS_MOVES and data.get("to"):
        return str(data["to"])
    if event.kind == "solution_proposed":
        return "solution_proposed"
    if event.kind in CLOSING_KINDS:
        return "closed"
    if event.kind == "reopened":
        return "reopened"
    return current


@dataclass(frozen=True)
class Waits:
    requester: Span  # waiting on us
    agent: Span  # waiting on the customer


def waits(events: Iterable[LogEvent], *, end: datetime, calendar: BusinessCalendar) -> Waits:
    """Time in statuses waiting on us and waiting on the customer, from the log up to `end`.

    Each stretch between two events (the last one up to `end`) belongs to the status after the earlier
    event. A closed stretch (closed, then reopened) belongs to neither.
    """
    evs = sorted((e for e in events if e.at <= end), key=lambda e: (e.at, e.id))
    us = [0, 0]
    customer = [0, 0]
    status = ""
    for i, e in enumerate(evs):
        status = status_after(e, status)
        stop = evs[i + 1].at if i + 1 < len(evs) else end
        if stop <= e.at:
            continue
        bucket = us if status in WAITING_ON_US else customer if status in WAITING_ON_CUSTOMER else None
        if bucket is not None:
            bucket[0] += int((stop - e.at).total_seconds())
            bucket[1] += business_seconds_between(e.at, stop, calendar)
    return Waits(Span(*us), Span(*customer))


def _set(values: dict[str, int | None], names: tuple[str, str], value: Span | None) -> None:
    values[names[0]] = value.seconds if value else None
    values[names[1]] = value.business_seconds if value else None


def durations_from_log(
    events: Iterable[LogEvent], *, created_at: datetime, opened_by_staff: bool, calendar: BusinessCalendar
) -> dict[str, int | None]:
    """Every stored duration of one case, recomputed from its event log (field name → seconds or None)."""
    evs = sorted(events, key=lambda e: (e.at, e.id))
    values: dict[str, int | None] = dict.fromkeys(ALL_FIELDS)

    first_in = next((e for e in evs if e.kind == "message_in" and not (e.data or {}).get("automatic")), None)
    if not opened_by_staff and first_in is not None:
        reply = next(
            (
                e
                for e in evs
                if e.kind in HUMAN_REPLY_KINDS and e.actor_id is not None and e.at >= first_in.at
            ),
            None,
        )
        if reply is not None:
            _set(values, FIRST_RESPONSE, span(first_in.at, reply.at, calendar))

    closings = [e for e in evs if e.kind in CLOSING_KINDS]
    if closings:
        _set(values, FIRST_RESOLUTION, span(created_at, closings[0].at, calendar))
    status = ""
    for e in evs:
        status = status_after(e, status)
    if status == "closed" and closings:
        last = closings[-1]
        _set(values, RESOLUTION, span(created_at, last.at, calendar))
        w = waits(evs, end=last.at, calendar=calendar)
        _set(values, REQUESTER_WAIT, w.requester)
        _set(values, AGENT_WAIT, w.agent)
    return values
