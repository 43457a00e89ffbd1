"""Periodic work of the decision register (Celery). Idempotent: running it twice changes nothing more."""

from __future__ import annotations

from celery import shared_task

from steward.core import timeutil


@shared_task(name="steward.decisions.tasks.refresh_cost_figures")
def refresh_cost_figures() -> None:
    """Keep the assessment's population cost figures in the cache (assessment.refresh_cost_inputs)."""
    from .assessment import refresh_cost_inputs

    refresh_cost_inputs(timeutil.now())
