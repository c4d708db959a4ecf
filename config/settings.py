"""Threshold settings: one file, read from the environment.

With nothing set, the service runs in its embedded mode (SQLite under var/, Celery tasks run
in-process, email written to var/mail/) and says so in the first log line at start-up.
A malformed value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import sys
from pathlib import Path

from csp.constants import NONCE, NONE, SELF

from config import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

try:
    DEBUG = env.boolean("DEBUG", False)
    SECRET_KEY = env.string("SECRET_KEY", required=not DEBUG)
    if not SECRET_KEY:
        # Only reachable with DEBUG on: a fixed key is fine for a laptop, never for production.
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"
    # Field-level encryption at rest (docs/security.md): Fernet keys, newest first; the
    # first encrypts, all decrypt. Required unless DEBUG, which falls back to a fixed
    # development key and says so at start-up (common.apps).
    FIELD_ENCRYPTION_KEYS = env.fernet_keys("FIELD_ENCRYPTION_KEYS", required=not DEBUG)
    FIELD_ENCRYPTION_DEVELOPMENT_KEY = not FIELD_ENCRYPTION_KEYS
    if FIELD_ENCRYPTION_DEVELOPMENT_KEY:
        FIELD_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGk="]
    ALLOWED_HOSTS = env.listing(
        "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
    )
    CSRF_TRUSTED_ORIGINS = env.listing("CSRF_TRUSTED_ORIGINS", [])
    DATABASES = {
        "default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'threshold.sqlite3'}")
    }
    REDIS_URL = env.redis_url("REDIS_URL")
    EMAIL_URL = env.string("EMAIL_URL")
    _email = env.email("EMAIL_URL", EMAIL_URL) if EMAIL_URL else None
    DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL", "Threshold <no-reply@threshold.invalid>")
    SERVICE_NAME = env.string("SERVICE_NAME", "Threshold talking therapies")
    TIME_ZONE = env.string("TIME_ZONE", "Europe/London")
    LOG_LEVEL = env.string("LOG_LEVEL", "INFO").upper()
    CONN_MAX_AGE = env.integer("CONN_MAX_AGE", 60, minimum=0)
    SECURE_COOKIES = env.boolean("SECURE_COOKIES", not DEBUG)
    BEHIND_TLS_PROXY = env.boolean("BEHIND_TLS_PROXY", False)
    # Strict-Transport-Security, sent only behind a TLS proxy (docs/security.md).
    HSTS_SECONDS = env.integer("HSTS_SECONDS", 31536000, minimum=0)
    HSTS_INCLUDE_SUBDOMAINS = env.boolean("HSTS_INCLUDE_SUBDOMAINS", True)
    HSTS_PRELOAD = env.boolean("HSTS_PRELOAD", True)
    # A signed-in member of staff is signed out after this long without a request, and this
    # long after signing in however busy (docs/security.md, "Sessions").
    STAFF_SESSION_IDLE_MINUTES = env.integer("STAFF_SESSION_IDLE_MINUTES", 30, minimum=1)
    STAFF_SESSION_MAX_HOURS = env.integer("STAFF_SESSION_MAX_HOURS", 12, minimum=1)
    CELERY_VISIBILITY_TIMEOUT = env.integer("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1)
    CELERY_KEY_PREFIX = env.string("CELERY_KEY_PREFIX", "threshold:")
    CELERY_RESTORE_SWEEP_SECONDS = env.integer("CELERY_RESTORE_SWEEP_SECONDS", 30, minimum=1)
    CELERY_TASK_SOFT_TIME_LIMIT = env.integer("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
    CELERY_TASK_TIME_LIMIT = env.integer("CELERY_TASK_TIME_LIMIT", 90, minimum=1)
    LOGIN_ATTEMPTS_LIMIT = env.integer("LOGIN_ATTEMPTS_LIMIT", 5, minimum=1)
    # Two-factor sign-in (docs/security.md, "Two-factor sign-in"): the name an authenticator
    # app shows beside the code, and how many wrong codes in a row end the sign-in.
    TWO_FACTOR_ISSUER = env.string("TWO_FACTOR_ISSUER", "Threshold")
    TWO_FACTOR_ATTEMPTS_LIMIT = env.integer("TWO_FACTOR_ATTEMPTS_LIMIT", 10, minimum=1)
    # How many reverse proxies in front of the app append to X-Forwarded-For. 0: the client
    # is REMOTE_ADDR and the header is ignored (common/client_address.py, docs/security.md).
    TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
    # Public doors (docs/security.md, "Rate limits and client addresses"): tries per period,
    # per client address and per email address or phone number typed.
    RATE_REFERRAL_PER_ADDRESS = env.rate("RATE_REFERRAL_PER_ADDRESS", "5/h")
    RATE_REFERRAL_PER_CONTACT = env.rate("RATE_REFERRAL_PER_CONTACT", "3/h")
    RATE_SAVE_PER_ADDRESS = env.rate("RATE_SAVE_PER_ADDRESS", "10/h")
    RATE_SAVE_PER_CONTACT = env.rate("RATE_SAVE_PER_CONTACT", "3/h")
    RATE_RESUME_PER_ADDRESS = env.rate("RATE_RESUME_PER_ADDRESS", "10/15m")
    # The client portal (docs/portal.md): sign-in links asked for, per client address and
    # per referral reference typed; sign-in links followed, per client address.
    RATE_PORTAL_PER_ADDRESS = env.rate("RATE_PORTAL_PER_ADDRESS", "10/h")
    RATE_PORTAL_PER_REFERENCE = env.rate("RATE_PORTAL_PER_REFERENCE", "3/h")
    RATE_PORTAL_SIGN_IN_PER_ADDRESS = env.rate("RATE_PORTAL_SIGN_IN_PER_ADDRESS", "20/h")
    # Downloads of the data copy (JSON and PDF together; a PDF costs about a second of CPU),
    # per referral, however many times the client signs in.
    RATE_PORTAL_COPY_PER_REFERRAL = env.rate("RATE_PORTAL_COPY_PER_REFERRAL", "10/h")
    # A sign-in link works once, for this long after it is sent; a portal session ends after
    # this long without a request, and this long after signing in however busy.
    PORTAL_LINK_MINUTES = env.integer("PORTAL_LINK_MINUTES", 30, minimum=1)
    PORTAL_SESSION_IDLE_MINUTES = env.integer("PORTAL_SESSION_IDLE_MINUTES", 30, minimum=1)
    PORTAL_SESSION_MAX_MINUTES = env.integer("PORTAL_SESSION_MAX_MINUTES", 120, minimum=1)
    # Partner API (DRF throttles): referrals created per partner account, and every call.
    RATE_API_REFERRALS = env.rate("RATE_API_REFERRALS", "30/m", multiples=False)
    RATE_API_ANON = env.rate("RATE_API_ANON", "60/m", multiples=False)
    RATE_API_USER = env.rate("RATE_API_USER", "600/m", multiples=False)
    # The API schema (/api/schema/) and its browsable docs (/api/docs/): public on a laptop,
    # off in production unless the service chooses to publish them (404 when off).
    API_DOCS_PUBLIC = env.boolean("API_DOCS_PUBLIC", DEBUG)
    # Partner API tokens expire this many days after they are issued (manage.py api_token).
    API_TOKEN_DAYS = env.integer("API_TOKEN_DAYS", 90, minimum=1)
    # The largest request body read into memory; over it is a 413 (a referral is ~100 KB).
    DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer(
        "DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=10_000
    )
    # A repeat of a risk answer within this many days of its flag being acknowledged is linked
    # to that flag, not raised again (docs/assessment.md, "One risk, one flag").
    RISK_FLAG_REPEAT_DAYS = env.integer("RISK_FLAG_REPEAT_DAYS", 14, minimum=0)
    # How long the reporting page's figures are kept in the cache (docs/reporting.md); 0: never.
    REPORTING_CACHE_SECONDS = env.integer("REPORTING_CACHE_SECONDS", 300, minimum=0)
    # How often beat builds the reporting page's per-referral facts again (docs/reporting.md).
    REPORTING_FACTS_MINUTES = env.integer("REPORTING_FACTS_MINUTES", 5, minimum=1)
    # Notifications (docs/notifications.md): the outbox's retries, lease and sweeps, and SMS.
    EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT", 20, minimum=1)
    SMS_BACKEND = env.string("SMS_BACKEND", "file")
    if SMS_BACKEND not in {"file", "locmem", "notify"}:
        raise env.ConfigError(
            "SMS_BACKEND", f"expected file, locmem or notify; got {SMS_BACKEND!r}"
        )
    SMS_FILE_PATH = env.string("SMS_FILE_PATH", str(VAR_DIR / "sms"))
    NOTIFY_API_KEY = env.string("NOTIFY_API_KEY", required=SMS_BACKEND == "notify")
    NOTIFY_SMS_TEMPLATE_ID = env.string("NOTIFY_SMS_TEMPLATE_ID", required=SMS_BACKEND == "notify")
    NOTIFY_BASE_URL = env.string("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
    NOTIFICATIONS_MAX_ATTEMPTS = env.integer("NOTIFICATIONS_MAX_ATTEMPTS", 6, minimum=1)
    NOTIFICATIONS_RETRY_BASE_SECONDS = env.integer(
        "NOTIFICATIONS_RETRY_BASE_SECONDS", 30, minimum=1
    )
    NOTIFICATIONS_RETRY_MAX_SECONDS = env.integer("NOTIFICATIONS_RETRY_MAX_SECONDS", 900, minimum=1)
    NOTIFICATIONS_SWEEP_SECONDS = env.integer("NOTIFICATIONS_SWEEP_SECONDS", 60, minimum=1)
    NOTIFICATIONS_REDISPATCH_SECONDS = env.integer(
        "NOTIFICATIONS_REDISPATCH_SECONDS", 300, minimum=1
    )
    # Publish committed outbox rows from a background thread, so no request waits on Redis.
    NOTIFICATIONS_PUBLISH_IN_BACKGROUND = env.boolean("NOTIFICATIONS_PUBLISH_IN_BACKGROUND", True)
    NOTIFICATIONS_LEASE_SECONDS = env.integer(
        "NOTIFICATIONS_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 30, minimum=1
    )
    if NOTIFICATIONS_LEASE_SECONDS <= CELERY_TASK_TIME_LIMIT:
        # A worker still sending when its lease ran out would race a second worker.
        raise env.ConfigError(
            "NOTIFICATIONS_LEASE_SECONDS", "must be longer than CELERY_TASK_TIME_LIMIT"
        )
    # Retention (docs/security.md, "Retention"; common/retention.py): how long each kind of
    # record is kept, from the NHS Records Management Code of Practice 2021. The minimums
    # stop a mistyped value from removing records early.
    RETENTION_BATCH_SIZE = env.integer("RETENTION_BATCH_SIZE", 500, minimum=1)
    RETENTION_MAX_BATCHES = env.integer("RETENTION_MAX_BATCHES", 20, minimum=1)
    # Unsubmitted drafts expire after 7 days; this deletes any draft older, whatever its state.
    RETENTION_DRAFT_DAYS = env.integer("RETENTION_DRAFT_DAYS", 30, minimum=8)
    # Rendered bodies of sent messages; the fact of sending stays with the referral.
    RETENTION_MESSAGE_BODY_DAYS = env.integer("RETENTION_MESSAGE_BODY_DAYS", 90, minimum=1)
    # Clinical correspondence keeps its body for as long as the record.
    RETENTION_MESSAGE_BODY_KEEP_KINDS = env.listing(
        "RETENTION_MESSAGE_BODY_KEEP_KINDS",
        [
            "gp_letter",
            "assessment_outcome",
            "ending",
            "non_attendance_letter",
            "discharge_non_attendance",
            "risk_alert",
        ],
    )
    # Withdrawn or signposted before any care, no risk recorded: the Code's adult records.
    RETENTION_REFERRAL_NOT_SEEN_YEARS = env.integer(
        "RETENTION_REFERRAL_NOT_SEEN_YEARS", 8, minimum=1
    )
    # Mental health records: 20 years after the last contact, then reviewed, never
    # destroyed by the schedule.
    RETENTION_CLINICAL_RECORD_YEARS = env.integer("RETENTION_CLINICAL_RECORD_YEARS", 20, minimum=8)
    # Each authenticated API request (ApiTokenUse): a security log, kept long enough to
    # investigate misuse of a partner's token, then deleted.
    RETENTION_TOKEN_USE_DAYS = env.integer("RETENTION_TOKEN_USE_DAYS", 730, minimum=90)
    # Client portal sign-in links and sessions (security logs, like token uses): 2 years.
    RETENTION_PORTAL_SIGN_IN_DAYS = env.integer("RETENTION_PORTAL_SIGN_IN_DAYS", 730, minimum=90)
    # Idempotency-Keys of API writes (api/retention.py): as long as a caller could retry.
    RETENTION_API_IDEMPOTENCY_DAYS = env.integer("RETENTION_API_IDEMPOTENCY_DAYS", 30, minimum=1)
    # Audit events (audit/retention.py): as long as the clinical records they describe.
    RETENTION_AUDIT_YEARS = env.integer("RETENTION_AUDIT_YEARS", 20, minimum=8)
    # The audit trail (docs/security.md, "Audit"): with this on, the event of every page
    # read waits for PostgreSQL to flush it to disk, as a write's does (about 4 ms a page
    # here); off, only a database server crash within 0.6 s of the read could lose it.
    AUDIT_DURABLE_READS = env.boolean("AUDIT_DURABLE_READS", False)
    SITE_URL = env.string("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    SELF_REFERRAL_SERVICE = env.string("SELF_REFERRAL_SERVICE")
    SESSION_COOKIE_AGE = env.integer("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
    if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
        raise env.ConfigError("CELERY_TASK_SOFT_TIME_LIMIT", "must be below CELERY_TASK_TIME_LIMIT")
    if CELERY_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
        # A task still running when its message becomes visible again would run twice.
        raise env.ConfigError(
            "CELERY_VISIBILITY_TIMEOUT", "must be longer than CELERY_TASK_TIME_LIMIT"
        )
except env.ConfigError as error:
    sys.exit(f"threshold: configuration error: {error}")

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

EMBEDDED = not REDIS_URL

INSTALLED_APPS = [
    # The admin site asks for a two-factor verified session (common/admin_site.py).
    "common.admin_config.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "formtools",
    "axes",
    "csp",
    # Two-factor sign-in (docs/security.md): an authenticator app, and recovery codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "pgtrigger",
    "django_filters",
    "common",
    "audit",
    "intake",
    "assessment",
    "therapy",
    "allocation",
    "notifications",
    # Whole-service apps, on top of the rest.
    "staff",
    "demo",
    "portal",
    "reporting",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages compressed on the way out (static files come compressed from whitenoise above);
    # Django's gzip pads each response at random against BREACH (docs/security.md).
    "django.middleware.gzip.GZipMiddleware",
    # Below whitenoise, so static files (no client data, fingerprinted) stay cacheable.
    "common.middleware.NoStoreMiddleware",
    "common.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Says whether the signed-in session has passed the two-factor code step.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "common.middleware.StaffSessionLimitsMiddleware",
    # After sign-in and the session limits: records every signed-in staff page and partner
    # API request once its view has run (docs/security.md, "Audit").
    "audit.middleware.AuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Overridable only so the benchmarks can mount their bare baseline view beside the real ones.
ROOT_URLCONF = env.string("ROOT_URLCONF", "config.urls")
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "common.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "staff-login"
LOGIN_REDIRECT_URL = "staff-home"
LOGOUT_REDIRECT_URL = "staff-login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "common.context_processors.service",
                "csp.context_processors.nonce",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static_build"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Fingerprinted, compressed files; `make install` runs collectstatic.
    "staticfiles": {"BACKEND": "common.storage.StaticFilesStorage"},
}

if REDIS_URL:
    CACHES = {
        "default": {
            # Tolerates Redis being down (common/cache.py): nothing kept here must be right.
            "BACKEND": "common.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "threshold",
            # A Redis that is gone costs a request at most this long (redis-py waits 5 s).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if _email:
    vars().update(_email)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# Sessions hold unfinished self-referrals and staff sign-ins: server-side, the cookie carries
# only the key. They live in the database, with no cache in front, so the public form and
# sign-in work while Redis is down; expired rows are purged by the beat task. (Django's
# cached_db raises when the cache is unreachable on a new session, sign-in and sign-out, and
# a write that missed the cache would leave an older copy there to be served once Redis is
# back.) common/sessions.py rewrites a row only when its contents changed or its sliding
# expiry is more than a few minutes behind, not on every page.
SESSION_ENGINE = "common.sessions"
# JSON only: a session row never holds pickled objects (a leaked secret key cannot become code
# execution through a forged session).
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"
SESSION_COOKIE_HTTPONLY = True
# Sliding expiry: an unfinished referral lasts SESSION_COOKIE_AGE after the last page seen,
# then the beat purge removes it.
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = HSTS_SECONDS
    SECURE_HSTS_INCLUDE_SUBDOMAINS = HSTS_INCLUDE_SUBDOMAINS
    SECURE_HSTS_PRELOAD = HSTS_PRELOAD

# Content-Security-Policy (django-csp): our own origin only. The one inline script (the body
# class nhsuk-frontend reads) carries a per-response nonce; no inline styles at all. The
# NHS.UK frontend's Frutiger font is licensed and not in its npm package: the CSS loads it from
# assets.nhs.uk, the one other origin allowed, for fonts alone. The admin and the API docs
# relax style-src for themselves (common/csp.py). docs/security.md explains each directive.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "https://assets.nhs.uk"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# django-axes: lock an account and address after repeated failed staff logins.
AXES_FAILURE_LIMIT = LOGIN_ATTEMPTS_LIMIT
AXES_COOLOFF_TIME = 1  # hours
# Locked per account *and* client address together: failures from one address never lock
# the account for anyone else. The address is found as everywhere else, from the trusted
# proxy hops only, so a forged X-Forwarded-For neither escapes a lock nor makes one.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "common.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

# django-otp: after each wrong code the device waits 1, 2, 4, 8 ... seconds before it checks
# another (OTP_*_THROTTLE_FACTOR), on top of TWO_FACTOR_ATTEMPTS_LIMIT (common/two_factor.py).
OTP_TOTP_ISSUER = TWO_FACTOR_ISSUER
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_STATIC_THROTTLE_FACTOR = 1

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Staff sessions count only once past the two-factor code step.
        "common.api_auth.VerifiedSessionAuthentication",
        # Partner tokens: hashed at rest, expiring, revocable, each use recorded.
        "intake.api_auth.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every error in one shape, documented as the Error component (common/api_errors.py).
    "EXCEPTION_HANDLER": "common.api_errors.api_exception_handler",
    # Throttles count in the shared cache; anonymous callers by common.client_address.
    "DEFAULT_THROTTLE_CLASSES": [
        "common.throttling.ClientAddressAnonThrottle",
        "common.throttling.AccountThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": RATE_API_ANON,
        "user": RATE_API_USER,
        "partner_referrals": RATE_API_REFERRALS,
    },
}

# django-ratelimit (the public self-referral pages, intake/limits.py): counters in the
# default cache, whose increment is atomic (Redis INCR; in embedded mode the single
# process's memory, under a lock). Addresses come from common.client_address. A counter
# that cannot be read lets the request through: never refuse a referral for our fault.
# (django_ratelimit is not an installed app: its system check knows only memcached and
# django-redis by name: it warns about the first cache and refuses the second.)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "common.client_address.client_address"
RATELIMIT_FAIL_OPEN = True
RATELIMIT_CACHE_PREFIX = "rl:"
SPECTACULAR_SETTINGS = {
    "TITLE": "Threshold API",
    "DESCRIPTION": "Referral and assessment intake for psychodynamic therapy services.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files are served from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery. Embedded mode runs tasks in-process; this is announced at start-up (common.apps).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = EMBEDDED
CELERY_TASK_EAGER_PROPAGATES = EMBEDDED
CELERY_TASK_IGNORE_RESULT = True  # state lives in our own tables, never in a result backend
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Risk alerts travel on their own queue with their own worker, never behind bulk letters.
CELERY_TASK_ROUTES = {"notifications.deliver_urgent": {"queue": "urgent"}}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged task (its worker died) is handed out again after this many seconds.
    # It exceeds the hard time limit (checked above), so a slow but alive task is never
    # handed to a second worker.
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # How often each worker looks for such messages (kombu's default is every ~100 s).
    "unacked_restore_interval": CELERY_RESTORE_SWEEP_SECONDS,
    "unacked_restore_throttle": 1,
    # Every Threshold key in Redis carries this prefix, so several deployments (or a test
    # run) can share one Redis without seeing each other's queues.
    "global_keyprefix": CELERY_KEY_PREFIX,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "filters": {"refusal_one_line": {"()": "common.log_filters.RefusalOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"filters": ["refusal_one_line"]},  # a 4xx is one line, no traceback
        "django.db.backends": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}
