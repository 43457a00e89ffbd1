"""The periodic job that keeps the assessment's cost figures in the cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from steward.core import timeutil
from steward.decisions.assessment import _cost_inputs, _cost_key, _p_history, _p_key
from steward.decisions.tasks import refresh_cost_figures

pytestmark = pytest.mark.django_db


def test_the_cost_figures_job_is_on_the_beat_schedule() -> None:
    from config.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "steward.decisions.tasks.refresh_cost_figures" in tasks


@override_settings(STEWARD_DECISION_COST_CACHE_SECONDS=600)
def test_the_job_fills_the_cache_the_assessment_reads(django_assert_max_num_queries) -> None:
    now = timeutil.now()
    cache.delete(_cost_key(now))
    refresh_cost_figures()
    assert cache.get(_cost_key(now)) is not None and cache.get(_p_key(now)) is not None
    with django_assert_max_num_queries(1):  # the key's front-line sector only: no figures computed
        _cost_inputs(now)
        _p_history(now)


@override_settings(STEWARD_DECISION_COST_CACHE_SECONDS=600)
def test_before_midnight_the_job_fills_the_next_day_too(monkeypatch) -> None:
    from datetime import datetime, timedelta

    from django.utils import timezone

    late = timezone.make_aware(datetime(2026, 3, 2, 23, 55))
    tomorrow = late + timedelta(minutes=10)
    for at in (late, tomorrow):
        cache.delete(_cost_key(at))
    monkeypatch.setattr(timeutil, "now", lambda: late)
    refresh_cost_figures()
    assert cache.get(_cost_key(late)) is not None
    assert cache.get(_cost_key(tomorrow)) is not None and cache.get(_p_key(tomorrow)) is not None
