"""An opened case's rows in one statement on PostgreSQL: the case, its first message, its events, the
hour's contact count and what other apps write for a new case (signals.case_opening_rows: the analysis
rollups' rows) (issue 9: five round trips were one each; every round trip costs the worker and the
database server time beyond the statement's own work).

The case row's INSERT returns its id; the message and the events take it from there, and the event
about the message takes the message's id into its data, where `case_open` elsewhere writes it in
Python between the INSERTs (the path of the other databases, one INSERT after the other, with no
other app's rows). The values written are those `compiled.insert` writes (each field's
pre_save, then its database preparation); test_opening checks the rows against the step-by-step path.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import connections

from steward.core.compiled import insert, insert_into, inserted_fields, save_plan, save_values, saved
from steward.core.prepared import bound_cursor
from steward.decisions.contact_hours import execute as execute_count

from .models import Case, CaseEvent, Message
from .signals import case_opening_rows

# The key in a message event's data that names its message (as case_open writes it).
MESSAGE_KEY = "message"

_SQL: dict[tuple[Any, ...], tuple[str, Any, Any, Any]] = {}


def _statement(
    events: int, message_event: int, hour_sql: str, parts: tuple[str, ...]
) -> tuple[str, Any, Any, Any]:
    """The statement for an opening with `events` events, the `message_event`-th of which names the
    message, plus the hour's upsert and the other apps' CTEs (`parts`); and the save plans of the three
    models' values."""
    key = (events, message_event, hour_sql, parts)
    found = _SQL.get(key)
    if found is not None:
        return found
    connection = connections["default"]
    q = connection.ops.quote_name

    def columns(model: Any) -> tuple[list[Any], list[Any]]:
        """The fields an INSERT writes, split into the case reference (written from `c`) and the rest."""
        fields = inserted_fields(model)
        return fields, [f for f in fields if f.name != "case"]

    case_fields = inserted_fields(Case)
    message_all, message_rest = columns(Message)
    event_all, event_rest = columns(CaseEvent)

    def row(all_fields: list[Any], data_of_message: bool = False) -> str:
        values = []
        for f in all_fields:
            if f.name == "case":
                values.append("(SELECT id FROM c)")
            elif data_of_message and f.name == "data":
                # The message's id added to the event's data (jsonb): what case_open writes in Python.
                values.append(f"%s::jsonb || jsonb_build_object('{MESSAGE_KEY}', (SELECT id FROM m))")
            else:
                values.append("%s")
        return "(" + ", ".join(values) + ")"

    event_rows = ", ".join(row(event_all, data_of_message=i == message_event) for i in range(events))

    def pk(model: Any) -> str:
        return q(str(model._meta.pk.column))

    version = q(str(CaseEvent._meta.get_field("version").column))
    case_values = "(" + ", ".join(["%s"] * len(case_fields)) + ")"
    sql = (
        f"WITH c AS ({insert_into(Case, case_fields, connection)} VALUES {case_values} RETURNING *), "
        f"m AS ({insert_into(Message, message_all, connection)} VALUES {row(message_all)} "
        f"RETURNING {pk(Message)} AS id), "
        f"e AS ({insert_into(CaseEvent, event_all, connection)} VALUES {event_rows} "
        f"RETURNING {pk(CaseEvent)} AS id, {version} AS version), "
        f"h AS ({hour_sql}) " + "".join(f", {part}" for part in parts) + " "
        "SELECT (SELECT id FROM c), (SELECT id FROM m), (SELECT array_agg(id ORDER BY version) FROM e)"
    )
    found = _SQL[key] = (
        sql,
        save_plan(case_fields, connection),
        save_plan(message_rest, connection),
        save_plan(event_rest, connection),
    )
    return found


def insert_opening(
    case: Case,
    message: Message,
    events: list[CaseEvent],
    *,
    message_event: int,
    hour: tuple[str, list[Any]],
) -> None:
    """INSERT the new `case`, its first `message` and its `events` (distinct versions; the
    `message_event`-th gets the message's id in its data) and run the `hour` upsert
    (contact_hours.count_statement): in one statement on PostgreSQL, one after the other elsewhere
    (compiled INSERTs); the instances come out as saved ones."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        insert(case)
        message.case = case
        insert(message)
        events[message_event].data[MESSAGE_KEY] = message.pk
        for event in events:
            event.case = case
        insert(*events)
        execute_count(hour)
        return
    hour_sql, hour_params = hour
    parts: list[str] = []
    part_params: list[Any] = []
    for _receiver, answer in case_opening_rows.send(sender=Case, case=case, event=events[0]):
        if answer:
            ctes, values = cast(tuple[list[str], list[Any]], answer)
            parts += ctes
            part_params += values
    sql, case_plan, message_plan, event_plan = _statement(len(events), message_event, hour_sql, tuple(parts))
    params = [
        *save_values(case_plan, case, connection, add=True),
        *save_values(message_plan, message, connection, add=True),
    ]
    for event in events:
        params += save_values(event_plan, event, connection, add=True)
    params += hour_params
    params += part_params
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, params)
        case_id, message_id, event_ids = cursor.fetchone()
    saved([case], [case_id])
    message.case = case  # the reference's id, as Django sets it on a saved parent
    saved([message], [message_id])
    events[message_event].data[MESSAGE_KEY] = message_id
    for event in events:
        event.case = case
    saved(events, event_ids)
