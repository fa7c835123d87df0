"""Settings, read from the environment (docs/CONTRACT.md §8).

Every name below is part of the operator contract: keep them as they are. A `.env` file in the
project root is read when present (`make run` writes one for the demo). Production
(`DJANGO_DEBUG` false, the default) refuses to start without its secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from integration_portal.proxies import forwarded_allow_ips

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = os.environ.get("PORTAL_ENV_FILE", str(BASE_DIR / ".env"))
if os.path.isfile(_env_file):
    environ.Env.read_env(_env_file, overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Local state of the embedded mode (SQLite file, filesystem broker, beat schedule).
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
TESTING = env.bool("PORTAL_TESTING", default=False)

# --- secrets: no production defaults -------------------------------------------------------
_missing = [
    name
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "CALLBACK_HMAC_KEY")
    if not env.str(name, default="").strip()
]
if _missing and not DEBUG:
    raise ImproperlyConfigured(
        "The portal refuses to start with DJANGO_DEBUG off and these settings missing: "
        + ", ".join(_missing)
        + ". Set them in the environment or in .env (see .env.example)."
        + (
            " An existing installation that never set CALLBACK_HMAC_KEY must set it to its "
            "current DJANGO_SECRET_KEY value, or the callbacks of open orders stop verifying."
            if "CALLBACK_HMAC_KEY" in _missing
            else ""
        )
    )
# In debug only, an insecure development key keeps `manage.py` usable before `.env` exists.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or "insecure-development-only-key"
FIELD_ENCRYPTION_KEYS = env.str("FIELD_ENCRYPTION_KEYS", default="")

# Proxies whose X-Forwarded-For/-Proto are believed; gunicorn reads the same variable
# (integration_portal/proxies.py).
FORWARDED_ALLOW_IPS = forwarded_allow_ips()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[PUBLIC_BASE_URL])

# --- behaviour knobs (docs/CONTRACT.md §8; defaults are the contract) ------------------------------
LEVER_WEBHOOK_MAX_AGE_S = env.int("LEVER_WEBHOOK_MAX_AGE_S", default=1209600)
LEVER_WEBHOOK_MAX_SKEW_S = env.int("LEVER_WEBHOOK_MAX_SKEW_S", default=300)
OUTBOX_SWEEP_INTERVAL_S = env.int("OUTBOX_SWEEP_INTERVAL_S", default=60)
OUTBOX_LEASE_S = env.int("OUTBOX_LEASE_S", default=300)
NOTE_MAX_ATTEMPTS = env.int("NOTE_MAX_ATTEMPTS", default=10)
# Attempt caps of the other durable jobs (orders.outbox): after the cap a job is failed, visibly.
INBOUND_MAX_ATTEMPTS = env.int("INBOUND_MAX_ATTEMPTS", default=10)
SUBMIT_MAX_ATTEMPTS = env.int("SUBMIT_MAX_ATTEMPTS", default=10)
CANCEL_MAX_ATTEMPTS = env.int("CANCEL_MAX_ATTEMPTS", default=10)
RECONCILE_AFTER_S = env.int("RECONCILE_AFTER_S", default=3600)
# Raw webhook and callback bodies (candidate personal data) are blanked this many days after they
# arrived, once processed (orders/services/lifecycle.py). Never below the webhook max age: a body
# must outlive the time Lever may still deliver (or replay) the same event.
PAYLOAD_RETENTION_DAYS = env.int("PAYLOAD_RETENTION_DAYS", default=30)
if PAYLOAD_RETENTION_DAYS * 86400 < LEVER_WEBHOOK_MAX_AGE_S:
    raise ImproperlyConfigured(
        f"PAYLOAD_RETENTION_DAYS={PAYLOAD_RETENTION_DAYS} is below the webhook max age "
        f"(LEVER_WEBHOOK_MAX_AGE_S={LEVER_WEBHOOK_MAX_AGE_S} s, "
        f"{LEVER_WEBHOOK_MAX_AGE_S / 86400:g} days). Set it to at least that many days."
    )
# Lifetime of a credential intake link (connectors/tenants/intake_links.py).
INTAKE_LINK_TTL_HOURS = env.int("INTAKE_LINK_TTL_HOURS", default=72)
# Server key for the HMAC of per-order callback passwords (docs/CONTRACT.md). Its own setting, and
# required in production, so that rotating DJANGO_SECRET_KEY never locks out every open order;
# only the debug demo falls back to the secret key.
CALLBACK_HMAC_KEY = env.str("CALLBACK_HMAC_KEY", default="") or SECRET_KEY
# Outbound calls to loopback, private, link-local, multicast or unspecified addresses, and over
# plain http, are refused unless this is true (connectors/outbound.py). Only the local demo and
# the tests, whose fake Lever and Backcheck listen on 127.0.0.1, turn it on.
OUTBOUND_ALLOW_PRIVATE_NETWORKS = env.bool("OUTBOUND_ALLOW_PRIVATE_NETWORKS", default=False)
HTTP_CONNECT_TIMEOUT_S = env.float("HTTP_CONNECT_TIMEOUT_S", default=5.0)
HTTP_READ_TIMEOUT_S = env.float("HTTP_READ_TIMEOUT_S", default=20.0)
NOTE_RETRY_BASE_S = env.float("NOTE_RETRY_BASE_S", default=5.0)
NOTE_RETRY_MAX_S = env.float("NOTE_RETRY_MAX_S", default=900.0)

# --- apps -----------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # After django_otp: its admin replaces the OTP device admins (which show keys and codes).
    "integration_portal.api_tokens",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "connectors",
    "orders",
]

MIDDLEWARE = [
    # Outermost: every answer (redirects and 4xx included) carries X-Request-ID and is counted.
    "integration_portal.logging.RequestIdMiddleware",
    "integration_portal.metrics.MetricsMiddleware",
    # Tasks a request queues are published once its answer is sent
    # (integration_portal/publishing.py).
    "integration_portal.publishing.PublishAfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "integration_portal.two_factor.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "integration_portal.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "integration_portal.urls"
WSGI_APPLICATION = "integration_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_default_sqlite)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a worker writes; IMMEDIATE transactions plus a busy
    # timeout turn lock contention into waiting rather than "database is locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # A cut database must surface as a fast 503, not a hung request (docs/CONTRACT.md §5).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT_S", default=3)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, Celery --------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # kombu's default is ./control, relative to wherever a process was started.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # The outbox sweeper, not the visibility timeout, recovers lost work (docs/CONTRACT.md §7);
        # a long timeout only avoids a second copy of a slow task.
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
# Booked deliveries are countdown messages on their own queue (integration_portal/publishing.py).
# A worker holds such a message in memory until it is due, without taking a pool process, so it
# should fetch each one as soon as it is published. Kombu's default round robin alternates the queues,
# fetching only as pool processes free up, so under a backlog of fresh work booked messages
# waited in Redis past their slot (docs/PERFORMANCE.md). "priority" drains the queues in the
# order CELERY_TASK_QUEUES lists them: the scheduled queue first, then one fresh message.
CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] = "priority"
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = False
# Workers consume both queues by default: work rescheduled for later (see
# integration_portal/publishing.py), fetched first, and fresh work. Run `celery worker` without -Q, or name both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery.scheduled"), Queue("celery"))
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process is replaced after this many tasks, so a slow leak in a library never grows
# into a worker that the kernel kills mid-task.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT_S", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT_S", default=90)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "sweep-outbox": {"task": "orders.sweep_outbox", "schedule": float(OUTBOX_SWEEP_INTERVAL_S)},
    "reconcile-quiet-orders": {
        "task": "orders.reconcile_quiet_orders",
        # Often enough that an order is at most a little past RECONCILE_AFTER_S when polled.
        "schedule": float(max(5, min(300, RECONCILE_AFTER_S // 4))),
    },
    # Batched per account manager (at most one email each 15 minutes): orders.services.attention_mail
    "email-attention": {"task": "orders.email_attention", "schedule": 60.0},
    # Data lifecycle (orders/services/lifecycle.py): retention of raw bodies, and erasure of
    # candidates deleted in Lever.
    # The orders list's hourly counts take changes as deltas; folding keeps them few
    # (orders/services/order_counts.py).
    "fold-order-counts": {"task": "orders.fold_order_counts", "schedule": 30.0},
    "purge-payloads": {"task": "orders.purge_payloads", "schedule": 3600.0},
    "erase-lever-deleted": {"task": "orders.erase_lever_deleted", "schedule": 3600.0},
}

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
# Super-admins must sign in with a second factor (TOTP, integration_portal/two_factor.py) whenever
# debug is off; account managers may choose to.
TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS = not DEBUG
OTP_TOTP_ISSUER = "Backcheck Lever portal"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed file names: WhiteNoise serves them with a far-future cache header, and a new
# release never meets a browser's stale copy. `collectstatic` must run before the web starts.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- email ------------------------------------------------------------------------------------
# Outgoing mail (intake notices, attention emails to account managers) as one URL:
# smtp+tls://user:pass@host:587, consolemail:// (the demo's .env), … Unset: nothing is mailed, and
# the pages carry every notice.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Idle timeout: a session ends 8 hours after its last use (each request renews it), not 14 days
# after sign-in.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_SAVE_EVERY_REQUEST = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "integration_portal.api_tokens.authentication.HashedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "integration_portal.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Backcheck ↔ Lever integration portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: the portal works offline and under `default-src 'self'`.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- logging --------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One JSON object a line in production (LOG_FORMAT=json), readable lines in debug; both carry
# the request/task/tenant/order ids and go through the secret redaction filter.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "integration_portal.logging.RedactSecretsFilter"},
        "context": {"()": "integration_portal.logging.ContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "integration_portal.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- metrics (integration_portal/metrics.py) ------------------------------------------------
# /metrics is served while METRICS_ENABLED, to `Authorization: Bearer <METRICS_TOKEN>`; the token
# is required with debug off (without one, in debug only, /metrics is open). Several gunicorn processes: set PROMETHEUS_MULTIPROC_DIR.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="").strip()
if METRICS_ENABLED and not METRICS_TOKEN and not DEBUG:
    # The counters name every tenant: outside debug they are never served to just anyone.
    raise ImproperlyConfigured(
        "The portal refuses to start with DJANGO_DEBUG off, METRICS_ENABLED on and METRICS_TOKEN "
        "missing. Set METRICS_TOKEN (Prometheus sends it as a bearer token), or set "
        "METRICS_ENABLED=false to turn /metrics off."
    )
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client keeps its counters in files as soon as the variable exists, and when it
    # is empty writes them into the current directory: empty means unset here.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
if not DEBUG:
    # Prometheus scrapes web directly on the private network, over plain http.
    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]
