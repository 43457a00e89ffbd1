"""Stored case durations (metrics.md §0, §3.8): written by the services when they happen, equal to what the
event log says, in calendar and business seconds on the owning team's calendar (weekend, holiday, a team
in Asia/Bangkok), and backfilled for existing cases by the data migration."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import connection

from steward.accounts.models import Team
from steward.cases import durations
from steward.cases import services as cs
from steward.cases.durations import LogEvent, durations_from_log
from steward.cases.models import Case, CaseEvent, Channel, Status
from steward.core.business_calendar import BusinessCalendar, calendar_for_team
from steward.sectors.models import Holiday

HOUR = 3600
MON_FRI = frozenset(range(5))
UTC_9_17 = BusinessCalendar(time(9), time(17), MON_FRI, frozenset(), ZoneInfo("UTC"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


# 2026-11-20 is a Friday, 2026-11-23 a Monday, 2026-11-24 a Tuesday.
FRI_16 = utc(2026, 11, 20, 16)
MON_9 = utc(2026, 11, 23, 9)


def log(*rows: tuple) -> list[LogEvent]:
    return [
        LogEvent(id=i, at=at, kind=kind, actor_id=actor, data=data or {})
        for i, (at, kind, actor, data) in enumerate(rows, start=1)
    ]


# ------------------------------------------------------------------ pure: the log decides


def test_first_response_over_a_weekend_counts_only_business_hours():
    events = log(
        (FRI_16, "opened", None, {}),
        (FRI_16, "message_in", None, {"automatic": False}),
        (utc(2026, 11, 23, 10), "message_out", 7, {"from": "new", "to": "open"}),
    )
    d = durations_from_log(events, created_at=FRI_16, opened_by_staff=False, calendar=UTC_9_17)
    assert d["first_response_seconds"] == 66 * HOUR  # Fri 16:00 → Mon 10:00
    assert d["first_response_business_seconds"] == 2 * HOUR  # Fri 16–17, Mon 9–10


def test_a_holiday_is_not_business_time():
    calendar = BusinessCalendar(time(9), time(17), MON_FRI, frozenset({date(2026, 11, 24)}), ZoneInfo("UTC"))
    start = utc(2026, 11, 23, 16, 30)
    events = log(
        (start, "opened", None, {}),
        (start, "message_in", None, {}),
        (utc(2026, 11, 25, 9, 30), "message_out", 7, {"to": "open"}),
    )
    d = durations_from_log(events, created_at=start, opened_by_staff=False, calendar=calendar)
    assert d["first_response_seconds"] == 41 * HOUR
    assert d["first_response_business_seconds"] == HOUR  # Mon 16:30–17, (Tue off), Wed 9–9:30


def test_a_bangkok_team_counts_its_own_local_hours():
    bangkok = BusinessCalendar(time(8, 30), time(17, 30), MON_FRI, frozenset(), ZoneInfo("Asia/Bangkok"))
    start = utc(2026, 11, 23, 1)  # 08:00 in Bangkok, before the team opens
    events = log(
        (start, "opened", None, {}),
        (start, "message_in", None, {}),
        (utc(2026, 11, 23, 3), "message_out", 7, {}),
    )
    d = durations_from_log(events, created_at=start, opened_by_staff=False, calendar=bangkok)
    assert d["first_response_business_seconds"] == 90 * 60  # 08:30–10:00 Bangkok time
    # The same instants on a 9–17 UTC calendar lie before opening: no business time at all.
    d_utc = durations_from_log(events, created_at=start, opened_by_staff=False, calendar=UTC_9_17)
    assert d_utc["first_response_business_seconds"] == 0


def test_automatic_messages_neither_start_nor_stop_the_first_response_clock():
    events = log(
        (MON_9, "opened", None, {}),
        (MON_9, "message_in", None, {"automatic": True}),  # the customer's out-of-office
        (utc(2026, 11, 23, 10), "message_in", None, {"automatic": False}),
        (utc(2026, 11, 23, 10, 1), "message_out", None, {}),  # no person: not a human reply
        (utc(2026, 11, 23, 12), "solution_proposed", 7, {}),
    )
    d = durations_from_log(events, created_at=MON_9, opened_by_staff=False, calendar=UTC_9_17)
    assert d["first_response_seconds"] == 2 * HOUR


def test_cases_opened_by_staff_have_no_first_response_time():
    events = log(
        (MON_9, "opened", 7, {}),
        (MON_9, "message_in", None, {}),
        (utc(2026, 11, 23, 10), "message_out", 7, {}),
    )
    d = durations_from_log(events, created_at=MON_9, opened_by_staff=True, calendar=UTC_9_17)
    assert d["first_response_seconds"] is None and d["first_response_business_seconds"] is None


def test_requester_wait_excludes_waiting_on_the_customer_and_closed_stretches():
    at = lambda h, m=0, day=23: utc(2026, 11, day, h, m)  # noqa: E731
    events = log(
        (at(9), "opened", None, {}),
        (at(9), "message_in", None, {}),
        (at(10), "message_out", 7, {"from": "new", "to": "waiting_customer"}),  # us 1 h
        (at(12), "message_in", None, {}),  # customer 2 h
        (at(12), "status", None, {"from": "waiting_customer", "to": "open"}),
        (at(13), "solution_proposed", 7, {"from": "open"}),  # us 1 h
        (at(15), "solution_confirmed", None, {}),  # customer 2 h
        (at(16), "message_in", None, {}),  # closed 15–16: nobody's
        (at(16), "reopened", None, {"reason": "customer_wrote"}),
        (at(10, day=24), "solution_proposed", 7, {"from": "reopened"}),  # us 18 h (business 2 h)
        (at(11, day=24), "closed_unconfirmed", 9, {"from": "solution_proposed"}),  # customer 1 h
    )
    d = durations_from_log(events, created_at=at(9), opened_by_staff=False, calendar=UTC_9_17)
    assert d["first_resolution_seconds"] == 6 * HOUR
    assert d["resolution_seconds"] == 26 * HOUR
    assert d["resolution_business_seconds"] == 10 * HOUR  # Mon 9–17, Tue 9–11
    assert (d["requester_wait_seconds"], d["requester_wait_business_seconds"]) == (20 * HOUR, 4 * HOUR)
    assert (d["agent_wait_seconds"], d["agent_wait_business_seconds"]) == (5 * HOUR, 5 * HOUR)


def test_an_open_case_has_no_full_resolution_or_wait():
    events = log(
        (MON_9, "opened", None, {}),
        (utc(2026, 11, 23, 11), "solution_confirmed", None, {}),
        (utc(2026, 11, 23, 12), "reopened", None, {}),
    )
    d = durations_from_log(events, created_at=MON_9, opened_by_staff=False, calendar=UTC_9_17)
    assert d["first_resolution_seconds"] == 2 * HOUR
    assert d["resolution_seconds"] is None and d["requester_wait_seconds"] is None


def test_a_negative_duration_is_rejected_not_stored():
    events = log(
        (MON_9, "opened", None, {}),
        (MON_9, "message_in", None, {}),
        (utc(2026, 11, 23, 8), "solution_confirmed", 7, {}),
    )
    d = durations_from_log(events, created_at=MON_9, opened_by_staff=False, calendar=UTC_9_17)
    assert d["first_resolution_seconds"] is None and d["resolution_seconds"] is None
    assert durations.span(MON_9, FRI_16, UTC_9_17) is None


# ------------------------------------------------------------------ the team's calendar


def test_a_team_calendar_falls_back_to_the_settings_field_by_field(settings):
    settings.TIME_ZONE = "UTC"
    settings.STEWARD_BUSINESS_HOURS = "09:00-17:00"
    settings.STEWARD_BUSINESS_DAYS = ["mon", "tue", "wed", "thu", "fri"]
    team = Team(name="Bangkok", time_zone="Asia/Bangkok", business_days="mon,tue,wed,thu,fri,sat")
    calendar = calendar_for_team(team, holidays=[date(2026, 12, 5)])
    assert calendar.tz.key == "Asia/Bangkok"
    assert (calendar.opens, calendar.closes) == (time(9), time(17))
    assert calendar.weekdays == frozenset(range(6))
    assert calendar.holidays == frozenset({date(2026, 12, 5)})
    plain = calendar_for_team(Team(name="Plain"), holidays=[])
    assert plain.tz.key == "UTC" and plain.weekdays == MON_FRI
    assert calendar_for_team(None, holidays=[]) == plain


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("time_zone", "Mars/Olympus"),
        ("business_hours", "nine to five"),
        ("business_hours", "17:00-09:00"),
        ("business_days", "mon,funday"),
    ],
)
def test_a_team_with_a_bad_calendar_is_refused(field, value):
    team = Team(name="Bad", **{field: value})
    with pytest.raises(ValidationError) as exc:
        team.full_clean()
    assert field in exc.value.message_dict


@pytest.mark.django_db
def test_a_good_team_calendar_validates():
    Team(
        name="Good", time_zone="Asia/Bangkok", business_hours="08:30-17:30", business_days="mon,sat"
    ).full_clean()


# ------------------------------------------------------------------ the services write them


def customer_case(personas, at: datetime) -> Case:
    """A case the customer opened by e-mail (no staff actor), owned by the adviser."""
    return cs.case_open(
        actor=None,
        customer=personas.customer,
        subject="Invoice is wrong",
        description="I was charged twice.",
        owner=personas.adviser,
        channel=Channel.EMAIL,
        at=at,
    )


def stored(case: Case) -> dict[str, int | None]:
    return dict(Case.objects.filter(pk=case.pk).values(*durations.ALL_FIELDS).get())


def from_log(case: Case) -> dict[str, int | None]:
    case.refresh_from_db()
    events = [
        LogEvent(id=pk, at=at, kind=kind, actor_id=actor_id, data=data)
        for pk, at, kind, actor_id, data in CaseEvent.objects.filter(case=case).values_list(
            "pk", "at", "kind", "actor_id", "data"
        )
    ]
    return durations_from_log(
        events,
        created_at=case.created_at,
        opened_by_staff=case.opened_by_id is not None,
        calendar=calendar_for_team(case.team),
    )


@pytest.fixture
def utc_calendar(settings):
    settings.TIME_ZONE = "UTC"
    settings.STEWARD_BUSINESS_HOURS = "09:00-17:00"
    settings.STEWARD_BUSINESS_DAYS = ["mon", "tue", "wed", "thu", "fri"]


def test_first_human_reply_stores_the_first_response_once(personas, utc_calendar):
    case = customer_case(personas, FRI_16)
    cs.case_reply(actor=personas.adviser, case=case, body="Looking into it.", at=utc(2026, 11, 23, 10))
    cs.case_reply(actor=personas.adviser, case=case, body="Still on it.", at=utc(2026, 11, 23, 15))
    values = stored(case)
    assert values["first_response_seconds"] == 66 * HOUR
    assert values["first_response_business_seconds"] == 2 * HOUR
    assert values == from_log(case)


def test_a_proposed_solution_can_be_the_first_response(personas, utc_calendar):
    case = customer_case(personas, MON_9)
    cs.case_propose_solution(
        actor=personas.adviser, case=case, solution="Refund issued.", at=utc(2026, 11, 23, 9, 45)
    )
    assert stored(case)["first_response_seconds"] == 45 * 60


def test_a_case_opened_by_staff_stores_no_first_response(personas, utc_calendar):
    case = personas.case  # the adviser opened it (a phone call)
    cs.case_reply(
        actor=personas.adviser,
        case=case,
        body="As discussed on the phone.",
        at=case.created_at + timedelta(minutes=5),
    )
    case.refresh_from_db()
    assert case.first_response_at is not None
    assert case.first_response_seconds is None and case.first_response_business_seconds is None


def test_an_automatic_inbound_message_does_not_count_as_the_customer_writing(personas, utc_calendar):
    case = customer_case(personas, MON_9)
    cs.case_receive_message(
        case=case, body="I am out of office.", is_automatic=True, at=utc(2026, 11, 23, 9, 30)
    )
    cs.case_reply(actor=personas.adviser, case=case, body="Hello", at=utc(2026, 11, 23, 10))
    assert stored(case)["first_response_seconds"] == HOUR
    assert stored(case) == from_log(case)


def test_closure_reopen_and_second_closure_store_first_and_full_resolution_and_waits(personas, utc_calendar):
    at = lambda h, m=0, day=23: utc(2026, 11, day, h, m)  # noqa: E731
    a = personas.adviser
    case = customer_case(personas, at(9))
    cs.case_reply(actor=a, case=case, body="Which invoice?", wait_for_customer=True, at=at(10))
    cs.case_receive_message(case=case, body="Number 42.", at=at(12))
    cs.case_propose_solution(actor=a, case=case, solution="Refunded the double charge.", at=at(13))
    cs.case_confirm_solution(case=case, at=at(15))
    first = stored(case)
    assert first["first_resolution_seconds"] == first["resolution_seconds"] == 6 * HOUR
    assert (first["requester_wait_seconds"], first["agent_wait_seconds"]) == (2 * HOUR, 4 * HOUR)

    cs.case_receive_message(case=case, body="The refund did not arrive.", at=at(16))  # reopens
    reopened = stored(case)
    assert reopened["first_resolution_seconds"] == 6 * HOUR
    assert all(reopened[f] is None for f in durations.CLOSURE_FIELDS)

    cs.case_propose_solution(actor=a, case=case, solution="Sent it again.", at=at(10, day=24))
    cs.case_close_unconfirmed(
        actor=personas.manager, case=case, reason="No answer from the customer.", at=at(11, day=24)
    )
    final = stored(case)
    assert final["first_resolution_seconds"] == 6 * HOUR
    assert (final["resolution_seconds"], final["resolution_business_seconds"]) == (26 * HOUR, 10 * HOUR)
    assert (final["requester_wait_seconds"], final["requester_wait_business_seconds"]) == (
        20 * HOUR,
        4 * HOUR,
    )
    assert (final["agent_wait_seconds"], final["agent_wait_business_seconds"]) == (5 * HOUR, 5 * HOUR)
    assert final == from_log(case)
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_waiting_on_a_sector_is_waiting_on_us(personas, utc_calendar):
    case = customer_case(personas, MON_9)
    cs.case_set_status(
        actor=personas.adviser, case=case, status=Status.WAITING_SECTOR, at=utc(2026, 11, 23, 10)
    )
    cs.case_propose_solution(
        actor=personas.adviser, case=case, solution="Billing fixed it.", at=utc(2026, 11, 23, 14)
    )
    cs.case_confirm_solution(case=case, at=utc(2026, 11, 23, 15))
    values = stored(case)
    assert (values["requester_wait_seconds"], values["agent_wait_seconds"]) == (5 * HOUR, HOUR)


def test_a_holiday_in_the_table_is_skipped_by_the_services(personas, utc_calendar):
    Holiday.objects.create(date=date(2026, 11, 24), name="Company day")
    case = customer_case(personas, utc(2026, 11, 23, 16, 30))
    cs.case_reply(
        actor=personas.adviser, case=case, body="Back after the holiday.", at=utc(2026, 11, 25, 9, 30)
    )
    values = stored(case)
    assert (values["first_response_seconds"], values["first_response_business_seconds"]) == (41 * HOUR, HOUR)


def test_the_owning_teams_bangkok_calendar_is_used(personas, utc_calendar):
    team = personas.team
    team.time_zone, team.business_hours = "Asia/Bangkok", "08:30-17:30"
    team.save(update_fields=["time_zone", "business_hours"])
    case = customer_case(personas, utc(2026, 11, 23, 1))  # 08:00 Bangkok
    assert case.team_id == team.pk
    cs.case_reply(actor=personas.adviser, case=case, body="สวัสดีครับ", at=utc(2026, 11, 23, 3))
    cs.case_propose_solution(actor=personas.adviser, case=case, solution="Done.", at=utc(2026, 11, 23, 11))
    cs.case_confirm_solution(case=case, at=utc(2026, 11, 24, 2))  # Tue 09:00 Bangkok
    values = stored(case)
    assert values["first_response_business_seconds"] == 90 * 60
    # Mon 08:30–17:30 Bangkok (9 h) + Tue 08:30–09:00 (30 min)
    assert values["resolution_business_seconds"] == 9 * HOUR + 30 * 60
    assert values == from_log(case)


# ------------------------------------------------------------------ the backfill migration


def run_backfill(monkeypatch, chunk: int) -> None:
    module = importlib.import_module("steward.cases.migrations.0004_backfill_case_durations")
    monkeypatch.setattr(module, "CHUNK", chunk)
    module.backfill(django_apps, SimpleNamespace(connection=connection))


def test_the_backfill_rebuilds_what_the_services_wrote_across_chunks(personas, utc_calendar, monkeypatch):
    at = lambda h, day=23: utc(2026, 11, day, h)  # noqa: E731
    cases = [customer_case(personas, at(9)) for _ in range(3)]
    cs.case_reply(actor=personas.adviser, case=cases[0], body="Hi", at=at(10))
    cs.case_propose_solution(actor=personas.adviser, case=cases[1], solution="Fixed.", at=at(11))
    cs.case_confirm_solution(case=cases[1], at=at(9, day=24))
    cs.case_propose_solution(
        actor=personas.adviser,
        case=personas.case,
        solution="New charger.",
        at=personas.case.created_at + timedelta(hours=1),
    )
    everything = [*cases, personas.case]
    before = {c.pk: stored(c) for c in everything}
    assert before[cases[1].pk]["resolution_seconds"] == 24 * HOUR

    Case.objects.update(**dict.fromkeys(durations.ALL_FIELDS))
    run_backfill(monkeypatch, chunk=2)  # three chunks for four cases
    assert {c.pk: stored(c) for c in everything} == before


def test_the_backfill_reads_each_chunk_in_a_constant_number_of_queries(
    personas, utc_calendar, monkeypatch, django_assert_max_num_queries
):
    for _ in range(6):
        customer_case(personas, MON_9)
    with django_assert_max_num_queries(3 + 3 * 3):  # holidays + teams; per chunk: cases, events, update
        run_backfill(monkeypatch, chunk=3)


def test_the_api_case_detail_carries_the_stored_durations(personas, utc_calendar):
    from rest_framework.test import APIClient

    case = customer_case(personas, FRI_16)
    cs.case_reply(actor=personas.adviser, case=case, body="Looking into it.", at=utc(2026, 11, 23, 10))
    api = APIClient()
    api.force_authenticate(personas.adviser)
    body = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert body["first_response_seconds"] == 66 * HOUR
    assert body["first_response_business_seconds"] == 2 * HOUR
    assert body["resolution_seconds"] is None and body["requester_wait_business_seconds"] is None
