"""SQL aggregates on the hand-built log (logs.py). The same expected answers on SQLite and PostgreSQL:
ties in time, concurrent tasks in two sectors, a task still open, a returned task."""

from __future__ import annotations

import pytest
from django.db import connection

from steward.analytics import metrics, selectors
from steward.analytics.selectors import Selection
from steward.analytics.tests.logs import T0, build_known_log

pytestmark = pytest.mark.django_db


def SEL(log) -> Selection:
    # Only the two hand-built cases (the personas open a case of their own).
    return Selection(case_ids=(log.a.case.pk, log.b.case.pk))


@pytest.fixture
def log(personas):
    return build_known_log(owner=personas.adviser, customer=personas.customer)


def test_task_facts_fold_the_task_events_in_one_query(log, django_assert_num_queries):
    with django_assert_num_queries(1):
        facts = selectors.task_facts(SEL(log))
    py = {t.task: t for t in metrics.task_facts(_rows())}
    assert {t.task: t for t in facts} == py
    assert len(facts) == 5


def _rows():
    return [
        metrics.EventRow(e.case_id, e.pk, e.at, e.kind, e.sector_id, e.data)
        for e in selectors.CaseEvent.objects.exclude(case__subject="Phone does not charge").order_by(
            "at", "id"
        )
    ]


def test_sector_table_known_answers(log, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        table = selectors.sector_table(SEL(log), now=log.now)
    rows = {r.sector.name: r for r in table.rows if r.sector}
    w, lg, b = rows["Warehouse"].stats, rows["Logistics"].stats, rows["Billing"].stats
    assert (w.tasks, w.completed, w.on_time.value, w.queue.median, w.elapsed.median) == (
        1,
        1,
        0.0,
        3600,
        10800,
    )
    assert (w.lateness.median, w.work.median) == (3600, 1800)
    assert (lg.elapsed.median, lg.lateness.p90, lg.queue.p90) == (18000, 3600, 3600)
    assert (b.tasks, b.completed, b.open, b.returns) == (3, 1, 1, 1)
    assert b.on_time == metrics.Ratio(1.0, 1, 1)
    assert (b.queue.median, b.queue.p90) == (1200, 1680)
    assert (b.work.median, b.work.p90) == (600, 1080)  # the two ended tasks: 20 min and none
    assert b.elapsed.median == 3000 and b.lateness.median == 0
    # Lead time: A 660 min (resolved) + B 200 min so far.
    assert table.total_lead_seconds == (660 + 200) * 60
    assert (table.cases, table.resolved_cases, table.lead.median) == (2, 1, 660 * 60)
    assert table.front_line_seconds == (90 + 50) * 60 and table.customer_seconds == 90 * 60
    assert rows["Warehouse"].attributed_seconds == 180 * 60
    assert rows["Logistics"].attributed_seconds == 275 * 60
    assert rows["Billing"].attributed_seconds == (25 + 150) * 60
    # Billing waited 30 + 10 + 120 (the open task) minutes: the largest share of waiting.
    assert table.bottleneck.sector == log.chain.billing.pk and rows["Billing"].is_bottleneck
    assert rows["Billing"].share_of_waiting.value == pytest.approx(9600 / 51600)
    assert set(table.bottleneck.over_target) == {log.chain.warehouse.pk, log.chain.logistics.pk}


def test_dfg_edges_known_answers(log, django_assert_num_queries):
    c = log.chain
    with django_assert_num_queries(1):  # the case selection is a subquery of the one statement
        edges = {(e.source, e.target): e for e in selectors.dfg_edges(SEL(log))}
    fd, w, lg, b = c.front_desk.pk, c.warehouse.pk, c.logistics.pk, c.billing.pk
    assert {k: e.count for k, e in edges.items()} == {
        (fd, w): 1,
        (w, lg): 1,
        (lg, b): 1,
        (b, lg): 1,
        (lg, fd): 1,
        (fd, b): 2,
        (b, fd): 1,
    }
    assert edges[(fd, w)].wait.median == 300 and edges[(lg, b)].wait.median == 0
    assert (edges[(fd, b)].wait.median, edges[(fd, b)].wait.p90) == (1200, 1200)
    assert edges[(b, fd)].wait.median == 600


def test_dfg_matches_the_pure_formula(log):
    sql = selectors.dfg_edges(SEL(log))
    assert sql == [
        metrics.Edge(e.source, e.target, e.count, selectors._rounded(e.wait)) for e in metrics.dfg(_rows())
    ]


def test_handoffs_and_ping_pong_per_pair(log, django_assert_num_queries):
    c = log.chain
    fd, w, lg, b = c.front_desk.pk, c.warehouse.pk, c.logistics.pk, c.billing.pk
    with django_assert_num_queries(2):
        s = selectors.handoff_summary(SEL(log))
    assert (s.cases, s.handoffs, s.cases_with_ping_pong, s.ping_pong_rate.value) == (2, 8, 2, 1.0)
    pairs = {(p.source, p.target): (p.handoffs, p.ping_pongs) for p in s.pairs}
    assert pairs == {
        (fd, w): (1, 0),
        (w, lg): (1, 0),
        (lg, b): (1, 1),
        (b, lg): (1, 0),
        (lg, fd): (1, 0),
        (fd, b): (2, 0),  # front desk → billing → front desk is the owner's round trip, not a ping-pong
        (b, fd): (1, 1),  # billing → front desk → billing: a returned step sent again
    }
    assert s == metrics.handoff_summary(
        {
            cid: metrics.sector_sequence([r for r in _rows() if r.case == cid])
            for cid in (log.a.case.pk, log.b.case.pk)
        },
        round_trips_from={fd},
    )


def test_selection_by_kind_category_and_period(log):
    assert selectors.selected_cases(Selection(kind="complaint")).get() == log.a.case
    assert selectors.selected_cases(Selection(category=log.a.case.category_id)).get() == log.a.case
    day2 = T0.date().replace(day=T0.day + 1)
    assert selectors.selected_cases(Selection(date_from=day2)).count() >= 1
    assert log.a.case not in selectors.selected_cases(Selection(date_from=day2))
    assert selectors.selected_cases(Selection(date_to=T0.date())).filter(pk=log.b.case.pk).count() == 0
    empty = selectors.sector_table(Selection(kind="question", date_from=day2, date_to=day2), now=log.now)
    assert empty.rows == [] and empty.bottleneck.sector is None and empty.bottleneck.share.value is None


def test_query_count_does_not_grow_with_cases(personas, django_assert_max_num_queries):
    from steward.analytics.tests.logs import late_delivery_case, value_chain

    chain = value_chain()
    for _ in range(4):
        late_delivery_case(owner=personas.adviser, customer=personas.customer, chain=chain)
    with django_assert_max_num_queries(6):
        table = selectors.sector_table(Selection(), now=T0)
    assert {r.sector.name: r.stats.tasks for r in table.rows if r.sector}["Warehouse"] == 4


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_cont exists on PostgreSQL only")
def test_postgresql_percentile_cont_equals_the_python_interpolation(log):
    facts = selectors.task_facts(SEL(log))
    python = metrics.sector_stats(facts, now=log.now)
    sql = selectors._pg_task_percentiles(SEL(log))
    for sector, st in python.items():
        for key, summary in (("queue", st.queue), ("work", st.work), ("elapsed", st.elapsed)):
            med, p90 = sql[sector][key]
            assert (med, p90) == pytest.approx((summary.median, summary.p90)) if summary.n else med is None


def test_an_empty_list_of_cases_gives_empty_answers(log):
    none = Selection(case_ids=())
    assert selectors.dfg_edges(none) == [] and selectors.task_facts(none) == []
    assert selectors.handoff_summary(none).ping_pong_rate.value is None
    assert selectors.analysis(none, now=log.now).table.rows == []
