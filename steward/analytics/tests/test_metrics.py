"""Pure formula tests (no database): known answers and hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.analytics import metrics as m
from steward.analytics.metrics import EventRow

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FD, W, L, B = 1, 2, 3, 4


def ev(
    minute: float, kind: str, sector: int | None = None, *, case: int = 1, id: int | None = None, **data: Any
):
    ev.n += 1  # type: ignore[attr-defined]
    return EventRow(case, id if id is not None else ev.n, T0 + timedelta(minutes=minute), kind, sector, data)  # type: ignore[attr-defined]


ev.n = 0  # type: ignore[attr-defined]


def moved(old: str, new: str) -> dict[str, Any]:
    return {"from": old, "to": new}


def due(minute: float) -> str:
    """A due date written the way `task_create` writes it (T0 lies inside business hours)."""
    return (T0 + timedelta(minutes=minute)).isoformat()


def case_a() -> list[EventRow]:
    """Case A of steward/analytics/tests/logs.py, as plain rows."""
    return [
        ev(0, "opened", FD),
        ev(0, "message_in"),
        ev(5, "message_out", FD, **moved("new", "open")),
        ev(10, "task_created", W, task=1, target_minutes=120, due_at=due(130)),
        ev(70, "task_taken", W, task=1),
        ev(100, "task_work_logged", W, task=1, minutes=30),
        ev(190, "task_completed", W, task=1),
        ev(200, "task_created", L, task=2, target_minutes=240, due_at=due(440)),
        ev(200, "task_created", B, task=3, target_minutes=60, due_at=due(260)),
        ev(230, "task_taken", B, task=3),
        ev(240, "task_work_logged", B, task=3, minutes=20),
        ev(250, "task_completed", B, task=3),
        ev(260, "task_taken", L, task=2),
        ev(400, "task_work_logged", L, task=2, minutes=60),
        ev(500, "task_completed", L, task=2),
        ev(510, "status", FD, **moved("open", "waiting_customer")),
        ev(540, "message_in"),
        ev(540, "status", None, **moved("waiting_customer", "open")),
        ev(600, "solution_proposed", FD),
        ev(660, "solution_confirmed"),
    ]


# ------------------------------------------------------------------ percentiles


def test_percentile_interpolates_linearly_like_percentile_cont():
    assert m.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert m.percentile([600, 1800], 0.9) == pytest.approx(1680)
    assert m.percentile([10], 0.9) == 10
    assert m.percentile([], 0.5) is None
    assert m.percentile([3, 1, 2], 0) == 1 and m.percentile([3, 1, 2], 1) == 3


def test_percentile_rejects_p_outside_unit_interval():
    with pytest.raises(ValueError):
        m.percentile([1], 1.5)


def test_summary_flags_a_small_sample():
    assert m.summarize([1, 2]).low_sample
    assert not m.summarize(range(10)).low_sample
    assert m.summarize([]).median is None


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=50))
def test_percentile_lies_between_min_and_max(xs):
    for p in (0, 0.5, 0.9, 1):
        v = m.percentile(xs, p)
        assert v is not None and min(xs) - 1e-6 <= v <= max(xs) + 1e-6


# ------------------------------------------------------------------ tasks and sectors


def test_task_measures_from_the_event_log():
    tasks = {t.task: t for t in m.task_facts(case_a())}
    w = tasks[1]
    assert (w.queue_seconds, w.elapsed_seconds, w.work_seconds) == (3600, 10800, 1800)
    assert w.lateness_seconds == 3600 and w.on_time is False
    b = tasks[3]
    assert (b.queue_seconds, b.elapsed_seconds, b.lateness_seconds, b.on_time) == (1800, 3000, 0, True)


def test_returned_and_open_tasks_have_no_elapsed_time_and_no_on_time_verdict():
    log = [
        ev(0, "opened", FD, case=2),
        ev(20, "task_created", B, case=2, task=10, target_minutes=60),
        ev(30, "task_taken", B, case=2, task=10),
        ev(50, "task_returned", B, case=2, task=10, reason="Missing invoice number"),
        ev(80, "task_created", B, case=2, task=11, target_minutes=60),
    ]
    tasks = {t.task: t for t in m.task_facts(log)}
    assert tasks[10].returns == 1 and tasks[10].elapsed_seconds is None and tasks[10].on_time is None
    assert tasks[11].is_open and tasks[11].queue_seconds is None
    now = T0 + timedelta(minutes=200)
    assert tasks[11].waiting_seconds(now) == 120 * 60
    stats = m.sector_stats(tasks.values(), now=now)[B]
    assert stats.returns == 1 and stats.open == 1
    assert stats.on_time.value is None and stats.on_time.reason == "no_completed_tasks"


def test_events_of_a_task_created_outside_the_log_are_ignored():
    assert m.task_facts([ev(5, "task_taken", W, task=99)]) == []


def test_sector_stats_and_p90_over_target():
    now = T0 + timedelta(minutes=700)
    stats = m.sector_stats(m.task_facts(case_a()), now=now)
    assert stats[W].on_time == m.Ratio(0.0, 0, 1) and stats[W].p90_over_target
    assert stats[B].on_time.value == 1.0 and not stats[B].p90_over_target
    assert stats[L].elapsed.median == 18000 and stats[L].lateness.median == 3600


# ------------------------------------------------------------------ lead-time attribution


def test_lead_time_attribution_of_the_late_delivery_case():
    a = m.lead_time_attribution(case_a(), now=T0 + timedelta(days=3))
    assert a is not None and a.resolved
    minutes = {k: v / 60 for k, v in a.sectors.items()}
    assert a.lead == 660 * 60
    assert (a.front_line / 60, a.customer / 60) == (90, 90)
    assert minutes == {W: 180, L: 275, B: 25}  # 200–250 shared 1/2 each between L and B
    assert a.total == a.lead


def test_open_case_is_measured_to_now_and_marked_unresolved():
    log = [ev(0, "opened", FD, case=3), ev(20, "task_created", B, case=3, task=20, target_minutes=5)]
    a = m.lead_time_attribution(log, now=T0 + timedelta(minutes=50))
    assert a is not None and not a.resolved
    assert (a.front_line, a.sectors[B]) == (20 * 60, 30 * 60)


def test_two_tasks_in_one_sector_count_that_sector_once():
    log = [
        ev(0, "opened", FD, case=4),
        ev(0, "task_created", W, case=4, task=30),
        ev(0, "task_created", W, case=4, task=31),
        ev(60, "task_created", B, case=4, task=32),
        ev(120, "task_completed", W, case=4, task=30),
        ev(120, "task_completed", W, case=4, task=31),
        ev(120, "task_completed", B, case=4, task=32),
        ev(120, "solution_proposed", FD, case=4),
        ev(180, "solution_confirmed", case=4),
    ]
    a = m.lead_time_attribution(log, now=T0)
    assert a is not None
    assert a.sectors == {W: 90 * 60, B: 30 * 60} and a.customer == 60 * 60 and a.front_line == 0


def test_no_opening_event_gives_no_attribution():
    assert m.lead_time_attribution([ev(0, "note", FD)], now=T0) is None


KINDS = ["status_wait", "status_open", "task_created", "task_completed", "task_returned", "propose", "note"]


@st.composite
def random_case_logs(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    rows = [EventRow(1, 1, T0, "opened", FD, {})]
    for i in range(n):
        minute = draw(st.integers(min_value=0, max_value=600))
        kind = draw(st.sampled_from(KINDS))
        sector = draw(st.sampled_from([FD, W, L, B, None]))
        task = draw(st.integers(min_value=1, max_value=4))
        at = T0 + timedelta(minutes=minute, microseconds=draw(st.integers(0, 999_999)))
        if kind == "status_wait":
            rows.append(EventRow(1, i + 2, at, "status", sector, {"to": "waiting_customer"}))
        elif kind == "status_open":
            rows.append(EventRow(1, i + 2, at, "status", sector, {"to": "open"}))
        elif kind == "propose":
            rows.append(EventRow(1, i + 2, at, "solution_proposed", sector, {}))
        elif kind.startswith("task_"):
            rows.append(EventRow(1, i + 2, at, kind, sector, {"task": task, "target_minutes": 30}))
        else:
            rows.append(EventRow(1, i + 2, at, kind, sector, {}))
    if draw(st.booleans()):
        rows.append(EventRow(1, n + 2, T0 + timedelta(minutes=700), "solution_confirmed", None, {}))
    return rows


@settings(max_examples=150, deadline=None)
@given(random_case_logs(), st.integers(min_value=0, max_value=2000))
def test_attributions_always_sum_exactly_to_the_lead_time(log, now_minutes):
    a = m.lead_time_attribution(log, now=T0 + timedelta(minutes=now_minutes))
    assert a is not None
    assert a.total == a.lead
    assert all(v >= 0 for v in (a.front_line, a.customer, *a.sectors.values()))
    assert isinstance(a.lead, Fraction)


@settings(max_examples=150, deadline=None)
@given(random_case_logs())
def test_ratios_are_proportions_or_none(log):
    now = T0 + timedelta(minutes=900)
    for s in m.sector_stats(m.task_facts(log), now=now).values():
        assert s.on_time.value is None or 0 <= s.on_time.value <= 1
    summary = m.handoff_summary({1: m.sector_sequence(log)})
    assert summary.ping_pong_rate.value is None or 0 <= summary.ping_pong_rate.value <= 1
    for p in summary.pairs:
        assert p.ping_pong_rate.value is None or 0 <= p.ping_pong_rate.value <= 1


def test_ratio_with_no_denominator_is_none_with_a_reason():
    assert m.ratio(0, 0, reason="no_cases") == m.Ratio(None, 0, 0, "no_cases")
    assert m.handoff_summary({}).ping_pong_rate.reason == "no_cases"


# ------------------------------------------------------------------ handoffs, ping-pong, DFG, bottleneck


def test_a_round_trip_from_the_front_line_is_not_a_ping_pong():
    fd, b, w = 1, 2, 3
    seq = [fd, b, fd, b, w, b]
    assert m.ping_pongs(seq) == [(fd, b), (b, fd), (b, w)]
    assert m.ping_pongs(seq, round_trips_from={fd}) == [(b, fd), (b, w)]
    summary = m.handoff_summary({1: [fd, b, fd]}, round_trips_from={fd})
    assert (summary.handoffs, summary.cases_with_ping_pong) == (2, 0)


def test_sequence_handoffs_and_ping_pong():
    seq = m.sector_sequence(case_a())
    assert seq == [FD, W, L, B, L, FD]
    assert m.handoffs(seq) == 5
    assert m.ping_pongs(seq) == [(L, B)]
    summary = m.handoff_summary({1: seq, 2: [FD, B, FD, B], 3: [FD]})
    assert (summary.cases, summary.handoffs, summary.cases_with_ping_pong) == (3, 8, 2)
    pairs = {(p.source, p.target): p for p in summary.pairs}
    assert pairs[(FD, B)].handoffs == 2 and pairs[(FD, B)].ping_pongs == 1
    assert pairs[(FD, B)].ping_pong_rate.value == 0.5
    assert pairs[(B, L)].ping_pongs == 0


def test_directly_follows_graph_counts_and_waits_with_a_tie_in_time():
    edges = {(e.source, e.target): e for e in m.dfg(case_a())}
    assert set(edges) == {(FD, W), (W, L), (L, B), (B, L), (L, FD)}
    assert edges[(FD, W)].wait.median == 300  # last front-desk event (5) → first warehouse event (10)
    assert edges[(L, B)].wait.median == 0  # created at the same instant: ordered by event id
    assert all(e.count == 1 for e in edges.values())


def test_bottleneck_is_the_largest_share_of_waiting():
    now = T0 + timedelta(minutes=700)
    stats = m.sector_stats(m.task_facts(case_a()), now=now)
    neck = m.bottleneck(stats, total_lead_seconds=660 * 60)
    assert neck.sector in (W, L)  # both waited 60 minutes
    assert neck.share.value == pytest.approx(3600 / 39600)
    assert set(neck.over_target) == {W, L}
    assert neck.low_sample


def test_no_lead_time_gives_no_bottleneck_share():
    stats = m.sector_stats(m.task_facts(case_a()), now=T0)
    neck = m.bottleneck(stats, total_lead_seconds=0)
    assert neck.sector is None and neck.share.value is None
