"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("steward")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (run one `celery -A config beat`). Each entry names a task by its dotted path.
app.conf.beat_schedule = {
    # Inbound mail: a no-op while STEWARD_IMAP_HOST is empty.
    "mail-poll-imap": {
        "task": "steward.mail.tasks.poll_imap",
        "schedule": float(os.environ.get("STEWARD_IMAP_POLL_SECONDS") or 60),
    },
    # The outbox's safety net: send mail whose task never reached a worker (broker down).
    "notifications-flush-outbox": {"task": "steward.notifications.tasks.flush_outbox", "schedule": 60.0},
    # "Next step due" mail to owners, within the hour before the due time.
    "notifications-remind-due-commitments": {
        "task": "steward.notifications.tasks.remind_due_commitments",
        "schedule": 300.0,
    },
    # Sector tasks about to breach their target: flagged once each, every five minutes.
    "flag-sector-tasks-near-breach": {
        "task": "steward.cases.tasks.flag_tasks_near_breach",
        "schedule": 300.0,
    },
    # Case surveys whose task never reached a worker (broker down): sent once, like the task would.
    "surveys-sweep-case-surveys": {"task": "steward.surveys.tasks.sweep_case_surveys", "schedule": 900.0},
    # Webhook deliveries whose task was lost: one more attempt each, every ten minutes.
    "surveys-flush-webhooks": {"task": "steward.surveys.tasks.flush_webhooks", "schedule": 600.0},
    # The decision assessment's cost figures (seconds to compute on a large base), ahead of the cache's
    # hour: an assessment reads them instead of computing them inside its request.
    "decisions-refresh-cost-figures": {
        "task": "steward.decisions.tasks.refresh_cost_figures",
        "schedule": 900.0,
    },
    # Expired portal sign-in tokens: removed a day after they expire.
    "portal-purge-login-tokens": {
        "task": "steward.portal.tasks.purge_login_tokens_task",
        "schedule": 86400.0,
    },
}
