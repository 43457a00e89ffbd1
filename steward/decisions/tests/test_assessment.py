"""assess() on a seeded history (steward/decisions/tests/history.py), figures checked by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from steward.accounts.services import absence_create
from steward.decisions import forecast
from steward.decisions.assessment import Assessment, AwayPeriod, ScenarioSpec, assess, compare

from .history import NOW, WINDOW, H, build_desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    return build_desk()


def spec(desk, *people, **kwargs) -> ScenarioSpec:
    away = tuple(AwayPeriod(u.pk, *WINDOW) for u in people)
    return ScenarioSpec(WINDOW[0], WINDOW[1], away, team_id=desk.team.pk, **kwargs)


def test_demand_from_the_same_weekday_and_hour(desk) -> None:
    a = assess(spec(desk, desk.ann), now=NOW)
    assert a.inputs["history_weeks"] == 8
    by_start = {i.starts_at.hour: i for i in a.intervals}
    assert sorted(by_start) == list(range(9, 17))  # business hours only
    phone = {c.channel: c for c in by_start[9].channels}["phone"]
    assert phone.arrivals == pytest.approx(2.0)  # 16 calls on 8 Mondays at 9h
    assert {c.channel: c for c in by_start[10].channels}["phone"].arrivals == 0
    assert "aht_default" in a.flags  # too few contacts to time
    assert phone.aht_seconds == 360
    # Staff: 3 advisers before, Ann away after; all queued people go to the only channel with demand.
    assert (by_start[9].staff_before, by_start[9].staff_after) == (3, 2)
    assert (phone.staff_before, phone.staff_after) == (3, 2)
    email = {w.channel: w for w in a.workload}["email"]
    # 8 mails on 8 Mondays at 10h, plus Pim's follow-up on Monday 30 March at 9h: 9 / 8 over the day.
    assert email.contacts == pytest.approx(9 / 8)
    assert email.required_hours == pytest.approx(9 / 8 * 600 / 3600)


def test_ownership_gaps_commitments_and_customers(desk) -> None:
    # Ann's backup Ben is present: no gap.
    covered = assess(spec(desk, desk.ann), now=NOW)
    assert covered.ownership_gaps == [] and covered.affected_customers == []
    # Ann and Ben away: Ann's backup is away too, Ben has none.
    a = assess(spec(desk, desk.ann, desk.ben), now=NOW)
    reasons = {g.case_id: g.reason for g in a.ownership_gaps}
    assert reasons == {desk.x.pk: "backup_away", desk.y.pk: "backup_away", desk.z.pk: "backup_missing"}
    assert [c.commitment_id for c in a.commitments_due if c.at_risk] == [desk.due.pk]
    people = {c.customer_id: c for c in a.affected_customers}
    assert set(people) == {desk.pim.pk, desk.quinn.pk}  # Pim once, with both cases
    assert people[desk.pim.pk].exposures == ("missed_commitment", "owner_absent")
    assert people[desk.pim.pk].case_ids == tuple(sorted((desk.x.pk, desk.y.pk)))
    assert people[desk.quinn.pk].exposures == ("owner_absent",)
    # Expected contacts: follow-up contacts per open question-case per day × 1 day away × 3 cases.
    rate = a.inputs["contacts_per_case_day"]["question"]
    assert a.expected_contacts == pytest.approx(3 * rate)
    # Priors (no survey history): E[D] = p(Pim: max of both) + p(Quinn) + p_long × extra long waits.
    p = a.p_type
    assert p["owner_absent"].prior and p["owner_absent"].p.base == 0.30
    expected = 0.45 + 0.30 + 0.20 * a.long_wait_customers
    assert a.expected_dissatisfied.base == pytest.approx(expected)
    assert {(r.case_id, r.to_user_id) for r in a.cases_to_reassign} == {
        (desk.x.pk, None),
        (desk.y.pk, None),
        (desk.z.pk, None),
    }
    case_id, from_id, to_id = a.cases_to_reassign[0]  # rows unpack as the contract's tuples
    assert (case_id, from_id, to_id) == (desk.x.pk, desk.ann.pk, None)
    assert [tuple(n) for n in a.customers_to_notify] == [(desk.pim.pk, desk.x.pk, desk.due.pk)]
    # No rate, complaints or churn data: flagged, never a fake 0.
    assert a.cost.time is None and "rate_missing" in a.flags and not a.cost.complete


def test_contacts_per_open_case_day_by_hand(desk) -> None:
    start, end = NOW - timedelta(weeks=8), NOW
    rates = forecast.contact_rates(desk.team.pk, start, end)
    # One follow-up contact (Pim on X); every case is still open at the end of the history.
    days = sum(
        (end - max(c.created_at, start)) / timedelta(days=1) for c in [*desk.history, desk.x, desk.y, desk.z]
    )
    assert rates.contacts == {"question": 1}
    assert rates.case_days["question"] == pytest.approx(days)
    assert rates.per_case_day["question"] == pytest.approx(1 / days)


def test_mitigations_close_gaps_and_lower_p(desk) -> None:
    a = assess(spec(desk, desk.ann, desk.ben, mitigations=frozenset({"backups_full_access"})), now=NOW)
    assert all(g.covered_by == desk.cat.pk for g in a.ownership_gaps)  # the only one present
    assert a.gaps_open == [] and a.affected_customers == [] and a.customers_to_notify == []
    told = assess(spec(desk, desk.ann, desk.ben, mitigations=frozenset({"notify_in_advance"})), now=NOW)
    assert told.p_type["missed_commitment"].p.base == pytest.approx(0.45 * 0.5)
    proposed = assess(spec(desk, desk.ann, desk.ben), now=NOW)
    assert told.expected_dissatisfied.base <= proposed.expected_dissatisfied.base
    override = assess(spec(desk, desk.ann, desk.ben, backup_overrides={desk.ben.pk: desk.cat.pk}), now=NOW)
    assert {g.case_id: g.covered_by for g in override.ownership_gaps}[desk.z.pk] == desk.cat.pk
    rows = compare([("proposed", proposed), ("backups", a)])
    assert "expected_dissatisfied" in rows[1].best


def test_existing_absences_count_before_and_after(desk) -> None:
    absence_create(
        actor=None, user=desk.cat, starts_at=WINDOW[0] + 9 * H, ends_at=WINDOW[0] + 10 * H, reason="Dentist"
    )
    a = assess(spec(desk, desk.ann), now=NOW)
    first = a.intervals[0]
    assert (first.staff_before, first.staff_after) == (2, 1)
    assert a.intervals[1].staff_before == 3


def test_json_round_trip_and_bad_input(desk) -> None:
    a = assess(
        spec(desk, desk.ann, desk.ben, internal_saving_minor=50_000, calibration={"contacts": 1.2}), now=NOW
    )
    data = a.to_json()
    import json

    text = json.dumps(data, allow_nan=False)  # JSON-safe: no datetimes, Decimals, NaN or infinity
    back = Assessment.from_json(json.loads(text))
    assert back.to_json() == data
    assert back.spec == a.spec
    with pytest.raises(ValidationError):
        assess(ScenarioSpec(WINDOW[1], WINDOW[0], ()), now=NOW)
    with pytest.raises(ValidationError):
        assess(spec(desk, desk.ann, mitigations=frozenset({"magic"})), now=NOW)


def test_query_count_does_not_grow_with_cases(desk, django_assert_max_num_queries) -> None:
    from .history import build_more_cases

    with django_assert_max_num_queries(26) as small:
        assess(spec(desk, desk.ann, desk.ben), now=NOW)
    build_more_cases(desk, 12)
    with django_assert_max_num_queries(len(small.captured_queries)):
        a = assess(spec(desk, desk.ann, desk.ben), now=NOW)
    assert len(a.ownership_gaps) == 15


def _front_line_rate(minor: int = 6000) -> None:
    from datetime import date

    from steward.accounts.models import Role
    from steward.costs.services import rate_set
    from steward.sectors.models import Distance
    from steward.sectors.services import sector_create
    from steward.testing import make_user

    boss = make_user("boss", role=Role.MANAGER)
    front = sector_create(actor=None, name="Front", distance=Distance.FRONT_LINE)
    rate_set(actor=boss, sector=front, effective_from=date(2026, 1, 1), hourly_rate_minor=minor)


def test_time_cost_by_hand(desk) -> None:
    _front_line_rate(6000)
    a = assess(spec(desk, desk.ann, desk.ben), now=NOW)
    assert "rate_missing" not in a.flags
    # Every gap case came by e-mail (default AHT 600 s): 10 wasted min + 0.5 × 10 min repeat = 15 min
    # per expected contact, at 60.00 an hour = 15.00 (1500 minor) per contact.
    assert a.cost.time is not None
    assert a.cost.time.base == round(a.expected_contacts * 1500)
    assert a.inputs["costs"]["rate_minor_per_hour"] == 6000


def test_more_absent_people_never_lower_expected_cost(desk) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _front_line_rate()
    people = [desk.ann, desk.ben, desk.cat]
    cache: dict[frozenset[int], Assessment] = {}

    def run(away: frozenset[int]) -> Assessment:
        if away not in cache:
            cache[away] = assess(spec(desk, *(people[i] for i in sorted(away))), now=NOW)
        return cache[away]

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sets(st.integers(0, 2)), st.integers(0, 2))
    def check(away: set[int], extra: int) -> None:
        fewer, more = run(frozenset(away)), run(frozenset(away | {extra}))
        assert more.expected_cost.base >= fewer.expected_cost.base - 1
        assert more.expected_cost.high >= fewer.expected_cost.high - 1
        assert more.expected_dissatisfied.base >= fewer.expected_dissatisfied.base - 1e-9
        if more.worst_service_level is not None and fewer.worst_service_level is not None:
            assert more.worst_service_level <= fewer.worst_service_level + 1e-12

    check()


def test_weekend_window_has_no_business_intervals(desk) -> None:
    saturday = WINDOW[0] - timedelta(days=2)
    s = ScenarioSpec(
        saturday, saturday + timedelta(days=1), (AwayPeriod(desk.ann.pk, saturday, saturday + H),)
    )
    a = assess(s, now=NOW)
    assert a.intervals == [] and a.worst_service_level is None
    assert all(w.capacity_hours_after == 0 for w in a.workload)
    assert a.long_wait_customers == 0  # nobody works at the weekend either way: not the scenario's doing
    from datetime import datetime

    with pytest.raises(ValidationError):
        assess(ScenarioSpec(datetime(2026, 4, 6), datetime(2026, 4, 7), ()), now=NOW)


def test_other_teams_absences_only_count_for_backups(desk) -> None:
    from steward.accounts.models import Team
    from steward.testing import make_user

    elsewhere = make_user("eve", team=Team.objects.create(name="Elsewhere"))
    case_open_for(elsewhere)
    absence_create(actor=None, user=elsewhere, starts_at=WINDOW[0], ends_at=WINDOW[1], reason="Holiday")
    a = assess(spec(desk), now=NOW)
    assert a.ownership_gaps == []  # Eve is not in the team: her cases are not this team's
    everyone = assess(ScenarioSpec(WINDOW[0], WINDOW[1], ()), now=NOW)
    assert [g.owner_id for g in everyone.ownership_gaps] == [elsewhere.pk]


def case_open_for(owner):
    from steward.cases.services import case_open
    from steward.customers.services import customer_create

    customer = customer_create(actor=None, name="Eve's customer", email="evec@example.com")
    return case_open(actor=None, customer=customer, subject="S", description="D", owner=owner, at=NOW - H)
