"""Service figures (issue 5): SQL counts on cases built through the services equal the formulas applied
to the hand-counted answers (service_log.py), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from steward.analytics import metrics, rollups
from steward.analytics import service_figures as sf
from steward.analytics.service_figures import Period, Scope
from steward.analytics.tests.service_log import MARCH, NOW, build_service_log
from steward.cases.models import Channel, Handoff

pytestmark = pytest.mark.django_db


def summary(values: list[int]) -> metrics.Summary:
    return sf.rounded(metrics.summarize(values))


PERIOD = Period(MARCH, datetime(2026, 4, 1, tzinfo=UTC))
ALL = Scope()


@pytest.fixture
def log(personas, settings):
    settings.TIME_ZONE = "UTC"
    p = personas
    return build_service_log(owner=p.adviser, other=p.other_adviser, manager=p.manager)


def test_resolved_family_counts_known_answers(log, django_assert_num_queries):
    # The day rollups, plus the cases closed inside the FCR window (pending depends on now).
    with django_assert_num_queries(2):
        c = sf.family_counts("resolved", PERIOD, ALL, now=NOW)
    assert c["rows"] == 5
    assert (c["fcr.n"], c["fcr.k"], c["fcr.pending"]) == (4, 1, 1)
    assert (c["reopen.n"], c["reopen.k"], c["reopen.reopens"]) == (5, 1, 1)
    assert (c["confirmed.n"], c["confirmed.k"]) == (5, 4)
    assert (c["repeat_explanation.n"], c["repeat_explanation.k"]) == (2, 1)
    # B flagged by its adviser; D said so in the survey (not exposed: one contact, no handoff).
    assert (c["repeat_explanation_all.n"], c["repeat_explanation_all.k"]) == (5, 2)
    assert (c["owner_continuity.n"], c["owner_continuity.k"], c["owner_continuity.changes"]) == (5, 1, 1)


def test_opened_handoff_and_promise_counts_known_answers(log, django_assert_num_queries):
    with django_assert_num_queries(3):
        opened = sf.family_counts("opened", PERIOD, ALL, now=NOW)
        handoffs = sf.family_counts("handoff", PERIOD, ALL, now=NOW)
        promises = sf.family_counts("promise", PERIOD, ALL, now=NOW)
    assert (opened["repeat_contact.n"], opened["repeat_contact.k"], opened["unanswered.k"]) == (6, 1, 1)
    assert (handoffs["handoff_summary.n"], handoffs["handoff_summary.k"]) == (1, 0)
    # A kept on time; B broken (its cancelled one excluded); G open and overdue.
    assert (promises["promise_kept.n"], promises["promise_kept.k"], promises["promise_kept.pending"]) == (
        3,
        1,
        0,
    )


def test_an_open_next_step_not_yet_due_is_pending_not_broken(log):
    before_due = datetime(2026, 3, 30, 12, tzinfo=UTC)
    c = sf.family_counts("promise", PERIOD, ALL, now=before_due)
    assert (c["promise_kept.n"], c["promise_kept.k"], c["promise_kept.pending"]) == (2, 1, 1)


def test_a_handoff_without_a_real_summary_is_counted(log, personas):
    # The service refuses such a handoff; an import or an old row can still hold one.
    Handoff.objects.create(
        case=log.e,
        from_user=personas.adviser,
        to_user=personas.other_adviser,
        by=personas.adviser,
        customer_need="see history",
        done_so_far=log.e.subject + " — checked the courier's tracking page twice.",
        created_at=datetime(2026, 3, 20, tzinfo=UTC),
    )
    with sf.straight():
        assert sf.family_counts("handoff", PERIOD, ALL, now=NOW)["handoff_summary.k"] == 1
    rollups.rebuild_all()  # a write past the services is followed by `manage.py rebuild_rollups`
    c = sf.family_counts("handoff", PERIOD, ALL, now=NOW)
    assert (c["handoff_summary.n"], c["handoff_summary.k"]) == (2, 1)


def test_survey_counts_known_answers(log, django_assert_num_queries):
    with django_assert_num_queries(1):
        c = sf.family_counts("survey", PERIOD, ALL, now=NOW)
    assert c["rows"] == 9  # four case answers and five relationship answers; F's is February
    assert {s: c[f"csat={s}"] for s in range(1, 6)} == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
    assert (c["csat.n"], c["csat.k"], c["ces.n"], c["ces.k"]) == (4, 2, 4, 3)
    assert (c["nps.n"], c["nps.k"], c["nps.detractors"]) == (5, 2, 2)
    # "Solved?" is asked only after an unconfirmed close (B).
    assert (c["solved.n"], c["solved.k"], c["explained_more_than_once.k"]) == (1, 0, 2)
    assert (c["knew_owner_and_next_step.n"], c["knew_owner_and_next_step.k"]) == (2, 1)


def test_a_relationship_answer_has_no_case_so_a_scope_leaves_it_out(log):
    c = sf.family_counts("survey", PERIOD, Scope(kind="complaint"), now=NOW)
    assert (c["rows"], c["csat.n"], c["nps.n"]) == (4, 4, 0)


def test_dashboard_figures_equal_the_formulas_on_the_hand_counted_answers(log):
    dash = sf.figures(PERIOD, ALL, now=NOW)
    f = dash.figures
    assert f["csat"].value == metrics.csat_top2({2: 1, 3: 1, 4: 1, 5: 1})
    assert f["csat"].value.k == 2 and f["csat"].extra["mean"] == metrics.mean_score({2: 1, 3: 1, 4: 1, 5: 1})
    assert f["ces"].value == metrics.ces_easy({3: 1, 5: 1, 6: 1, 7: 1})
    assert f["nps"].value == metrics.nps(2, 1, 2)
    assert f["solved"].value == metrics.proportion(0, 1, reason="no_responses")
    assert f["fcr"].value == metrics.fcr_rate(["fcr", "not_fcr", "not_fcr", "not_fcr", "pending"]).rate
    assert f["fcr"].extra["pending"] == 1
    reopen = metrics.reopen_rates(reopened_cases=1, reopens=1, resolved_cases=5)
    assert (f["reopen"].value, f["reopen"].extra["per_case"]) == (reopen.rate, reopen.per_case)
    assert f["confirmed"].value == metrics.confirmed_solution_rate(4, 5)
    rep = metrics.repeat_explanation_rates(flagged_exposed=1, exposed=2, flagged=2, cases=5)
    assert (f["repeat_explanation"].value, f["repeat_explanation"].extra["all_cases"]) == (
        rep.exposed,
        rep.all_cases,
    )
    assert f["owner_continuity"].value == metrics.owner_continuity(1, 5)
    assert f["owner_continuity"].value.value == pytest.approx(0.8)
    assert f["repeat_contact"].value == metrics.repeat_contact_rate(1, 6)
    assert f["promise_kept"].value == metrics.promise_kept_rate(1, 3)
    assert f["handoff_summary"].value == metrics.handoff_without_summary_rate(0, 1)
    assert f["first_response"].value == summary([3600, 1800, 600, 14400])
    day, h = 86400, 3600
    resolution = [day + h, 2 * day, 5 * day + h, 2 * h, 2 * day + h]
    assert f["resolution"].value == summary(resolution)
    assert f["requester_wait"].value == summary([24 * h, 48 * h, 96 * h, h, 48 * h])
    assert f["requester_wait"].extra["business"].n == 5
    # Few cases: the proportions say so rather than show a misleading percentage.
    assert f["fcr"].value.counts_only and f["fcr"].value.low_sample


def test_no_data_is_none_with_a_reason_never_zero(log):
    empty = Period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
    f = sf.figures(empty, ALL, now=NOW).figures
    assert f["fcr"].value.value is None and f["fcr"].value.reason == metrics.NO_RESOLVED_CASES
    assert f["csat"].value.value is None and f["nps"].value.value is None
    assert f["resolution"].value.n == 0 and f["resolution"].value.median is None


def test_scope_narrows_every_family(log, personas):
    phone = Scope(channel=Channel.PHONE)
    c = sf.family_counts("resolved", PERIOD, phone, now=NOW)
    assert (c["rows"], c["confirmed.k"], c["repeat_explanation.k"]) == (1, 0, 1)
    mine = Scope(owner=personas.other_adviser.pk)  # C changed owner to the other adviser
    assert sf.family_counts("resolved", PERIOD, mine, now=NOW)["rows"] == 1
    assert (
        sf.family_counts("promise", PERIOD, Scope(category=log.delivery.pk), now=NOW)["promise_kept.n"] == 3
    )


def test_breakdown_by_channel_is_one_query_per_family_and_adds_up(log, django_assert_num_queries):
    with django_assert_num_queries(2):  # the day rollups, and the FCR window's days from the cases
        rows = sf.family_breakdown("resolved", "channel", PERIOD, ALL, now=NOW)
    by = {g.key: c for g, c in rows}
    assert set(by) == {"email", "phone", "portal"}
    assert (by["email"]["rows"], by["phone"]["rows"], by["portal"]["rows"]) == (3, 1, 1)
    assert sum(c["confirmed.k"] for c in by.values()) == 4
    labels = {g.key: g.label for g, _c in rows}
    assert labels["email"] == "E-mail"


def test_breakdown_figures_recompute_each_group_from_its_counts(log, personas):
    rows = sf.breakdown("owner", PERIOD, ALL, now=NOW)
    by = {r.group.key: r for r in rows}
    adviser, other = by[personas.adviser.pk], by[personas.other_adviser.pk]
    assert adviser.group.label == "Adviser"
    assert adviser.figures["confirmed"].value == metrics.proportion(3, 4, reason="no_cases")
    assert other.figures["confirmed"].value == metrics.proportion(1, 1, reason="no_cases")
    assert other.figures["resolution"].value.n == 1
    assert adviser.figures["first_response"].value.n == 3  # A, D, G (C changed owner)


def test_monthly_trend_is_one_query_and_covers_the_last_complete_months(log, django_assert_num_queries):
    with django_assert_num_queries(2):  # the day rollups, and the FCR window's days from the cases
        series = sf.family_trend("resolved", ALL, now=NOW)
    months = [m for m, _c in series]
    assert months[0] == date(2025, 4, 1) and months[-1] == date(2026, 3, 1) and len(months) == 12
    by = dict(series)
    assert by[date(2026, 3, 1)]["rows"] == 5 and by[date(2026, 2, 1)]["rows"] == 1
    assert by[date(2026, 1, 1)]["rows"] == 0
    points = sf.trend("resolution", ALL, now=NOW)
    assert [p.figure.value.n for p in points][-2:] == [1, 5]
    assert points[-1].figure.value == sf.duration_summary("resolution", PERIOD, ALL, now=NOW).calendar


def test_months_follow_the_organisation_time_zone(personas, settings):
    # Closed 28 February 20:00 UTC = 1 March 03:00 in Bangkok: a March case for a Bangkok organisation.
    settings.TIME_ZONE = "Asia/Bangkok"
    from steward.cases.services import case_confirm_solution, case_open, case_propose_solution

    at = datetime(2026, 2, 28, 18, tzinfo=UTC)
    case = case_open(
        actor=None,
        owner=personas.adviser,
        customer=personas.customer,
        subject="Late",
        description="Hi",
        at=at,
    )
    case_propose_solution(actor=personas.adviser, case=case, solution="Done", at=at + timedelta(hours=1))
    case_confirm_solution(case=case, at=at + timedelta(hours=2))
    by = dict(sf.family_trend("resolved", ALL, now=NOW))
    assert (by[date(2026, 3, 1)]["rows"], by[date(2026, 2, 1)]["rows"]) == (1, 0)
    march = sf.period_for("custom", today=date(2026, 4, 3), first=date(2026, 3, 1), last=date(2026, 3, 31))
    assert sf.family_counts("resolved", march, ALL, now=NOW)["rows"] == 1
    assert [p.figure.value.n for p in sf.trend("resolution", ALL, now=NOW)][-2:] == [0, 1]
    assert sf.complete_months(now=datetime(2026, 3, 31, 20, tzinfo=UTC))[-1] == date(
        2026, 3, 1
    )  # April there


@pytest.mark.parametrize(
    "key,part",
    [(k, p) for k, d in sf.FIGURES.items() for p, _label in d.drill],
)
def test_drill_down_lists_exactly_the_cases_counted(log, key, part):
    cases = set(sf.cases_behind(key, part, PERIOD, ALL, now=NOW).values_list("pk", flat=True))
    d = sf.FIGURES[key]
    if key in sf.DURATION_FIGURES:
        assert len(cases) == sf.duration_summary(key, PERIOD, ALL, now=NOW).n
        return
    counts = sf.family_counts(d.family, PERIOD, ALL, now=NOW)
    if d.family in ("resolved", "opened") or (d.family == "survey" and key != "nps"):  # one per case
        assert len(cases) == counts[f"{key}.{part}"]
    expected = {
        ("fcr", "k"): {log.a.pk},
        ("fcr", "pending"): {log.g.pk},
        ("reopen", "k"): {log.c.pk},
        ("repeat_explanation", "n"): {log.b.pk, log.c.pk},
        ("repeat_explanation", "k"): {log.b.pk},
        ("repeat_contact", "k"): {log.e.pk},
        ("promise_kept", "n"): {log.a.pk, log.b.pk, log.g.pk},
        ("promise_kept", "k"): {log.a.pk},
        ("handoff_summary", "n"): {log.c.pk},
        ("csat", "k"): {log.a.pk, log.c.pk},
        ("nps", "n"): set(),  # relationship answers have no case to list
        ("csat", "n"): {log.a.pk, log.b.pk, log.c.pk, log.d.pk},
        ("explained_more_than_once", "k"): {log.b.pk, log.d.pk},
    }.get((key, part))
    if expected is not None:
        assert cases == expected


def test_period_choices():
    today = date(2026, 5, 14)
    assert sf.period_for("this_month", today=today).first == date(2026, 5, 1)
    p = sf.period_for("last_month", today=today)
    assert (p.first, p.last) == (date(2026, 4, 1), date(2026, 4, 30))
    assert sf.period_for("quarter", today=today).first == date(2026, 4, 1)
    assert sf.period_for("year", today=today).first == date(2026, 1, 1)
    p = sf.period_for("custom", today=today, first=date(2026, 2, 3), last=date(2026, 2, 3))
    assert p.end - p.start == timedelta(days=1)
    with pytest.raises(ValueError):
        sf.period_for("custom", today=today, first=date(2026, 2, 3), last=date(2026, 2, 1))


def test_previous_period_is_the_same_span_one_period_earlier():
    today = date(2026, 5, 14)

    def prev(choice: str, **kw) -> tuple[date, date]:
        p = sf.previous_period(choice, sf.period_for(choice, today=today, **kw))
        return p.first, p.last

    assert prev("this_month") == (date(2026, 4, 1), date(2026, 4, 14))  # month to date, same days
    assert prev("last_month") == (date(2026, 3, 1), date(2026, 3, 31))
    assert prev("quarter") == (date(2026, 1, 1), date(2026, 2, 14))
    assert prev("year") == (date(2025, 1, 1), date(2025, 5, 14))  # year over year
    assert prev("custom", first=date(2026, 2, 3), last=date(2026, 2, 5)) == (
        date(2026, 1, 31),
        date(2026, 2, 2),
    )
    p = sf.previous_period("this_month", sf.period_for("this_month", today=date(2026, 3, 31)))
    assert (p.first, p.last) == (date(2026, 2, 1), date(2026, 2, 28))


def test_figures_compare_with_the_previous_period_by_the_metrics_rules(log):
    march = sf.figures(PERIOD, ALL, now=NOW)
    february = sf.figures(Period(datetime(2026, 2, 1, tzinfo=UTC), MARCH), ALL, now=NOW)
    changes = sf.compare(march, february)
    assert changes["confirmed"] == metrics.proportion_change(
        metrics.confirmed_solution_rate(4, 5), metrics.confirmed_solution_rate(1, 1)
    )
    assert not changes["confirmed"].significant  # 4 of 5 against 1 of 1: no significant change
    # F (February) was resolved at first contact: 1 of 4 against 1 of 1 is −75 pp, still not significant.
    assert (
        changes["fcr"].delta == pytest.approx(-75.0)
        and changes["fcr"].verdict == metrics.NO_SIGNIFICANT_CHANGE
    )
    january = sf.figures(
        Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)), ALL, now=NOW
    )
    assert sf.compare(march, january)["fcr"].verdict == metrics.NO_RESOLVED_CASES  # nothing to compare with
    assert changes["resolution"] == metrics.count_change(
        march.figures["resolution"].value.median,
        february.figures["resolution"].value.median,
    )


def test_sql_fcr_agrees_with_the_fcr_outcome_formula_case_by_case(log):
    """The SQL classification (one query) against metrics.fcr_outcome fed from each case's own rows."""
    from steward.cases.models import Case, Direction, Status

    expected: dict[str, set[int]] = {"fcr": set(), "not_fcr": set(), "pending": set()}
    closed = Case.objects.filter(status=Status.CLOSED, closed_at__gte=PERIOD.start, closed_at__lt=PERIOD.end)
    for case in closed:
        assert case.closed_at is not None
        outcome = metrics.fcr_outcome(
            inbound_contacts_before_resolution=case.messages.filter(
                direction=Direction.INBOUND, is_automatic=False, created_at__lte=case.closed_at
            ).count(),
            reopened=case.reopen_count > 0,
            new_contact_within_window=case.follow_ups.filter(
                created_at__lte=case.closed_at + timedelta(days=7)
            ).exists(),
            resolved_at=case.closed_at,
            now=NOW,
        )
        expected[outcome].add(case.pk)

    def behind(part: str) -> set[int]:
        return set(sf.cases_behind("fcr", part, PERIOD, ALL, now=NOW).values_list("pk", flat=True))

    assert behind("k") == expected["fcr"] == {log.a.pk}
    assert behind("pending") == expected["pending"] == {log.g.pk}
    assert behind("n") - behind("k") == expected["not_fcr"] == {log.b.pk, log.c.pk, log.d.pk}


def test_csat_on_a_seven_point_questionnaire_never_enters_the_five_point_figure(log, personas):
    """metrics.md §3: never mix scales. After a manager moves CSAT to 1–7, a 6 is not a 5-point answer."""
    from steward.analytics.tests.service_log import H, _open, _solve, answer
    from steward.cases.models import Category
    from steward.cases.services import case_reply
    from steward.surveys.questionnaire import questionnaire_scales_change

    questionnaire_scales_change(actor=personas.manager, csat_max=7, note="Seven points")
    t = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
    case = _open(
        personas.adviser, "Seva", t, channel=Channel.EMAIL, category=Category.objects.get(name="Delivery")
    )
    case_reply(actor=personas.adviser, case=case, body="On it.", at=t + H)
    _solve(case, personas.adviser, t + 3 * H)
    assert answer(case, t + 6 * H, csat=6).csat == 6

    c = sf.family_counts("survey", PERIOD, ALL, now=NOW)
    assert (c["csat.n"], c["csat.k"]) == (4, 2)  # the four 5-point answers only
    assert {s: c[f"csat={s}"] for s in range(1, 6)} == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1}
