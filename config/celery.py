"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("steward")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (run `celery -A config beat`).
app.conf.beat_schedule = {
    # Inbound mail: a no-op while STEWARD_IMAP_HOST is empty.
    "mail-poll-imap": {
        "task": "steward.mail.tasks.poll_imap",
        "schedule": float(os.environ.get("STEWARD_IMAP_POLL_SECONDS") or 60),
    },
    # Sector tasks about to breach their target: flagged once each, every five minutes.
    "flag-sector-tasks-near-breach": {
        "task": "steward.cases.tasks.flag_tasks_near_breach",
        "schedule": 300.0,
    },
}
