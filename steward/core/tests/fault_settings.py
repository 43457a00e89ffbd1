"""Settings for the processes the fault tests start (app server, Celery workers).

The test settings, plus what the environment the test sets asks for: a real broker
(CELERY_BROKER_URL), a real SMTP peer (STEWARD_TEST_SMTP_PORT), quick redelivery of a killed
worker's task (a visibility timeout of seconds instead of hours), no API throttling.
"""

import os

os.environ["STEWARD_TEST_KEEP_BROKER"] = "1"

from config.settings_test import *  # noqa: E402,F403
from config.settings_test import CELERY_BROKER_TRANSPORT_OPTIONS, REST_FRAMEWORK  # noqa: E402

if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_TASK_ALWAYS_EAGER = False
    # A killed worker's unacknowledged task comes back after STEWARD_TEST_VISIBILITY_TIMEOUT seconds
    # (2 by default), checked every second, instead of the production hours (CELERY_BROKER_TRANSPORT_OPTIONS
    # in config/settings.py). Note that a task running longer than that is delivered a second time.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": int(os.environ.get("STEWARD_TEST_VISIBILITY_TIMEOUT") or 2),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
if os.environ.get("STEWARD_TEST_SMTP_PORT"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "127.0.0.1"
    EMAIL_PORT = int(os.environ["STEWARD_TEST_SMTP_PORT"])
    EMAIL_TIMEOUT = 30
if os.environ.get("STEWARD_CACHE_URL"):
    # The production cache (Redis, the shared throttle store) instead of the test settings' memory.
    from config import settings as production

    CACHES = production.CACHES
# The fault tests post as fast as they can: throttles stay on (their cache is exercised), never reached.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"}}
