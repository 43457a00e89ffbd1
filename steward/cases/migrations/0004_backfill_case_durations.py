"""Backfill the stored case durations from the event log (steward.cases.durations.durations_from_log).

Chunked by primary key: one query for a chunk's cases, one for their events, one bulk update. Each team's
business calendar is built once, with the holidays read once. Reversible: the fields are emptied.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

CHUNK = 500


def backfill(apps: Any, schema_editor: Any) -> None:
    from steward.cases.durations import ALL_FIELDS, LogEvent, durations_from_log
    from steward.core.business_calendar import calendar_for_team

    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    Team = apps.get_model("accounts", "Team")
    Holiday = apps.get_model("sectors", "Holiday")
    db = schema_editor.connection.alias

    holidays = frozenset(Holiday.objects.using(db).values_list("date", flat=True))
    calendars = {None: calendar_for_team(None, holidays)}
    for team in Team.objects.using(db).all():
        calendars[team.pk] = calendar_for_team(team, holidays)

    last_pk = 0
    while True:
        cases = list(
            Case.objects.using(db)
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .only("pk", "created_at", "opened_by_id", "team_id")[:CHUNK]
        )
        if not cases:
            break
        last_pk = cases[-1].pk
        logs: dict[int, list[LogEvent]] = {c.pk: [] for c in cases}
        rows = (
            CaseEvent.objects.using(db)
            .filter(case_id__in=logs)
            .values_list("case_id", "pk", "at", "kind", "actor_id", "data")
        )
        for case_id, pk, at, kind, actor_id, data in rows.iterator(chunk_size=2000):
            logs[case_id].append(LogEvent(id=pk, at=at, kind=kind, actor_id=actor_id, data=data))
        for case in cases:
            values = durations_from_log(
                logs[case.pk],
                created_at=case.created_at,
                opened_by_staff=case.opened_by_id is not None,
                calendar=calendars.get(case.team_id, calendars[None]),
            )
            for name, value in values.items():
                setattr(case, name, value)
        Case.objects.using(db).bulk_update(cases, list(ALL_FIELDS), batch_size=CHUNK)


def empty(apps: Any, schema_editor: Any) -> None:
    from steward.cases.durations import ALL_FIELDS

    Case = apps.get_model("cases", "Case")
    Case.objects.using(schema_editor.connection.alias).update(**dict.fromkeys(ALL_FIELDS))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_case_durations"),
        ("accounts", "0002_team_business_calendar"),
        ("sectors", "0002_task_kinds_targets_holidays"),
    ]

    operations = [migrations.RunPython(backfill, empty, elidable=True)]
