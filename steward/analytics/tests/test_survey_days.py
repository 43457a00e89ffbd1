"""The dashboard's survey family read from the day rollup (SurveyDay, survey_rollup) gives the SAME counts,
breakdowns and trends as the straight queries on the answers (`service_figures.straight()`), on SQLite
and PostgreSQL: answers given through the real services (kept as they arrive), a handoff after the
answer (the answer moves to the new owner and team), relationship answers (no case), answers on a
7-point CSAT version, answers on both sides of local midnight in a zone far from UTC; and after the
set-based rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from steward.analytics import rollups, survey_rollup
from steward.analytics import service_figures as sf
from steward.analytics.models import SurveyDay
from steward.analytics.service_figures import Scope
from steward.analytics.tests.service_log import (
    MARCH,
    NOW,
    H,
    ServiceLog,
    _open,
    _solve,
    answer,
    build_service_log,
    relationship_answer,
)
from steward.analytics.tests.test_service_days import check_dashboard, same
from steward.cases.models import Channel, Kind
from steward.cases.services import case_hand_off, case_reopen
from steward.customers.services import customer_create
from steward.surveys.models import SurveyResponse
from steward.surveys.questionnaire import questionnaire_scales_change
from steward.testing import DONE, NEED

pytestmark = pytest.mark.django_db

D = timedelta(days=1)


def survey_days() -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """SurveyDay as {(day, dim, key): columns}; rows every answer has left (all zero) count as absent."""
    rows = SurveyDay.objects.values_list(
        "day", "dim", "key", "team_id", "owner_id", "category_id", "channel", "kind", *survey_rollup.COLUMNS
    )
    return {r[:3]: r[3:] for r in rows if any(r[8:])}


def _more_answers(log: ServiceLog, p: Any) -> dict[str, Any]:
    """Answers the service log lacks: a handoff after the answer, 7-point CSAT, local-midnight edges."""
    # A was answered on 3 March; reopened and handed to the other adviser (other team) afterwards: its
    # answer now counts for the other adviser and team, as the straight query (the case's owner) says.
    case_reopen(actor=p.adviser, case=log.a, reason="The parcel was the wrong one", at=MARCH + 5 * D)
    case_hand_off(
        actor=p.adviser,
        case=log.a,
        to_user=p.other_adviser,
        customer_need=NEED,
        done_so_far=DONE,
        at=MARCH + 6 * D,
    )
    # A 7-point CSAT version: its CSAT is in no CSAT count (never mix scales), its CES is; then 5 again.
    questionnaire_scales_change(actor=p.manager, csat_max=7, note="A finer satisfaction scale")
    t = MARCH + 14 * D
    seven = _open(p.adviser, "Hana", t, channel=Channel.PHONE, category=log.delivery)
    _solve(seven, p.adviser, t + H)
    answer(seven, t + 5 * H, csat=6, ces=4, explained_more_than_once=False)
    questionnaire_scales_change(actor=p.manager, csat_max=5, note="Back to five points")
    five = _open(p.other_adviser, "Ivo", t + D, channel=Channel.PORTAL, category=None)  # type: ignore[arg-type]
    _solve(five, p.other_adviser, t + D + H)
    # Both sides of local midnight (Asia/Bangkok, UTC+7): 31 March 16:59 UTC is 23:59 on 31 March,
    # 17:01 UTC is 00:01 on 1 April; 28 February 17:30 UTC is 1 March 00:30.
    answer(five, datetime(2026, 3, 31, 16, 59, tzinfo=UTC), csat=4, ces=2, knew_owner_and_next_step=True)
    edge = datetime(2026, 3, 31, 17, 1, tzinfo=UTC)
    late = _open(p.adviser, "Jan", edge - 3 * H, channel=Channel.EMAIL, category=log.delivery)
    _solve(late, p.adviser, edge - 2 * H)
    answer(late, edge, csat=1, ces=1, solved_first_contact=False)
    for name, at, score in (("Kim", edge, 7), ("Lee", datetime(2026, 2, 28, 17, 30, tzinfo=UTC), 0)):
        relationship_answer(customer_create(actor=None, name=name, email=f"{name}@example.com"), at, score)
    return {"seven": seven, "five": five, "late": late}


@pytest.fixture
def log(personas, settings):
    settings.TIME_ZONE = "Asia/Bangkok"  # days and months cut in the organisation's zone, not UTC's
    p = personas
    log = build_service_log(owner=p.adviser, other=p.other_adviser, manager=p.manager)
    _more_answers(log, p)
    return log


def scopes_of(log: ServiceLog, p: Any) -> list[Scope]:
    return [
        Scope(),
        Scope(owner=p.adviser.pk),
        Scope(owner=p.other_adviser.pk),
        Scope(team=p.team.pk),
        Scope(team=p.other_team.pk),
        Scope(category=log.delivery.pk),
        Scope(channel=Channel.PORTAL),
        Scope(channel=Channel.PHONE),
        Scope(kind=Kind.COMPLAINT),
        Scope(kind=Kind.QUESTION),  # no answers
        Scope(owner=p.adviser.pk, channel=Channel.EMAIL),  # two fields: the straight query answers
    ]


def test_the_columns_are_the_survey_family_counts():
    assert set(survey_rollup.KEYS) == set(sf._aggregates(sf.FAMILIES["survey"], NOW))
    fields = {f.name for f in SurveyDay._meta.concrete_fields}
    assert set(survey_rollup.COLUMNS) <= fields


def test_rollups_give_the_straight_survey_figures(log, personas):
    p = personas
    for now in (NOW, datetime(2026, 4, 20, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC)):
        check_dashboard(now, scopes_of(log, p), list(sf.DIMENSIONS))
    march = sf.Period.of_days(MARCH.date(), datetime(2026, 3, 31).date())
    for dim in sf.DIMENSIONS:
        for scope in (Scope(), Scope(owner=p.other_adviser.pk), Scope(channel=Channel.PORTAL)):
            if dim == "owner" or scope.is_all:
                same(partial(sf.family_breakdown, "survey", dim, march, scope, now=NOW))


def test_the_answer_moved_with_the_handoff(log, personas):
    p = personas
    march = sf.Period.of_days(MARCH.date(), datetime(2026, 3, 31).date())
    mine = same(lambda: sf.family_counts("survey", march, Scope(owner=p.adviser.pk), now=NOW))
    other = same(lambda: sf.family_counts("survey", march, Scope(owner=p.other_adviser.pk), now=NOW))
    # The adviser keeps B and D (A went with the handoff, Jan's answer is on 1 April local); the other
    # adviser has A, C and Ivo's (7-point Hana was the adviser's: CSAT not counted, CES counted).
    assert (mine["rows"], mine["csat.n"], mine["ces.n"]) == (3, 2, 3)
    assert (other["rows"], other["csat=5"], other["csat=4"]) == (3, 1, 2)
    # Read from SurveyDay, not from the answers.
    with CaptureQueriesContext(connection) as ctx:
        sf.family_counts("survey", march, Scope(team=p.other_team.pk), now=NOW)
    assert len(ctx) == 1 and SurveyResponse._meta.db_table not in ctx.captured_queries[0]["sql"]


def test_local_days_and_the_seven_point_scale(log):
    april = sf.Period.of_days(datetime(2026, 4, 1).date(), datetime(2026, 4, 30).date())
    got = same(lambda: sf.family_counts("survey", april, Scope(), now=datetime(2026, 5, 2, tzinfo=UTC)))
    assert (got["rows"], got["csat=1"], got["nps=7"]) == (2, 1, 1)  # Jan's answer and Kim's NPS
    march = sf.Period.of_days(MARCH.date(), datetime(2026, 3, 31).date())
    got = same(lambda: sf.family_counts("survey", march, Scope(), now=NOW))
    assert got["nps=0"] == 1  # given on 28 February UTC, 1 March in Bangkok
    assert got["ces=4"] == 1 and got["csat.n"] == got["rows"] - 6 - 1  # 6 relationship, 1 seven-point


def test_the_rebuild_gives_the_rows_the_answers_kept(log):
    live = survey_days()
    assert live and any(key[1] == "channel" and key[2] == survey_rollup.NO_CASE for key in live)
    rollups.rebuild_all()
    assert survey_days() == live


def test_erasure_keeps_the_scores_and_the_counts(log, personas):
    from steward.customers.privacy import personal_data_erase

    before = survey_days()
    personal_data_erase(actor=personas.manager, customer=log.a.customer)
    assert survey_days() == before
    check_dashboard(NOW, [Scope(), Scope(owner=personas.other_adviser.pk)], ["owner", "channel"])


def test_answers_deleted_outside_the_services_come_right_with_a_rebuild(log):
    """Steward never deletes an answer (erasure keeps scores, the admin is read-only); a bulk deletion
    outside the services leaves the day counts stale until `manage.py rebuild_rollups`."""
    SurveyResponse.objects.filter(case=log.b).delete()
    rollups.rebuild_all()
    check_dashboard(NOW, [Scope(), Scope(owner=log.b.owner_id)], ["owner", "kind"])


def test_an_answer_costs_one_statement_on_postgresql(log, personas):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads the copy first")
    from steward.surveys.services import nps_survey_send, survey_answer

    customer = customer_create(actor=None, name="Mo", email="mo@example.com")
    survey = nps_survey_send(customer=customer, campaign=None, actor=None, at=NOW - H)
    assert survey is not None
    with CaptureQueriesContext(connection) as ctx:
        survey_answer(survey=survey, answers={"nps": 9}, at=NOW)
    touching = [q for q in ctx.captured_queries if SurveyDay._meta.db_table in q["sql"]]
    assert len(touching) == 1


def test_a_handoff_reads_the_answers_only_when_the_case_has_some(log, personas):
    p = personas
    tables = (SurveyDay._meta.db_table, SurveyResponse._meta.db_table)
    with CaptureQueriesContext(connection) as ctx:  # E has no answer: nothing to move
        case_hand_off(
            actor=p.adviser, case=log.e, to_user=p.other_adviser, customer_need=NEED, done_so_far=DONE
        )
    touching = [q["sql"] for q in ctx.captured_queries if any(t in q["sql"] for t in tables)]
    assert len(touching) == 1 and tables[0] not in touching[0]  # the copy's read says "no answers"
    # A (answered, handed to the other adviser) goes back: its answer follows, read by case.
    with CaptureQueriesContext(connection) as ctx:
        case_hand_off(
            actor=p.other_adviser, case=log.a, to_user=p.adviser, customer_need=NEED, done_so_far=DONE
        )
    assert sum(tables[0] in q["sql"] for q in ctx.captured_queries) == 1
    check_dashboard(NOW, [Scope(owner=p.adviser.pk), Scope(team=p.other_team.pk)], ["owner", "team"])
