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
from config.logging import choose_log_format, logging_config
from config.production import check_contact_keys, refuse_unsafe_production, split_keys

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
    # A second factor (tenants/accounts/second_factor.py): TOTP devices and recovery codes,
    # in both lists because accounts live in both.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "feedback.hub",
    "feedback.reach",
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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
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
# ...and migrates the schemas that are behind in batches: a migration worked out once, its SQL
# replayed over a few connections, this many schemas to a transaction (tenants/batch_migrating.py).
TENANT_MIGRATION_BATCHES = env_bool("TENANT_MIGRATION_BATCHES", True)
TENANT_MIGRATION_BATCH_SIZE = env_int("TENANT_MIGRATION_BATCH_SIZE", 50)
TENANT_MIGRATION_CONNECTIONS = env_int("TENANT_MIGRATION_CONNECTIONS", 4)
TENANT_MIGRATION_LOCK_TIMEOUT_SECONDS = env_int("TENANT_MIGRATION_LOCK_TIMEOUT_SECONDS", 30)
# A database connection that has served more schemas than this is closed at the end of the
# request or task: a backend keeps what it has looked up of every table it touched
# (tenants/connections.py).
TENANT_SCHEMAS_PER_CONNECTION = env_int("TENANT_SCHEMAS_PER_CONNECTION", 100)
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
PUBLIC_SCHEMA_URLCONF = "config.urls_hub"
ROOT_URLCONF = "config.urls_tenant"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
# How long each process trusts its copy of host → organisation (tenants/routing.py).
TENANT_ROUTING_CACHE_SECONDS = env_int("TENANT_ROUTING_CACHE_SECONDS", 30)
TENANT_ROUTING_MISS_SECONDS = env_int("TENANT_ROUTING_MISS_SECONDS", 2)

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    # First: X-Forwarded-* from anyone but TRUSTED_PROXIES are dropped before anything reads
    # them (SECURE_PROXY_SSL_HEADER, rate limits, audit addresses).
    "config.proxies.ForwardedHeadersMiddleware",
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files are the same for every host: served before tenant routing, so they need
    # no database (and keep loading while it is down).
    "config.staticfiles.StaticFilesMiddleware",
    # A view whose database connection was lost answers 503 "nothing was saved, try again in
    # a moment" (not 500), and the dead connection is closed.
    "config.database_faults.DatabaseFaultMiddleware",
    "tenants.routing.CachedTenantMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
    "tenants.middleware.OrganisationStatusMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Public pages in the visitor's language (?language=, the language cookie, the
    # organisation's default, Accept-Language); workspaces in English (feedback/languages.py).
    # After sessions, before CommonMiddleware (Django's rule for LocaleMiddleware).
    "feedback.languages.PublicLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Signs out sessions idle too long or signed in too long ago (tenants/sessions.py).
    "tenants.sessions.SessionTimeoutMiddleware",
    # After sign-in: a password alone reaches only the second-factor pages.
    "tenants.accounts.second_factor_middleware.SecondFactorMiddleware",
    # After sign-in: staff limited to some services reach only the pages that scope to them
    # (feedback/service_limits.py).
    "feedback.service_limits.ServiceLimitMiddleware",
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
                # LANGUAGE_CODE for <html lang> (feedback/languages.py).
                "django.template.context_processors.i18n",
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
# The backend django-tenants wraps: Django's PostgreSQL one, whose schema editor also names
# the constraints Citus wants named when DATABASE_URL is a Citus coordinator (tenants/citus).
ORIGINAL_BACKEND = "tenants.citus"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, broker ------------------------------------------------------------------------
CELERY_BROKER_URL = _from_env_or_runtime("CELERY_BROKER_URL")
CACHE_URL = _from_env_or_runtime("CACHE_URL")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedClientRedisCache",
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
# Time limits, so a task that hangs (a mail server that never answers, a lock never granted)
# cannot hold a worker process for good. At the soft limit the task gets SoftTimeLimitExceeded:
# its transaction rolls back, and a row it had claimed is released (tenants/outbox.py) or
# stays claimed until its stale setting, so the sweepers take it again. At the hard limit the
# process is killed, and what it held is left as a dead worker's is. The default hard limit is
# under every *_STALE_CLAIM_SECONDS default (600), so a claim goes stale only once its worker
# has stopped.
# Enforced by the prefork pool (`make run`, compose, the cluster), not by the solo pool of the
# tests' worker.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be less than CELERY_TASK_TIME_LIMIT, so a task is "
        "told to stop before it is killed."
    )


def _limits(soft: int, hard: int) -> dict[str, int]:
    return {"soft_time_limit": soft, "time_limit": hard}


# The tasks whose real work can outlast the default get their own limits (by task name).
# Every hard limit stays under the visibility timeout (a task unacknowledged for that long is
# delivered again, to a second worker beside the first) and under the wait of the sweeper
# that would take its work again (tests/config/test_time_limits.py checks both).
CELERY_TASK_ANNOTATIONS = {
    # Up to 5,000 rows in one transaction; under the 10 minutes after which a running import
    # is claimed again (IMPORT_STALE_CLAIM_SECONDS).
    "onboarding.run_service_import": _limits(420, 540),
    # A year of a large trust as a PDF; under the 30 minutes after which a build that stopped
    # moving on no longer counts (dashboards/reports/long_reports.py STALE_AFTER).
    "reports.build_long_pdf": _limits(900, 1200),
    # An organisation's whole history recomputed in one transaction (200,000 stories: 17 s).
    "dashboards.rebuild_rollups": _limits(900, 1200),
    # Every report due this hour in an organisation, PDFs built for each; under
    # REPORT_STALE_CLAIM_SECONDS (600), so none of its claims goes stale while it runs.
    "dashboards.deliver_reports": _limits(480, 570),
    # Nightly, platform-wide: every subscription checked with Stripe, one call each; and the
    # retention run, one transaction over every story past keeping.
    "billing.reconcile_subscriptions": _limits(1800, 2400),
    "feedback.apply_retention": _limits(1800, 2400),
    # Provisioning clones a template schema in well under a second. Shorter than the default,
    # so a provisioning has stopped before the sweeper sends a sign-up stuck at that step for
    # five minutes again (onboarding/signup/wizard.py STUCK_PROVISIONING).
    "signup.provision": _limits(120, 180),
}
# A queue per workload (infra/SCALING.md), so an alert never waits behind a night of report
# building, a burst of Stripe events or a slow mail server. A worker consumes all five unless
# started with -Q (`celery -A config.celery worker -Q alerts`): how a cluster gives alerts
# their own pods.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each queue bound by its own name, so a task routed to one is delivered to that one only.
CELERY_TASK_QUEUES = tuple(
    Queue(name, routing_key=name) for name in ("celery", "alerts", "mail", "reports", "billing")
)
# Exact names are looked up first, then the patterns in this order (TRICKY: the mail
# patterns must stay above "feedback.*").
CELERY_TASK_ROUTES = {
    # Alerts to staff: minutes matter.
    "alerts.*": {"queue": "alerts"},
    # Mail to story authors and training reminders: apart from alerts, so a burst of receipts
    # or a mail server slow to answer never holds an alert back.
    "tenants.send_outbox_message": {"queue": "mail"},
    # ... except an alert's email, which goes with the alerts.
    "tenants.send_alert_outbox_message": {"queue": "alerts"},
    "tenants.send_due_outbox_messages": {"queue": "mail"},
    "feedback.send_*": {"queue": "mail"},
    "feedback.notify_*": {"queue": "mail"},
    "training.*": {"queue": "mail"},
    # Nightly housekeeping, long: kept off the alert workers.
    "feedback.apply_retention": {"queue": "celery"},
    # Bulk exports of stories: heavy, can wait, with the reports.
    "exports.*": {"queue": "reports"},
    # Learning each organisation's themes from its stories: nightly, heavy.
    "topics.*": {"queue": "reports"},
    # Safeguarding escalations and the moderation-wait alert to platform staff.
    "feedback.*": {"queue": "alerts"},
    # Report building and delivery, rollup rebuilds and target sweeps: heavy, can wait.
    "reports.*": {"queue": "reports"},
    "dashboards.*": {"queue": "reports"},
    # Stripe events and sign-ups: money and new customers.
    "billing.*": {"queue": "billing"},
    "signup.*": {"queue": "billing"},
    # Everything else (imports, housekeeping) on the default queue.
}
# Keep a worker's database connection between tasks (Celery's Django fix-up closes it after
# every task otherwise, which costs a reconnection per alert).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "Europe/London"
# An alert email claimed by a worker that then died is sent by another after this long.
ALERT_STALE_CLAIM_SECONDS = env_int("ALERT_STALE_CLAIM_SECONDS", 600)
# A scheduled report claimed by a worker that then died is sent by another after this long
# (building its PDFs takes longer than an alert, so it has its own setting).
REPORT_STALE_CLAIM_SECONDS = env_int("REPORT_STALE_CLAIM_SECONDS", 600)
# A large service import claimed by a worker that then died is run again after this long
# (onboarding/service_import.py STALE_CLAIM; over the import task's hard time limit).
IMPORT_STALE_CLAIM_SECONDS = env_int("IMPORT_STALE_CLAIM_SECONDS", 600)
# Outgoing emails in the outbox (tenants/messages.py): a claim older than this is a dead
# worker's; a failed send waits OUTBOX_RETRY_BASE_SECONDS * 2**attempts (at most
# OUTBOX_RETRY_MAX_SECONDS) and is parked for platform staff after OUTBOX_MAX_ATTEMPTS.
OUTBOX_STALE_CLAIM_SECONDS = env_int("OUTBOX_STALE_CLAIM_SECONDS", 600)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 60)
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 6 * 60 * 60)
# Sent ones are deleted after this many days (the daily purge); waiting and parked ones stay.
OUTBOX_KEEP_SENT_DAYS = env_int("OUTBOX_KEEP_SENT_DAYS", 30)
# Platform staff are emailed when a story has waited this long for moderation
# (feedback/moderation_watch.py), and again after as long again.
MODERATION_WAIT_ALERT_HOURS = env_int("MODERATION_WAIT_ALERT_HOURS", 24)
# Per-organisation periodic work is spread at random over this many seconds.
TENANT_TASK_SPREAD_SECONDS = env_int("TENANT_TASK_SPREAD_SECONDS", 600)
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "tenants.dispatch_clear_expired_sessions",
        "schedule": 6 * 60 * 60,
    },
    "alerts-sweep": {"task": "alerts.dispatch_sweeps", "schedule": 5 * 60},
    # Outgoing emails whose send failed, whose task was lost, or whose worker died.
    "outbox-sweep": {"task": "tenants.send_due_outbox_messages", "schedule": 60},
    # Sent outgoing emails past OUTBOX_KEEP_SENT_DAYS deleted.
    "outbox-purge": {
        "task": "tenants.purge_sent_outbox_messages",
        "schedule": crontab(hour=4, minute=20),
    },
    # Safeguarding concerns nobody acknowledged in time go to administrators and platform staff.
    "safeguarding-escalation": {
        "task": "feedback.escalate_safeguarding_concerns",
        "schedule": 5 * 60,
    },
    # Platform staff told when a story has waited too long for moderation (hazard H1).
    "moderation-queue-watch": {"task": "feedback.watch_moderation_queue", "schedule": 15 * 60},
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
    # Themes rising above their limit at a service (alerts/emerging.py), before the digests.
    "alerts-emerging-themes": {
        "task": "alerts.dispatch_emerging_themes",
        "schedule": crontab(hour=5, minute=30),
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
    # Training reminders 24 hours ahead written to the outbox (each booking reminded once).
    "training-reminders": {"task": "training.send_reminders", "schedule": 10 * 60},
    # Large service imports whose task message was lost are queued again.
    "onboarding-import-sweep": {"task": "onboarding.dispatch_import_sweeps", "schedule": 10 * 60},
    # Long PDF reports whose task message was lost are queued again.
    "reports-long-report-sweep": {
        "task": "reports.dispatch_long_report_sweeps",
        "schedule": 5 * 60,
    },
    # Each organisation's themes learned again from its stories (feedback/topics.py).
    "topics-fit": {"task": "topics.dispatch_fits", "schedule": crontab(hour=4, minute=40)},
    # Story exports whose task message was lost are sent again.
    "exports-sweep": {"task": "exports.dispatch_sweeps", "schedule": 5 * 60},
    # Authors' contact details and unpublished stories' text past keeping (public schema).
    "feedback-retention": {
        "task": "feedback.apply_retention",
        "schedule": crontab(hour=1, minute=40),
    },
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
# In production the cookies are __Host- prefixed: browsers then accept them only over https,
# for Path=/ and this host alone (no Domain), so a sibling subdomain can neither set nor
# overwrite them. (SESSION_COOKIE_DOMAIN and CSRF_COOKIE_DOMAIN stay unset for that reason.)
_COOKIE_PREFIX = "__Host-" if PRODUCTION and SECURE_COOKIES else ""
SESSION_COOKIE_NAME = f"{_COOKIE_PREFIX}sessionid"
CSRF_COOKIE_NAME = f"{_COOKIE_PREFIX}csrftoken"
# The visitor's chosen language (the switch on public pages): hardened like the others.
LANGUAGE_COOKIE_NAME = f"{_COOKIE_PREFIX}language"
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
# A signed-in session ends after this long without activity, and this long after sign-in
# whatever the activity (tenants/sessions.py).
STAFF_SESSION_IDLE_SECONDS = env_int("STAFF_SESSION_IDLE_SECONDS", 30 * 60)
STAFF_SESSION_MAX_SECONDS = env_int("STAFF_SESSION_MAX_SECONDS", 12 * 60 * 60)
# Addresses or networks (comma-separated) of our own reverse proxies, whose X-Forwarded-For
# and X-Forwarded-Proto are believed (config/proxies.py; gunicorn reads the same variable).
# Empty, the default, believes nobody: behind a proxy, set it to the proxy's addresses.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Carevoice's and the organisation's own names (ASVS 6.1.2).
    {"NAME": "tenants.passwords.ContextWordsValidator"},
]

# Failed logins allowed per window, per account and per client address.
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 5)
LOGIN_RATE_WINDOW_SECONDS = env_int("LOGIN_RATE_WINDOW_SECONDS", 15 * 60)
# Submissions of a public form allowed per window, per client address.
PUBLIC_FORM_RATE_LIMIT = env_int("PUBLIC_FORM_RATE_LIMIT", 10)
PUBLIC_FORM_RATE_WINDOW_SECONDS = env_int("PUBLIC_FORM_RATE_WINDOW_SECONDS", 60 * 60)

# A second factor (tenants/accounts/second_factor.py): the name authenticator apps show, and
# wrong codes allowed per account in the login window (each device also slows down by itself:
# 1, 2, 4, ... seconds after successive failures).
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Carevoice")
SECOND_FACTOR_RATE_LIMIT = env_int("SECOND_FACTOR_RATE_LIMIT", 5)

# Keys for authors' contact details at rest (feedback/hub/crypto.py): Fernet keys,
# comma-separated, newest first; the first encrypts, every one decrypts. FIELD_ENCRYPTION_KEY
# is the old name, read when FIELD_ENCRYPTION_KEYS is unset. A missing key is a system check
# error (`manage.py check`), and refused at import with PRODUCTION=true.
_contact_keys = {
    "FIELD_ENCRYPTION_KEYS": _from_env_or_runtime("FIELD_ENCRYPTION_KEYS"),
    "FIELD_ENCRYPTION_KEY": _from_env_or_runtime("FIELD_ENCRYPTION_KEY"),
}
_CONTACT_KEYS_NAME = next((n for n, v in _contact_keys.items() if v), "FIELD_ENCRYPTION_KEYS")
FIELD_ENCRYPTION_KEYS = check_contact_keys(
    split_keys(_contact_keys[_CONTACT_KEYS_NAME]), _CONTACT_KEYS_NAME
)
# The secret text that held the key before Fernet keys were required (it was turned into a
# key through SHA-256): decrypts only, until `manage.py rotate_contact_key` has run.
FIELD_ENCRYPTION_LEGACY_SECRET = _from_env_or_runtime("FIELD_ENCRYPTION_LEGACY_SECRET")

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
# Seconds an SMTP connection, read or write may wait, so a mail server that stops answering
# cannot hold a worker (or a request sending an invitation) for good.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Carevoice <no-reply@{BASE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- text messages (tenants/sms.py) ---------------------------------------------------------
# Every SMS goes through the outbox and then this backend: a class with `send(to, body)`.
# The file backend writes one file per message under SMS_FILE_PATH (development and tests);
# production names its provider's backend (a class of its own, see tenants/sms.py).
SMS_BACKEND = env_str("SMS_BACKEND", "tenants.sms.FileBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", "") or _RUNTIME.get(
    "SMS_FILE_PATH", str(BASE_DIR / ".data" / "sms")
)
# Invitations to tell (onboarding/tell_invitations.py): recipients per batch, the largest
# CSV file accepted, and the key of the opt-out list's HMAC (its own secret, so rotating
# SECRET_KEY does not forget who opted out; SECRET_KEY when unset).
INVITATION_BATCH_MAX = env_int("INVITATION_BATCH_MAX", 2000)
INVITATION_CSV_MAX_BYTES = env_int("INVITATION_CSV_MAX_BYTES", 200_000)
INVITATION_OPT_OUT_KEY = _from_env_or_runtime("INVITATION_OPT_OUT_KEY") or SECRET_KEY
# With PRODUCTION=true: no start with a weak or example SECRET_KEY or contact key, or with
# mail that reaches no one (config/production.py).
if PRODUCTION:
    refuse_unsafe_production(
        secret_key=SECRET_KEY,
        contact_keys=FIELD_ENCRYPTION_KEYS,
        contact_keys_name=_CONTACT_KEYS_NAME,
        email_backend=EMAIL_BACKEND,
        email_host_from_environment=env_str("EMAIL_HOST"),
        behind_tls_proxy=env_bool("BEHIND_TLS_PROXY", PRODUCTION),
        trusted_proxies=TRUSTED_PROXIES,
    )
# Long PDF builds an organisation may have queued or running at once, and one person may
# start in an hour (dashboards/reports/long_reports.py).
LONG_REPORTS_PER_ORGANISATION = env_int("LONG_REPORTS_PER_ORGANISATION", 3)
LONG_REPORTS_PER_USER_PER_HOUR = env_int("LONG_REPORTS_PER_USER_PER_HOUR", 10)
# Bulk exports of stories (feedback/exporting.py), limited the same way.
STORY_EXPORTS_PER_ORGANISATION = env_int("STORY_EXPORTS_PER_ORGANISATION", 2)
STORY_EXPORTS_PER_USER_PER_HOUR = env_int("STORY_EXPORTS_PER_USER_PER_HOUR", 10)

# Where vulnerability reports go (/.well-known/security.txt, /security/).
SECURITY_CONTACT = env_str("SECURITY_CONTACT", f"mailto:security@{BASE_DOMAIN}")

# Retention (feedback/retention.py, nightly; the privacy notice at /privacy/ reads these too):
# days after the last follow-up on a story that its author's email and postcode are kept, and
# days after moderation that the text of a rejected (or settled withheld) story is kept.
AUTHOR_CONTACT_RETENTION_DAYS = env_int("AUTHOR_CONTACT_RETENTION_DAYS", 365)
REJECTED_TEXT_RETENTION_DAYS = env_int("REJECTED_TEXT_RETENTION_DAYS", 90)
for _name in ("AUTHOR_CONTACT_RETENTION_DAYS", "REJECTED_TEXT_RETENTION_DAYS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1 day")
# Who is responsible for authors' information, and where they write about it (/privacy/).
DATA_CONTROLLER = env_str("DATA_CONTROLLER", "Carevoice")
PRIVACY_CONTACT = env_str("PRIVACY_CONTACT", f"privacy@{BASE_DOMAIN}")

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
# Public pages in English and Welsh (catalogues in locale/; README "Welsh and other languages").
LANGUAGES = [("en-gb", "English"), ("cy", "Cymraeg")]
LOCALE_PATHS = [BASE_DIR / "locale"]
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

# --- logging: one line per record, each carrying the tenant schema (config/logging.py) ---------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "json" (the default, and always with PRODUCTION) or "text", one readable line (`make run`).
LOG_FORMAT = choose_log_format(env_str("LOG_FORMAT", ""), debug=DEBUG, production=PRODUCTION)
# Also write every record to this file, as JSON lines, whatever LOG_FORMAT is.
LOG_FILE = env_str("LOG_FILE", "")
LOGGING = logging_config(level=LOG_LEVEL, console_format=LOG_FORMAT, log_file=LOG_FILE)
