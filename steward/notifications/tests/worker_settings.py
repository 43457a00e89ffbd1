"""Settings for the real-worker test: the test settings, with a Redis broker and SMTP to the test's server.

The worker process reads the broker, the queue, the database and the SMTP port from its environment,
which the test sets when it starts the worker.
"""

import os

os.environ["STEWARD_TEST_KEEP_BROKER"] = "1"

from config.settings_test import *  # noqa: E402,F403

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["STEWARD_TEST_QUEUE"]
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["STEWARD_EMAIL_PORT"])
