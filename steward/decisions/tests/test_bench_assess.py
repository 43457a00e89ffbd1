"""The benchmark command at a tiny size, for correctness only (never timed)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from steward.accounts.models import Team
from steward.cases.models import Case


@pytest.mark.django_db
def test_bench_assess_tiny() -> None:
    out = StringIO()
    args = ["--advisers", "3", "--open-cases", "12", "--weeks", "2", "--history-per-day", "4", "--runs", "1"]
    call_command("bench_assess", *args, stdout=out)
    text = out.getvalue()
    assert "built bench-dec 3x12" in text
    assert "all away: median" in text and "all away + mitigations: median" in text
    assert "gaps 12/12" in text  # every adviser away, every backup away too
    assert "gaps 0/12" in text.split("mitigations")[1]  # colleagues of another team cover them all
    call_command("bench_assess", *args, stdout=(again := StringIO()))
    assert "reusing bench-dec 3x12" in again.getvalue()
    assert Team.objects.filter(name="bench-dec 3x12").count() == 1
    assert Case.objects.filter(team__name="bench-dec 3x12").exclude(status="closed").count() == 12
