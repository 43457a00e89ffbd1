"""generate_load_data writes what the services would have written (runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from steward.analytics.metrics import STATUS_MOVES
from steward.bench.loadgen import CASE_COLUMNS, Sink, generate
from steward.cases.models import (
    Case,
    CaseEvent,
    Direction,
    EventKind,
    Handoff,
    Message,
    SectorTask,
    Status,
    TaskState,
    WorkLog,
)
from steward.cases.summaries import summary_problem
from steward.customers.models import Customer

END = datetime(2026, 6, 1, tzinfo=UTC)
N = 400

# The status each kind of event leaves the case in, when it is not in data["to"].
STATUS_AFTER: dict[str, str] = {
    EventKind.OPENED: Status.NEW,
    EventKind.SOLUTION_PROPOSED: Status.SOLUTION_PROPOSED,
    EventKind.SOLUTION_CONFIRMED: Status.CLOSED,
    EventKind.CLOSED_UNCONFIRMED: Status.CLOSED,
    EventKind.REOPENED: Status.REOPENED,
}
TASK_END_STATE: dict[str, str] = {
    EventKind.TASK_COMPLETED: TaskState.DONE,
    EventKind.TASK_RETURNED: TaskState.RETURNED,
    EventKind.TASK_CANCELLED: TaskState.CANCELLED,
    EventKind.TASK_TAKEN: TaskState.IN_PROGRESS,
    EventKind.TASK_CREATED: TaskState.QUEUED,
}


def _digest() -> str:
    h = hashlib.sha256()
    for row in Case.objects.order_by("id").values_list(
        "id", "status", "version", "owner__username", "created_at", "closed_at", "reopen_count"
    ):
        h.update(repr(row).encode())
    for event in CaseEvent.objects.order_by("id").values_list("case_id", "kind", "at", "version"):
        h.update(repr(event).encode())
    return h.hexdigest()


@pytest.fixture
def loaded(db):
    rows = generate(cases=N, seed=3, end=END, batch=150, report=lambda line: None)
    return rows


def test_load_data_has_the_requested_shape(loaded):
    assert Case.objects.count() == N
    assert Customer.objects.count() == N // 5
    assert loaded["Case"] == N and loaded["CaseEvent"] == CaseEvent.objects.count()
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert statuses[Status.CLOSED] > N * 0.8  # two years of history: almost all closed
    kinds = Counter(Case.objects.values_list("kind", flat=True))
    assert len(kinds) == 3
    first, last = Case.objects.order_by("created_at").values_list("created_at", flat=True)[:: N - 1]
    assert (last - first).days > 600 and last <= END
    assert CaseEvent.objects.filter(at__gt=END).count() == 0
    with_tasks = SectorTask.objects.values("case").distinct().count()
    assert 0.2 * N < with_tasks < 0.4 * N
    assert SectorTask.objects.filter(state=TaskState.RETURNED).exists()
    assert WorkLog.objects.count() == CaseEvent.objects.filter(kind=EventKind.TASK_WORK_LOGGED).count()
    assert Handoff.objects.exists() and CaseEvent.objects.filter(kind=EventKind.REOPENED).exists()
    per_case = Counter(Message.objects.values_list("case_id", flat=True))
    assert min(per_case.values()) >= 1 and max(per_case.values()) <= 8 and len(per_case) == N


def test_every_case_matches_its_event_log(loaded):
    events = defaultdict(list)
    for e in CaseEvent.objects.order_by("at", "id"):
        events[e.case_id].append(e)
    messages = {m.pk: m for m in Message.objects.all()}
    handoffs = {h.pk: h for h in Handoff.objects.all()}
    tasks = {t.pk: t for t in SectorTask.objects.all()}
    task_events = defaultdict(list)
    for case in Case.objects.select_related("owner"):
        log = events[case.pk]
        assert [e.version for e in log] == list(range(1, len(log) + 1)), case.pk
        assert case.version == len(log)
        assert case.updated_at == log[-1].at
        assert log[0].kind == EventKind.OPENED and log[0].at == case.created_at
        status = None
        for e in log:
            if e.kind in STATUS_AFTER:
                status = STATUS_AFTER[e.kind]
            elif e.kind in STATUS_MOVES:
                assert e.data["from"] == status, (case.pk, e.kind)
                status = e.data["to"]
            if "message" in e.data:
                assert messages[e.data["message"]].case_id == case.pk
                inbound = e.kind == EventKind.MESSAGE_IN
                assert (messages[e.data["message"]].direction == Direction.INBOUND) == inbound
            if e.kind == EventKind.HANDOFF:
                assert handoffs[e.data["handoff"]].case_id == case.pk
            if "task" in e.data:
                assert tasks[e.data["task"]].case_id == case.pk
                assert e.sector_id == tasks[e.data["task"]].sector_id
                task_events[e.data["task"]].append(e)
        assert case.status == status, case.pk
        replies = [e.at for e in log if e.kind in (EventKind.MESSAGE_OUT, EventKind.SOLUTION_PROPOSED)]
        assert case.first_response_at == (replies[0] if replies else None)
        closing = [e for e in log if e.kind in (EventKind.SOLUTION_CONFIRMED, EventKind.CLOSED_UNCONFIRMED)]
        if case.status == Status.CLOSED:
            assert case.closed_at == closing[-1].at and case.closure
        else:
            assert case.closed_at is None and not case.closure
        assert case.reopen_count == sum(e.kind == EventKind.REOPENED for e in log)
        handed = [e for e in log if e.kind == EventKind.HANDOFF]
        if handed:
            assert case.owner_id == handed[-1].data["to"]
        assert case.team_id == case.owner.team_id
        assert case.is_repeat_contact == (case.follow_up_of_id is not None)
    for task in tasks.values():
        evs = task_events[task.pk]
        state = next(TASK_END_STATE[e.kind] for e in reversed(evs) if e.kind in TASK_END_STATE)
        assert task.state == state
        assert evs[0].data["due_at"] == task.due_at.isoformat()
        if task.state in (TaskState.QUEUED, TaskState.IN_PROGRESS):
            assert Case.objects.get(pk=task.case_id).status == Status.WAITING_SECTOR
    for h in handoffs.values():
        assert summary_problem(h.customer_need) is None and summary_problem(h.done_so_far) is None


def test_same_seed_gives_the_same_data(loaded):
    first = _digest()
    Case.objects.all().delete()
    Customer.objects.all().delete()
    generate(cases=N, seed=3, end=END, batch=150, report=lambda line: None)
    assert _digest() == first


def test_columns_added_by_other_apps_are_written_with_their_defaults():
    sink = Sink(Case, [c for c in CASE_COLUMNS if c != "reopen_count"])
    assert "reopen_count" in sink.extra_columns
    assert sink.extra_values[sink.extra_columns.index("reopen_count")] == 0


def test_a_renamed_column_stops_the_run_with_a_clear_message():
    with pytest.raises(RuntimeError, match="no column"):
        Sink(Case, [*CASE_COLUMNS, "not_a_column"])


@pytest.mark.django_db
def test_command_reports_progress_and_rows():
    out = StringIO()
    call_command("generate_load_data", cases=30, seed=1, end="2026-06-01", batch=10, stdout=out)
    text = out.getvalue()
    assert "cases 30/30 (100 %)" in text and "rows/s" in text and "ETA" in text
    assert Case.objects.count() == 30


@pytest.mark.django_db
def test_command_refuses_a_bad_end_date():
    with pytest.raises(CommandError, match="ISO"):
        call_command("generate_load_data", cases=5, end="yesterday")


def _index_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename IN ('cases_caseevent', 'cases_case') "
            "ORDER BY indexname"
        )
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db
def test_indexes_dropped_for_a_large_load_are_all_rebuilt():
    if connection.vendor != "postgresql":
        pytest.skip("index rebuilding is the PostgreSQL bulk path")
    before = _index_names()
    assert "event_case_at" in before
    lines: list[str] = []
    generate(cases=20, seed=1, end=END, batch=10, report=lines.append, rebuild_indexes=True)
    assert _index_names() == before
    assert any("rebuilt" in line for line in lines)
