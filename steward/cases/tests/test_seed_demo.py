from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count, Max

from steward.accounts.models import Role, User
from steward.cases.models import Case, Closure, Handoff, Status
from steward.cases.summaries import summary_problem
from steward.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_seed_builds_a_consistent_demo_through_the_services():
    call_command("seed_demo", cases=60, customers=20, seed=3)
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    advisers = User.objects.filter(role=Role.ADVISER)
    assert advisers.count() >= 12 and not advisers.filter(backup__isnull=True).exists()
    assert Case.objects.count() == 60
    assert set(Customer.objects.values_list("language", flat=True)) == {"en", "th", "ru", "es"}
    closed = Case.objects.filter(status=Status.CLOSED)
    assert closed.exists()
    assert not closed.filter(closed_at__isnull=True).exists()
    assert set(closed.values_list("closure", flat=True)) <= {Closure.CONFIRMED, Closure.UNCONFIRMED}
    for handoff in Handoff.objects.all():
        assert summary_problem(handoff.customer_need) is None and summary_problem(handoff.done_so_far) is None
    # The event log has one event per version, without gaps.
    for row in Case.objects.annotate(n=Count("events"), top=Max("events__version")).values(
        "n", "top", "version"
    ):
        assert row["n"] == row["top"] == row["version"]
    for case in Case.objects.exclude(follow_up_of=None).select_related("follow_up_of"):
        assert case.follow_up_of is not None and case.follow_up_of.customer_id == case.customer_id


def test_seed_runs_only_once(capsys):
    call_command("seed_demo", cases=5, customers=4)
    call_command("seed_demo", cases=5, customers=4)
    assert "already present" in capsys.readouterr().out
    assert Case.objects.count() == 5
