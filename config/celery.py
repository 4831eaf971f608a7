"""The Celery app. Tasks sent inside a tenant's schema run in that schema on the worker."""

from __future__ import annotations

import logging
import os

from celery.signals import setup_logging, worker_process_init
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = TenantAwareCeleryApp("carevoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Apps' sub-packages with their own tasks module.
app.autodiscover_tasks(["dashboards.reports"])


@setup_logging.connect
def _log_through_settings(**kwargs: object) -> None:
    """The worker and beat write settings.LOGGING's lines (readable or JSON, redacted, with
    the schema), not Celery's own: connecting here keeps Celery's handlers, and its task
    logger that would bypass the redaction, out of the way (config/logging.py)."""
    from config.logging import keep_configured_logging

    # billiard's pool logger does not propagate; Celery gave it a handler from ERROR up.
    keep_configured_logging(unpropagated={"multiprocessing": logging.ERROR})


@worker_process_init.connect
def _warm_and_freeze(**kwargs: object) -> None:
    """Each worker process, once it has loaded the application (config/warming.py)."""
    from config.warming import warm_and_freeze

    warm_and_freeze()
