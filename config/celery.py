"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("steward")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (celery beat). Each entry names a task by its full dotted path.
app.conf.beat_schedule = {
    # The outbox's safety net: send mail whose task never reached a worker (broker down).
    "notifications-flush-outbox": {"task": "steward.notifications.tasks.flush_outbox", "schedule": 60.0},
    # "Next step due" mail to owners, within the hour before the due time.
    "notifications-remind-due-commitments": {
        "task": "steward.notifications.tasks.remind_due_commitments",
        "schedule": 300.0,
    },
}
