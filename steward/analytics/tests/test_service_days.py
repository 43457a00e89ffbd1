"""The service dashboard read from the day rollups (ServiceDay, the CaseContacts copies) gives the SAME
figures as the straight queries on the cases (`service_figures.straight()`, the reference), on SQLite
and PostgreSQL: on the hand-counted service log built through the real services (so the rollups are the
ones kept as the events arrived) and on generated load data (rollups from the set-based rebuild). The
rebuild gives the rows the events kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from django.utils import timezone

from steward.analytics import rollups
from steward.analytics import service_figures as sf
from steward.analytics.models import ServiceDay
from steward.analytics.service_figures import Scope
from steward.analytics.service_rollup import COUNTERS
from steward.analytics.service_views import BREAKDOWN_KEYS, TREND_KEYS
from steward.analytics.tests.service_log import NOW, build_service_log
from steward.cases.models import Case, Channel, Kind

pytestmark = pytest.mark.django_db

CHOICES = ("this_month", "last_month", "quarter", "year")


def same(fn: Callable[[], Any]) -> Any:
    got = fn()
    with sf.straight():
        ref = fn()
    assert got == ref
    return got


def figures_of(d: sf.Dashboard) -> tuple[Any, Any]:
    return d.figures, d.counts


def check_dashboard(now: datetime, scopes: list[Scope], dims: list[str]) -> None:
    """Every period choice (and its previous period), scope, breakdown and trend, both ways."""
    today = timezone.localdate(now, sf.org_tz())
    for choice in CHOICES:
        period = sf.period_for(choice, today=today)
        for p in (period, sf.previous_period(choice, period)):
            for scope in scopes:
                same(partial(lambda p, scope: figures_of(sf.figures(p, scope, now=now)), p, scope))
            for dim in dims:
                same(partial(sf.breakdown, dim, p, Scope(), now=now))
                same(partial(sf.breakdown, dim, p, Scope(), now=now, keys=BREAKDOWN_KEYS))
    for scope in scopes:
        same(partial(sf.trends, list(sf.FIGURES), scope, now=now))


@pytest.fixture
def log(personas, settings):
    settings.TIME_ZONE = "UTC"
    p = personas
    return build_service_log(owner=p.adviser, other=p.other_adviser, manager=p.manager)


def service_days() -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """ServiceDay as {key: columns}; rows every case has left (all zero) count as absent."""
    rows = ServiceDay.objects.values_list(
        "family", "day", "dim", "key", "team_id", "owner_id", "category_id", "channel", "kind", *COUNTERS
    )
    return {r[:4]: r[4:] for r in rows if any(r[9:])}


def test_rollups_give_the_straight_figures_on_the_service_log(log, personas):
    p = personas
    scopes = [
        Scope(),
        Scope(owner=p.adviser.pk),
        Scope(owner=p.other_adviser.pk),
        Scope(channel=Channel.PHONE),
        Scope(category=log.delivery.pk),
        Scope(kind=Kind.QUESTION),
        Scope(team=p.adviser.team_id) if p.adviser.team_id else Scope(kind=Kind.COMPLAINT),
        Scope(owner=p.adviser.pk, channel=Channel.EMAIL),  # two fields: the straight query answers
    ]
    for now in (NOW, NOW + timedelta(days=3), datetime(2026, 4, 20, tzinfo=UTC)):
        check_dashboard(now, scopes, list(sf.DIMENSIONS))
    # The rollups really answered: the March counts are in ServiceDay (C moved to the other adviser).
    march = ServiceDay.objects.filter(family="r", dim="owner", key=str(p.other_adviser.pk))
    assert sum(march.values_list("rows", flat=True)) == 1


def test_a_scoped_breakdown_by_the_same_field_reads_its_rows(log, personas):
    now, mine = NOW, Scope(owner=personas.adviser.pk)
    period = sf.period_for("last_month", today=timezone.localdate(now, sf.org_tz()))
    rows = same(lambda: sf.breakdown("owner", period, mine, now=now))
    assert [r.group.key for r in rows] == [personas.adviser.pk]


def test_the_rebuild_gives_the_rows_the_events_kept(log):
    live = service_days()
    assert live
    rollups.rebuild_all()
    assert service_days() == live


def test_rollups_give_the_straight_figures_on_generated_data(db, settings):
    from steward.bench.loadgen import generate

    settings.TIME_ZONE = "Asia/Bangkok"  # days and months cut in the organisation's zone
    end = datetime(2026, 6, 1, tzinfo=UTC)
    generate(cases=300, seed=5, end=end, batch=150, report=lambda line: None)
    rollups.rebuild_all()
    assert Case.objects.filter(status="closed").exists() and service_days()
    owner = Case.objects.values_list("owner_id", flat=True).first()
    scopes = [Scope(), Scope(owner=owner), Scope(channel=Channel.EMAIL), Scope(kind=Kind.QUESTION)]
    for now in (end - timedelta(hours=5), end + timedelta(days=2), end + timedelta(days=40)):
        check_dashboard(now, scopes, ["team", "owner", "channel"])
    same(lambda: sf.trends(TREND_KEYS, Scope(), now=end))


def test_the_waiting_list_pages_in_the_straight_order(log, personas):
    from steward.cases.services import case_receive_message

    # E (open, never answered) writes again: it now waits since that message, not since its opening.
    case_receive_message(case=log.e, body="Any news?", at=NOW - timedelta(hours=2))
    for scope in (Scope(), Scope(owner=personas.adviser.pk)):
        source = sf.risk_page_source("waiting", scope, now=NOW)
        got = [(c.pk, c.waiting_since) for c in source[0:25]]
        with sf.straight():
            waiting = sf.risk_list("waiting", scope, now=NOW)
            ref = [(c.pk, c.waiting_since) for c in waiting]  # type: ignore[attr-defined]
        assert got == ref and source.count() == len(ref)
        assert [(c.pk, c.waiting_since) for c in source[1:2]] == ref[1:2]
    assert (log.e.pk, NOW - timedelta(hours=2)) in got
