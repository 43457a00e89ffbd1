from datetime import timedelta

from django.utils import timezone

from steward.decisions.assessment import Assessment, AwayPeriod, ScenarioSpec, assess


def test_smoke(personas):
    now = timezone.now()
    ws = (now + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    spec = ScenarioSpec(
        ws,
        ws + timedelta(days=1),
        (AwayPeriod(personas.adviser.pk, ws, ws + timedelta(days=1)),),
        team_id=personas.team.pk,
    )
    a = assess(spec, now=now)
    print(a.ownership_gaps, a.flags, a.expected_cost, a.intervals[:1])
    again = Assessment.from_json(a.to_json())
    assert again.to_json() == a.to_json()
