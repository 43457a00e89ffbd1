"""Periodic work of the decision register (Celery). Idempotent: running it twice changes nothing more."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from steward.core import timeutil

SCHEDULE_SECONDS = 900.0  # config/celery.py runs it every 15 minutes


@shared_task(name="steward.decisions.tasks.refresh_cost_figures")
def refresh_cost_figures() -> None:
    """Keep the assessment's population figures (costs, p_type history) in the cache.
    They are kept per local date: in the run before midnight the next day's are filled too, so the
    first assessment after midnight does not compute them in its request either."""
    from django.utils import timezone

    from .assessment import refresh_population_figures

    now = timeutil.now()
    refresh_population_figures(now)
    soon = now + timedelta(seconds=SCHEDULE_SECONDS)
    if timezone.localdate(soon) != timezone.localdate(now):
        refresh_population_figures(
            timezone.localtime(soon).replace(hour=0, minute=0, second=0, microsecond=0)
        )
