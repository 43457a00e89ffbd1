"""Steward settings. Every value that differs between installations comes from the environment."""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("STEWARD_DEBUG", False)
# A development key only when DEBUG is on; production must set STEWARD_SECRET_KEY.
SECRET_KEY = env_str("STEWARD_SECRET_KEY") or ("dev-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("Set STEWARD_SECRET_KEY (or STEWARD_DEBUG=1 for a local demo).")
ALLOWED_HOSTS = env_list("STEWARD_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("STEWARD_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "steward.core",
    "steward.accounts",
    "steward.customers",
    "steward.sectors",
    "steward.cases",
    "steward.mail",
    "steward.notifications",
    "steward.portal",
    "steward.reviews",
    "steward.costs",
    "steward.analytics",
    "steward.surveys",
    "steward.bench",
    "steward.audit",  # security audit log (issue 10)
    "steward.decisions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "steward.core.request_limits.RequestSizeLimitMiddleware",  # 413 above STEWARD_REQUEST_MAX_BYTES
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
    # Database outage (issue 10): a view that loses the database answers 503 + Retry-After.
    "steward.core.outage.DatabaseOutageMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        # The demo database of scripts/run.sh, so `manage.py <command>` in a shell reaches the same data.
        default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=env_int("STEWARD_DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the in-process jobs and the web server read while another request writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# Database outage (issue 10, steward/core/outage.py): a persistent connection is checked before a
# request reuses it, so after a PostgreSQL restart the next request reconnects instead of failing on
# the dead socket; requests during the outage answer 503 with this Retry-After (seconds).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
STEWARD_DB_RETRY_AFTER = env_int("STEWARD_DB_RETRY_AFTER", 10)
# The case page's cost totals run as a statement prepared once per PostgreSQL session
# (steward/core/prepared.py); 0 behind a transaction-mode pooler (PgBouncer), where sessions are shared.
STEWARD_DB_PREPARED_STATEMENTS = env_bool("STEWARD_DB_PREPARED_STATEMENTS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "cases:list"
LOGOUT_REDIRECT_URL = "accounts:login"

# Lockout: 5 failures lock the user+address pair for 15 minutes.
AXES_FAILURE_LIMIT = env_int("STEWARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "steward.accounts.lockout.lockout_response"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("th", _("Thai")), ("ru", _("Russian")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("STEWARD_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("STEWARD_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Manifest + compression, without following the vendored files' missing source maps.
    "staticfiles": {"BACKEND": "steward.core.staticstorage.StaticStorage"},
}

# Uploads: 10 MB a file (validated in steward.cases.attachments), 25 MB a request.
STEWARD_ATTACHMENT_MAX_BYTES = env_int("STEWARD_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 25 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# Files count too (Django's limits above do not): 25 MB of attachments a message (a form error that
# keeps what was typed), and a hard 413 for any request body above 50 MB before it is read
# (steward.core.request_limits; the reverse proxy's body limit should match).
STEWARD_ATTACHMENT_REQUEST_MAX_BYTES = env_int("STEWARD_ATTACHMENT_REQUEST_MAX_BYTES", 25 * 1024 * 1024)
STEWARD_REQUEST_MAX_BYTES = env_int("STEWARD_REQUEST_MAX_BYTES", 50 * 1024 * 1024)

# Business rules that an organisation may tune.
STEWARD_FOLLOW_UP_WINDOW_DAYS = env_int("STEWARD_FOLLOW_UP_WINDOW_DAYS", 7)
# Loyalty economics: a customer with no case for this many days counts as lost (non-contract
# businesses); 0 turns the rule off, so only a recorded "lost on" date counts.
STEWARD_CHURN_INACTIVITY_DAYS = env_int("STEWARD_CHURN_INACTIVITY_DAYS", 0)
# Domain of the Message-IDs Steward generates; defaults to the domain of STEWARD_FROM_EMAIL.
STEWARD_MAIL_DOMAIN = env_str("STEWARD_MAIL_DOMAIN", "")
# Public address of this installation, for links in mail (magic links, confirm / not solved).
STEWARD_BASE_URL = env_str("STEWARD_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
STEWARD_CASE_PAGE_SIZE = 25
# Performance (issue 9): the case page's churn estimate reuses the population figures (12 complete months
# of every customer: seconds at a million cases) for this many seconds; 0 recomputes them on every view.
STEWARD_CASE_CHURN_CACHE_SECONDS = env_int("STEWARD_CASE_CHURN_CACHE_SECONDS", 3600)
# Benchmark-only URLs (/bench/json/, /bench/insert/: the ceilings of scripts/bench.sh). Never in production.
STEWARD_BENCH = env_bool("STEWARD_BENCH", False)
# Customer portal: how long a sign-in link works, and how long confirm / not solved links in mail work.
STEWARD_PORTAL_LINK_MINUTES = env_int("STEWARD_PORTAL_LINK_MINUTES", 30)
STEWARD_SOLUTION_LINK_DAYS = env_int("STEWARD_SOLUTION_LINK_DAYS", 14)
# Public pages (survey, sign-in and magic links): requests per client address and minute, all together.
STEWARD_PUBLIC_LIMIT_PER_MINUTE = env_int("STEWARD_PUBLIC_LIMIT_PER_MINUTE", 20)
# Surveys (steward.surveys): how long an invitation link works, the quiet period between two
# relationship (NPS) surveys to one customer, and the days a manager has to call back a low score.
STEWARD_SURVEY_LINK_DAYS = env_int("STEWARD_SURVEY_LINK_DAYS", 30)
STEWARD_NPS_QUIET_DAYS = env_int("STEWARD_NPS_QUIET_DAYS", 90)
STEWARD_SURVEY_FOLLOW_UP_DAYS = env_int("STEWARD_SURVEY_FOLLOW_UP_DAYS", 2)
# Outbound webhooks (low survey scores): comma-separated URLs, and the HMAC-SHA256 signing secret.
STEWARD_WEBHOOK_URLS = env_list("STEWARD_WEBHOOK_URLS", [])
STEWARD_WEBHOOK_SECRET = env_str("STEWARD_WEBHOOK_SECRET", "")
STEWARD_WEBHOOK_TIMEOUT = env_int("STEWARD_WEBHOOK_TIMEOUT", 10)
STEWARD_WEBHOOK_MAX_RETRIES = env_int("STEWARD_WEBHOOK_MAX_RETRIES", 5)
# Business calendar for sector task targets (steward.core.business_calendar), in TIME_ZONE.
STEWARD_BUSINESS_HOURS = env_str("STEWARD_BUSINESS_HOURS", "09:00-17:00")
STEWARD_BUSINESS_DAYS = env_list("STEWARD_BUSINESS_DAYS", ["mon", "tue", "wed", "thu", "fri"])
# Cost of quality (steward.costs; parsed strictly by steward.costs.money / steward.costs.classification).
# The organisation's one currency: every booked amount is in it.
STEWARD_CURRENCY = env_str("STEWARD_CURRENCY", "EUR").strip().upper()
# Conversion rates to STEWARD_CURRENCY for amounts entered in another currency, e.g. "USD:0.92,THB:0.026"
# (one unit of USD is 0.92 EUR). A currency not listed is refused; the rate used is stored on the row.
STEWARD_FX_RATES = env_str("STEWARD_FX_RATES", "")
# Compensation above this amount (minor units of STEWARD_CURRENCY) waits for a manager's approval.
STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR = env_int("STEWARD_COMPENSATION_APPROVAL_LIMIT_MINOR", 5000)
# Standard handling time (minutes) of a reply, an internal note and a handoff, used as an ESTIMATE of
# front-line contact time (Steward does not time individual messages); 0 leaves that contact uncosted.
STEWARD_CONTACT_MINUTES = env_str("STEWARD_CONTACT_MINUTES", "reply:6,note:2,handoff:5")
# Sector whose loaded rate costs the contact time of people without a sector (its slug); empty: the
# sector nearest to the customer (lowest distance, then name).
STEWARD_FRONT_LINE_SECTOR = env_str("STEWARD_FRONT_LINE_SECTOR", "")

# Decision impact assessment (steward.decisions, metrics.md §5). p_type = share of CSAT <= 3 on past cases
# with an exposure; below MIN_SAMPLE answers the prior (a share 0..1) stands in and is flagged.
STEWARD_DECISION_PRIOR_DISSATISFIED = {"owner_absent": 0.30, "missed_commitment": 0.45, "long_wait": 0.20}
STEWARD_DECISION_MIN_SAMPLE = env_int("STEWARD_DECISION_MIN_SAMPLE", 30)
STEWARD_DECISION_HISTORY_WEEKS = env_int("STEWARD_DECISION_HISTORY_WEEKS", 8)  # demand forecast history
STEWARD_DECISION_TARGET_SECONDS = env_int("STEWARD_DECISION_TARGET_SECONDS", 20)  # SL target t (queues)
# A past case "waited long" when its first reply took more business hours than this (p_long_wait history).
STEWARD_DECISION_LONG_WAIT_HOURS = env_int("STEWARD_DECISION_LONG_WAIT_HOURS", 8)
# Handling time (seconds) per channel when the data has too few timed contacts (flagged "aht_default").
STEWARD_DECISION_DEFAULT_AHT_SECONDS = {
    "phone": 360,
    "walk_in": 600,
    "chat": 480,
    "email": 600,
    "portal": 600,
    "api": 600,
}
# Minutes lost on a contact about a case whose owner is away, and the share of such contacts repeated.
STEWARD_DECISION_WASTED_MINUTES = env_int("STEWARD_DECISION_WASTED_MINUTES", 10)
STEWARD_DECISION_REPEAT_SHARE = 0.5
# How much a mitigation keeps of p for a next step at risk (1 = no effect).
STEWARD_DECISION_MITIGATION_FACTORS = {"notify_in_advance": 0.5, "move_next_steps": 0.6}
# Predicted against actual: complaints, survey answers and costs are read until this many days
# after the window.
STEWARD_DECISION_REVIEW_DAYS = env_int("STEWARD_DECISION_REVIEW_DAYS", 14)
# How long the population's cost figures behind an assessment (loaded rate, cost of a complaint, churn
# uplift, CLV) are reused: computing them reads a year of every customer and the ledger.
STEWARD_DECISION_COST_CACHE_SECONDS = env_int("STEWARD_DECISION_COST_CACHE_SECONDS", 3600)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "steward.accounts.authentication.CompiledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "steward.core.pagination.CreatedCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "steward.core.throttling.CompactAnonRateThrottle",
        "steward.core.throttling.CompactUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min"},
    "EXCEPTION_HANDLER": "steward.core.api.exception_handler",
}
if STEWARD_BENCH:
    # The benchmark is one user hammering the API; the throttle still runs (its cost is measured), but
    # with limits wrk never reaches.
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "1000000/min", "user": "1000000/min"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Steward API",
    "DESCRIPTION": "Cases, customers, handoffs, next steps and the case event log.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CaseKindEnum": "steward.cases.models.Kind",
        "CaseStatusEnum": "steward.cases.models.Status",
        "ManualStatusEnum": "steward.cases.models.MANUAL_STATUS_CHOICES",
        "ChannelEnum": "steward.cases.models.Channel",
        "StaffConfirmationChannelEnum": "steward.cases.models.STAFF_CONFIRMATION_CHANNEL_CHOICES",
        "EventKindEnum": "steward.cases.models.EventKind",
    },
    # 401, 429 and 415 documented on every operation (robust-faults: schemathesis checks status codes).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "steward.core.api.schema_common_responses",
    ],
}

# Background jobs: eager in-process unless a broker is configured.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_ALWAYS_EAGER = not env_str("CELERY_BROKER_URL")
# Without a broker, notification mail is sent by a background thread of each process after the commit,
# not inside the request (steward/notifications/pump.py); it also sends the due rows every
# STEWARD_MAIL_FLUSH_SECONDS, as beat's flush_outbox does with a broker. Off: sent inside the request.
STEWARD_MAIL_SEND_IN_BACKGROUND = env_bool("STEWARD_MAIL_SEND_IN_BACKGROUND", True)
STEWARD_MAIL_FLUSH_SECONDS = env_int("STEWARD_MAIL_FLUSH_SECONDS", 60)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker killed mid-task (issue 10; steward/surveys/tests/test_fault_worker_killed.py). With acks_late
# alone Celery still ACKS the task of a pool process that died (SIGKILL, out of memory), so it never
# ran again: reject it instead, back onto the queue. Every task is safe to run twice (the outbox claims
# its row, survey_send finds the survey, a webhook attempt holds its row locked and skips a done one).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A whole worker killed leaves its task unacknowledged in Redis; another worker puts it back on the
# queue once the visibility timeout has passed. It must be longer than the longest retry countdown
# (mail backoff and webhook retries: up to an hour), or a scheduled retry would be delivered twice.
# Until then the periodic jobs cover: the outbox flush (every minute, once the 10-minute send lease
# has run out) and the survey sweep (every 15 minutes).
# socket_connect_timeout: a broker host that does not answer at all holds a request at most a few
# seconds before the outbox takes over (the default waits for the operating system, minutes).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("STEWARD_CELERY_VISIBILITY_TIMEOUT", 7200),
    "socket_connect_timeout": 2,
}
# Broker down: a worker keeps trying to reconnect however long the outage (Celery's default gives up
# after 100 attempts and the worker exits); publishing from a request gives up fast (services catch it
# and the outbox flush sends later).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE

_redis_cache = env_str("STEWARD_CACHE_URL")
CACHES = {
    "default": (
        {
            # Redis down (issue 10): the cache acts empty instead of failing every request
            # (steward/core/cache.py), and a host that does not answer costs at most a second.
            "BACKEND": "steward.core.cache.FailOpenRedisCache",
            "LOCATION": _redis_cache,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if _redis_cache
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# A local demo (DEBUG) prints mail to the console instead of failing against a missing SMTP server.
EMAIL_BACKEND = env_str(
    "STEWARD_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("STEWARD_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("STEWARD_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("STEWARD_FROM_EMAIL", "support@steward.localhost")
# Outbound notifications: an SMTP call never hangs a worker; a failing send is retried with
# exponential backoff (factor, cap in seconds) and marked failed, on the case page, after the last retry.
EMAIL_TIMEOUT = env_int("STEWARD_EMAIL_TIMEOUT", 30)
STEWARD_MAIL_MAX_RETRIES = env_int("STEWARD_MAIL_MAX_RETRIES", 5)
STEWARD_MAIL_RETRY_BACKOFF = env_int("STEWARD_MAIL_RETRY_BACKOFF", 60)
STEWARD_MAIL_RETRY_BACKOFF_MAX = env_int("STEWARD_MAIL_RETRY_BACKOFF_MAX", 3600)
# How long a sender holds an outbox row it claimed (seconds): longer than any SMTP conversation. A row
# whose sender was killed mid-send is sent again once it runs out (issue 10; the fault test shortens it).
STEWARD_MAIL_SEND_LEASE_SECONDS = env_int("STEWARD_MAIL_SEND_LEASE_SECONDS", 600)

# Django's database sessions, the read compiled once per process (steward/core/sessions.py).
SESSION_ENGINE = "steward.core.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("STEWARD_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("STEWARD_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("STEWARD_HSTS_SECONDS", 0)
X_FRAME_OPTIONS = "DENY"
# Security hardening (issue 10, ASVS V3.3/V3.4): HSTS for subdomains and preload once it is on (set
# STEWARD_HSTS_SECONDS=31536000 behind TLS), and a Content-Security-Policy (django-csp) with no inline
# script or style anywhere: every script is a static file. 'wasm-unsafe-eval' lets the process map's
# Graphviz (viz.js) compile its WebAssembly; it allows no JavaScript eval. The API docs pages widen the
# policy for their own styles only (steward.core.api_docs).
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_SAMESITE = "Lax"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("STEWARD_LOG_LEVEL", "INFO")},
    # django-axes logs every start-up at INFO; lockouts and failures are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Inbound mail (steward.mail). IMAP polling is off while STEWARD_IMAP_HOST is empty.
STEWARD_IMAP_HOST = env_str("STEWARD_IMAP_HOST", "")
STEWARD_IMAP_SSL = env_bool("STEWARD_IMAP_SSL", True)
STEWARD_IMAP_PORT = env_int("STEWARD_IMAP_PORT", 993 if STEWARD_IMAP_SSL else 143)
STEWARD_IMAP_USER = env_str("STEWARD_IMAP_USER", "")
STEWARD_IMAP_PASSWORD = env_str("STEWARD_IMAP_PASSWORD", "")
STEWARD_IMAP_FOLDER = env_str("STEWARD_IMAP_FOLDER", "INBOX")
STEWARD_IMAP_BATCH = env_int("STEWARD_IMAP_BATCH", 50)  # messages per poll
STEWARD_IMAP_POLL_SECONDS = env_int("STEWARD_IMAP_POLL_SECONDS", 60)
# Seconds a poll waits on a silent IMAP server before giving up (the next poll carries on); without
# it a half-open connection blocked the worker for good (robust-faults: test_imap_faults.py).
STEWARD_IMAP_TIMEOUT = env_int("STEWARD_IMAP_TIMEOUT", 60)
# Larger raw messages are quarantined unread (a 30 MB attachment is about 41 MB in base64).
STEWARD_MAIL_MAX_BYTES = env_int("STEWARD_MAIL_MAX_BYTES", 64 * 1024 * 1024)
# Loop guard: more mail than this from one sender within an hour is recorded but not acted on.
STEWARD_MAIL_SENDER_HOURLY_LIMIT = env_int("STEWARD_MAIL_SENDER_HOURLY_LIMIT", 30)
