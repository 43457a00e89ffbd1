"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("steward")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic tasks (run `celery -A config beat`).
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    # Sector tasks about to breach their target: flagged once each, every five minutes.
    "flag-sector-tasks-near-breach": {
        "task": "steward.cases.tasks.flag_tasks_near_breach",
        "schedule": 300.0,
    },
}
