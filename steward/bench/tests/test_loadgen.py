"""generate_load_data writes what the services would have written (runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
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
from steward.costs.models import Compensation, CompensationState
from steward.costs.services import approval_limit_minor
from steward.customers.models import Customer
from steward.surveys.models import (
    FollowUp,
    FollowUpState,
    NpsCampaign,
    Survey,
    SurveyKind,
    SurveyResponse,
)
from steward.surveys.services import is_low_score

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
    for event in CaseEvent.objects.order_by("id").values_list("case_id", "kind", "at", "version", "data"):
        h.update(repr(event).encode())
    for model, fields in (
        (Survey, ("case_id", "sent_at", "responded_at", "token_hash")),
        (SurveyResponse, ("survey_id", "csat", "ces", "solved", "comment")),
        (FollowUp, ("response_id", "assignee_id", "state", "done_at")),
        (Compensation, ("case_id", "kind", "amount_minor", "state", "decided_at")),
    ):
        for row in model.objects.order_by("id").values_list(*fields):
            h.update(repr(row).encode())
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
    Compensation.objects.all().delete()  # protects its case
    Case.objects.all().delete()
    Customer.objects.all().delete()
    generate(cases=N, seed=3, end=END, batch=150, report=lambda line: None)
    assert _digest() == first


def _logs() -> dict[int, list[CaseEvent]]:
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for e in CaseEvent.objects.order_by("at", "id"):
        events[e.case_id].append(e)
    return events


CLOSING = (EventKind.SOLUTION_CONFIRMED, EventKind.CLOSED_UNCONFIRMED)


def test_surveys_are_the_ones_the_services_send_and_answers_follow_the_case(loaded, settings):
    logs = _logs()
    surveys = list(Survey.objects.filter(kind=SurveyKind.CASE))
    assert all(s.case_id and s.campaign_id is None for s in surveys)
    assert len({s.case_id for s in surveys}) == len(surveys)  # one case survey per case
    closed_long_ago = Case.objects.filter(status=Status.CLOSED, closed_at__lt=END - timedelta(hours=1))
    assert len(surveys) >= closed_long_ago.count() * 0.99  # every closed case is surveyed
    responses = {r.survey_id: r for r in SurveyResponse.objects.filter(kind=SurveyKind.CASE)}
    follow_ups = {f.response_id: f for f in FollowUp.objects.all()}
    for survey in surveys:
        assert survey.case_id is not None
        log = logs[survey.case_id]
        closing = [e for e in log if e.kind in CLOSING]
        assert closing and closing[0].at < survey.sent_at <= closing[0].at + timedelta(minutes=5)
        # survey_send: after the first closure, asks "solved?" when that closure was unconfirmed
        assert survey.asks_solved == (closing[0].kind == EventKind.CLOSED_UNCONFIRMED)
        assert survey.expires_at == survey.sent_at + timedelta(days=settings.STEWARD_SURVEY_LINK_DAYS)
        assert len(survey.token_hash) == 64
        sent = [e for e in log if e.kind == EventKind.SURVEY_SENT]
        assert len(sent) == 1 and sent[0].at == survey.sent_at and sent[0].actor_id is None
        assert sent[0].data["survey"] == survey.pk and sent[0].data["to"] == survey.customer.email
        answered = [e for e in log if e.kind == EventKind.SURVEY_ANSWERED]
        response = responses.get(survey.pk)
        if response is None:
            assert survey.responded_at is None and not answered
            continue
        assert survey.responded_at is not None
        assert survey.sent_at < survey.responded_at == response.responded_at < survey.expires_at
        assert response.responded_at <= END
        assert (response.case_id, response.customer_id) == (survey.case_id, survey.customer_id)
        assert response.questionnaire_version == survey.questionnaire_version
        assert (
            response.csat is not None and 1 <= response.csat <= 5 and response.nps is None
        )  # a case survey asks no NPS
        assert (response.solved is not None) == survey.asks_solved
        assert len(answered) == 1 and answered[0].at == response.responded_at
        data = answered[0].data
        assert (data["survey"], data["response"], data["csat"]) == (survey.pk, response.pk, response.csat)
        assert data.get("ces") == response.ces and "comment" not in data
        follow_up = follow_ups.get(response.pk)
        opened = [e for e in log if e.kind == EventKind.SURVEY_FOLLOW_UP]
        done = [e for e in log if e.kind == EventKind.SURVEY_FOLLOW_UP_DONE]
        if not is_low_score(response):
            assert follow_up is None and not opened and not done
            continue
        assert follow_up is not None and follow_up.reason == is_low_score(response)
        assert follow_up.created_at == response.responded_at and follow_up.assignee_id is not None
        assert len(opened) == 1 and opened[0].at == follow_up.created_at
        assert opened[0].data == {
            "follow_up": follow_up.pk,
            "reason": follow_up.reason,
            "assignee": follow_up.assignee_id,
        }
        if follow_up.state == FollowUpState.DONE:
            assert (
                follow_up.done_at is not None
                and follow_up.done_at > follow_up.created_at
                and follow_up.done_at <= END
            )
            assert len(done) == 1 and done[0].at == follow_up.done_at
            assert done[0].actor_id == follow_up.done_by_id == follow_up.assignee_id
        else:
            assert follow_up.done_at is None and not done
    # The survey of a case reopened after its confirmation went out before the reopening (the merge).
    assert any(
        [e.kind for e in logs[s.case_id or 0]].index(EventKind.SURVEY_SENT)
        < [e.kind for e in logs[s.case_id or 0]].index(EventKind.REOPENED)
        for s in surveys
        if any(e.kind == EventKind.REOPENED for e in logs[s.case_id or 0])
    )
    # A realistic response rate, scores skewed to 4-5, and lower where the case went badly.
    rate = len(responses) / len(surveys)
    assert 0.22 < rate < 0.45, rate
    scores = Counter(r.csat for r in responses.values())
    assert (scores[4] + scores[5]) / len(responses) > 0.6 and scores[1] + scores[2] > 0
    shapes = {c.pk: (c.reopen_count, c.closure, c.kind) for c in Case.objects.all()}
    smooth = [
        r.csat or 0 for r in responses.values() if shapes[r.case_id or 0] == (0, "confirmed", "question")
    ]
    rough = [
        r.csat or 0
        for r in responses.values()
        if shapes[r.case_id or 0][0] or shapes[r.case_id or 0][1] == "unconfirmed"
    ]
    assert sum(rough) / len(rough) < sum(smooth) / len(smooth) - 0.5


def test_quarterly_nps_campaigns_reach_the_segment_once_per_quiet_period(loaded, settings):
    campaigns = list(NpsCampaign.objects.order_by("created_at"))
    assert len(campaigns) >= 6  # two years, one a quarter
    quiet = timedelta(days=settings.STEWARD_NPS_QUIET_DAYS)
    logs = _logs()
    cases_of = defaultdict(list)
    for case_id, customer_id in Case.objects.values_list("pk", "customer_id"):
        cases_of[customer_id].append(case_id)
    last_sent: dict[int, datetime] = {}
    for campaign in campaigns:
        surveys = list(campaign.surveys.order_by("customer_id"))
        assert campaign.sent == campaign.matched == len(surveys) > 0 and campaign.skipped == 0
        assert campaign.state == "done" and campaign.segment == {"closed_within_days": 90}
        for survey in surveys:
            assert survey.kind == SurveyKind.RELATIONSHIP and survey.case_id is None
            assert survey.sent_at == campaign.created_at and survey.sent_by_id == campaign.created_by_id
            # The quiet period: no second relationship survey to the same customer within it.
            previous = last_sent.get(survey.customer_id)
            assert previous is None or survey.sent_at - previous >= quiet
            last_sent[survey.customer_id] = survey.sent_at

            # segment_customers at the campaign's date: a case closed then, within the last 90 days.
            def closed_then(case_id: int, at: datetime) -> bool:
                status_at = [
                    e for e in logs[case_id] if e.at <= at and e.kind in (*CLOSING, EventKind.REOPENED)
                ]
                return (
                    bool(status_at)
                    and status_at[-1].kind in CLOSING
                    and at - status_at[-1].at <= timedelta(days=90)
                )

            assert any(closed_then(c, survey.sent_at) for c in cases_of[survey.customer_id])
    answers = list(SurveyResponse.objects.filter(kind=SurveyKind.RELATIONSHIP).select_related("survey"))
    assert answers and all(r.case_id is None and r.csat is None and 0 <= (r.nps or 0) <= 10 for r in answers)
    assert all(r.survey.responded_at == r.responded_at > r.survey.sent_at for r in answers)
    detractors = {r.pk for r in answers if (r.nps or 0) <= 6}
    follow_ups = FollowUp.objects.filter(reason="detractor").select_related("response__survey__campaign")
    assert {f.response_id for f in follow_ups} == detractors
    assert all(
        f.case_id is None and f.assignee_id == getattr(f.response.survey.campaign, "created_by_id", 0)
        for f in follow_ups
    )
    assert not CaseEvent.objects.filter(data__follow_up__in=[f.pk for f in follow_ups]).exists()


def test_compensation_on_some_complaints_as_the_services_record_it(loaded, settings):
    logs = _logs()
    limit = approval_limit_minor()
    comps = list(Compensation.objects.select_related("case", "case__owner"))
    complaints = Case.objects.filter(kind="complaint", status=Status.CLOSED).count()
    assert 0.06 * complaints < len(comps) < 0.3 * complaints
    by_case: dict[int, list[CaseEvent]] = defaultdict(list)
    for comp in comps:
        assert comp.case.kind == "complaint" and comp.amount_minor > 0
        assert comp.currency == comp.original_currency == settings.STEWARD_CURRENCY
        assert comp.original_amount_minor == comp.amount_minor and comp.fx_rate is None
        assert comp.needs_approval == (comp.amount_minor > limit)
        log = logs[comp.case_id]
        mine = [e for e in log if e.data.get("compensation") == comp.pk]
        by_case[comp.case_id] += mine
        assert [e for e in log if e.kind in CLOSING][0].at < comp.created_at <= END
        requested = mine[0]
        assert requested.kind == EventKind.COMPENSATION_REQUESTED and requested.at == comp.created_at
        assert requested.actor_id == comp.requested_by_id
        assert requested.data["needs_approval"] == comp.needs_approval and "amount" not in requested.data
        if not comp.needs_approval:  # within the limit: approved at once by the requester
            assert comp.state == CompensationState.APPROVED and comp.approved_by_id == comp.requested_by_id
            assert [e.kind for e in mine] == [
                EventKind.COMPENSATION_REQUESTED,
                EventKind.COMPENSATION_APPROVED,
            ]
            assert mine[1].at == comp.decided_at == comp.created_at and mine[1].data["within_limit"] is True
        elif comp.state == CompensationState.PENDING:
            assert len(mine) == 1 and comp.decided_at is None
        else:
            decided = mine[1]
            assert len(mine) == 2 and comp.decided_at is not None
            assert decided.at == comp.decided_at > comp.created_at
            approved = comp.state == CompensationState.APPROVED
            assert decided.kind == (
                EventKind.COMPENSATION_APPROVED if approved else EventKind.COMPENSATION_REJECTED
            )
            assert decided.actor_id == (comp.approved_by_id if approved else comp.rejected_by_id)
            assert decided.actor_id != comp.requested_by_id
    events = CaseEvent.objects.filter(kind__startswith="compensation_")
    assert events.count() == sum(len(v) for v in by_case.values())
    assert {c.state for c in comps} >= {CompensationState.APPROVED}


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


def test_generated_data_rebuilds_the_rollups_the_event_log_gives(loaded):
    """rebuild_all on the load (surveys and compensation included) gives the straight queries' figures."""
    from steward.analytics import rollups, selectors
    from steward.analytics.models import CaseContacts
    from steward.analytics.selectors import Selection

    assert rollups.rebuild_all() == N
    for selection in (
        Selection(),
        Selection(kind="complaint"),
        Selection(date_from=END.date().replace(day=1)),
    ):
        reference = Selection(
            case_ids=tuple(selectors.selected_cases(selection).values_list("pk", flat=True))
        )
        assert selectors.uses_rollups(selection) and not selectors.uses_rollups(reference)
        assert selectors.task_facts(selection) == selectors.task_facts(reference)
        assert selectors.dfg_edges(selection) == selectors.dfg_edges(reference)
        assert selectors.handoff_summary(selection) == selectors.handoff_summary(reference)
        fast, slow = selectors.sector_table(selection, now=END), selectors.sector_table(reference, now=END)
        assert fast == slow
    # The contact counts: the rebuild (set-based on PostgreSQL) against the per-case query the live
    # receiver runs; the survey answers "explained more than once" flag repeat contacts.
    stored = sorted(CaseContacts.objects.values_list(), key=repr)
    assert stored == sorted(
        (
            tuple(c.__dict__[f.attname] for f in CaseContacts._meta.concrete_fields)
            for _old, c, _made in rollups._contacts_of(Case.objects.values("pk"))
        ),
        key=repr,
    )
    said = set(SurveyResponse.objects.filter(explained_more_than_once=True).values_list("case_id", flat=True))
    assert said and said <= set(
        CaseContacts.objects.filter(repeat_flagged=True).values_list("case_id", flat=True)
    )
    # The dashboard's survey day counts (SurveyDay), rebuilt from the bulk-written answers, give the
    # straight counts on the answers: over the whole load, per owner and per channel, per month.
    from steward.analytics import service_figures as sf

    whole = sf.Period.of_days((END - timedelta(days=800)).date(), END.date())
    owner = Case.objects.values_list("owner_id", flat=True).first()
    checks = [
        lambda: sf.family_counts("survey", whole, sf.Scope(), now=END),
        lambda: sf.family_counts("survey", whole, sf.Scope(owner=owner), now=END),
        lambda: sf.family_breakdown("survey", "channel", whole, sf.Scope(), now=END),
        lambda: sf.family_trend("survey", sf.Scope(), now=END, months=24),
    ]
    for check in checks:
        got = check()
        with sf.straight():
            assert got == check()
    assert sf.family_counts("survey", whole, sf.Scope(), now=END)["rows"] == SurveyResponse.objects.count()
