"""The hourly contact rollup against the straight queries it replaces (the reference), on a history built
through the real services: contacts, automatic messages, replies, notes, proposals, closures, handoffs to
another team and a personal-data erasure, at odd minutes over ten weeks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from steward.accounts.models import Role, Team
from steward.analytics.rollups import rebuild_all
from steward.cases.models import Channel, Kind, Status
from steward.cases.services import (
    case_add_note,
    case_confirm_solution,
    case_hand_off,
    case_open,
    case_propose_solution,
    case_receive_message,
    case_reply,
)
from steward.customers.privacy import personal_data_erase
from steward.customers.services import customer_create
from steward.decisions import contact_hours, forecast, forecast_rollup
from steward.decisions.models import ContactHour
from steward.testing import make_user

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
END = START + timedelta(weeks=10)
CHANNELS = [Channel.EMAIL, Channel.PHONE, Channel.CHAT, Channel.PORTAL]
KINDS = [Kind.QUESTION, Kind.REQUEST, Kind.COMPLAINT]


def _rows() -> set[tuple]:
    return {
        (r.team_id, r.hour, r.channel, r.kind, r.contacts, r.follow_ups, r.replies, r.notes)
        for r in ContactHour.objects.all()
        if (r.contacts, r.follow_ups, r.replies, r.notes) != (0, 0, 0, 0)  # a handoff may leave zeros
    }


def _build(seed: int = 9) -> tuple[Team, Team]:
    rng = random.Random(seed)
    north, south = Team.objects.create(name="North"), Team.objects.create(name="South")
    advisers = {
        north: [make_user(f"n{i}", team=north) for i in range(2)],
        south: [make_user(f"s{i}", team=south) for i in range(2)],
    }
    manager = make_user("boss", role=Role.MANAGER)
    loner = make_user("loner")  # an adviser without a team: cases with no team
    customers = [customer_create(actor=None, name=f"C{i}", email=f"c{i}@example.com") for i in range(12)]
    at = START + timedelta(minutes=7, seconds=13)
    cases = []
    while at < END:
        team = rng.choice([north, south])
        owner = loner if rng.random() < 0.08 else rng.choice(advisers[team])
        case = case_open(
            actor=None,
            customer=rng.choice(customers),
            subject="S",
            description="Help me.",
            owner=owner,
            channel=rng.choice(CHANNELS),
            kind=rng.choice(KINDS),
            at=at,
        )
        cases.append(case)
        t = at
        for _step in range(rng.randint(0, 4)):
            t += timedelta(minutes=rng.randint(5, 600), seconds=rng.randint(0, 59))
            case.refresh_from_db()
            roll = rng.random()
            if case.status == Status.CLOSED:
                if roll < 0.3:
                    case_receive_message(case=case, body="Again.", channel=rng.choice(CHANNELS), at=t)
                continue
            if roll < 0.3:
                case_receive_message(
                    case=case,
                    body="More.",
                    channel=rng.choice(CHANNELS),
                    at=t,
                    is_automatic=rng.random() < 0.2,
                )
            elif roll < 0.5:
                case_reply(actor=manager, case=case, body="On it.", at=t)
            elif roll < 0.6:
                case_add_note(actor=manager, case=case, body="Checked.", at=t)
            elif roll < 0.7:
                other = south if case.team_id == north.pk else north
                choices = [u for u in [*advisers[other], loner] if u.pk != case.owner_id]
                case_hand_off(
                    actor=manager,
                    case=case,
                    to_user=rng.choice(choices),
                    customer_need="The customer needs a new charger sent.",
                    done_so_far="Checked the order and the warranty.",
                    at=t,
                )
            elif case.status != Status.SOLUTION_PROPOSED:
                case_propose_solution(actor=manager, case=case, solution="Done.", at=t)
                case_confirm_solution(case=case, at=t + timedelta(minutes=3))
        at += timedelta(minutes=rng.randint(40, 400), seconds=rng.randint(0, 59))
    personal_data_erase(actor=manager, customer=customers[0])
    return north, south


def _same(team_id, start, end, tz, weeks=8, n_min=3) -> None:
    got = forecast_rollup.history(team_id, start, end, tz, weeks, n_min)
    ref = (
        forecast.demand(team_id, start, end, tz, weeks),
        forecast.handling_times(team_id, *forecast.whole_hours(start, end), n_min),
        forecast.contact_rates(team_id, start, end),
    )
    assert got[0].per_hour == pytest.approx(ref[0].per_hour)
    assert (got[0].weeks, got[0].contacts, got[0].flags) == (ref[0].weeks, ref[0].contacts, ref[0].flags)
    assert got[1] == ref[1]
    assert got[2].contacts == ref[2].contacts
    assert got[2].case_days == pytest.approx(ref[2].case_days)
    assert got[2].per_case_day == pytest.approx(ref[2].per_case_day)


def test_rollup_gives_the_reference_figures_and_rebuild_equals_upkeep() -> None:
    north, south = _build()
    assert ContactHour.objects.filter(team_id=contact_hours.NO_TEAM).exists()
    incremental = _rows()
    assert sum(r[4] for r in incremental) > 100
    zones = [
        ZoneInfo("UTC"),
        ZoneInfo("Europe/Madrid"),
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Bangkok"),
    ]
    ends = [
        END - timedelta(minutes=17, seconds=5),  # "now", mid-hour
        START + timedelta(weeks=9, hours=3),  # a window start on the hour
        START + timedelta(weeks=3, minutes=41),  # history shorter than the weeks asked: short_history
        START + timedelta(days=2, minutes=1),
    ]
    for team_id in (north.pk, south.pk, None):
        for tz in zones:
            for end in ends:
                _same(team_id, end - timedelta(weeks=8), end, tz)
    # A zone with half-hour offsets, and a range under two hours: the reference queries answer.
    _same(north.pk, ends[0] - timedelta(weeks=8), ends[0], ZoneInfo("Asia/Kolkata"))
    _same(north.pk, ends[0] - timedelta(minutes=90), ends[0], ZoneInfo("UTC"))
    # Rebuilt set-based from the messages and notes: the same rows as kept by the services.
    contact_hours.rebuild()
    assert _rows() == incremental
    rebuild_all()  # manage.py rebuild_rollups and the load generator fill it too
    assert _rows() == incremental
    contact_hours.rebuild(team_ids=[north.pk])
    assert _rows() == incremental


def _rollup_statements(ctx) -> int:
    return sum(ContactHour._meta.db_table in q["sql"] for q in ctx.captured_queries)


def test_one_statement_per_counted_write() -> None:
    team = Team.objects.create(name="Desk")
    ann = make_user("ann", team=team)
    customer = customer_create(actor=None, name="Pim", email="pim@example.com")
    at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    case = case_open(actor=None, customer=customer, subject="S", description="Help.", owner=ann, at=at)
    row = ContactHour.objects.get()
    assert (row.team_id, row.hour, row.contacts, row.follow_ups) == (team.pk, at.replace(minute=0), 1, 0)
    for write, statements in (
        (lambda: case_receive_message(case=case, body="More.", at=at + timedelta(minutes=5)), 1),
        (
            lambda: case_receive_message(
                case=case, body="Auto.", at=at + timedelta(minutes=6), is_automatic=True
            ),
            0,
        ),
        (lambda: case_reply(actor=ann, case=case, body="On it.", at=at + timedelta(minutes=7)), 1),
    ):
        with CaptureQueriesContext(connection) as ctx:
            write()
        assert _rollup_statements(ctx) == statements
    row.refresh_from_db()
    assert (row.contacts, row.follow_ups, row.replies, row.notes) == (2, 1, 1, 0)
