"""Fast, deterministic settings for the test suite (DATABASE_URL still picks SQLite or PostgreSQL)."""

import os

os.environ.setdefault("STEWARD_DEBUG", "0")
os.environ.setdefault("STEWARD_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.pop("CELERY_BROKER_URL", None) if os.environ.get("STEWARD_TEST_KEEP_BROKER") != "1" else None

from .settings import *  # noqa: E402,F403
from .settings import BASE_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
CELERY_TASK_ALWAYS_EAGER = True
# The tests read the sent mail right after the commit: sent inline (steward/notifications/pump.py).
STEWARD_MAIL_SEND_IN_BACKGROUND = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WHITENOISE_AUTOREFRESH = True
AXES_VERBOSE = False
