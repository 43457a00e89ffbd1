"""Settings for the scale-out test's worker processes: the test settings with a Redis broker.

Broker, queue and database come from the environment the test sets when it starts each worker.
"""

import os

os.environ["STEWARD_TEST_KEEP_BROKER"] = "1"

from config.settings_test import *  # noqa: E402,F403

CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = os.environ["STEWARD_TEST_QUEUE"]
