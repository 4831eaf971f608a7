"""The Celery app. Tasks sent inside a tenant's schema run in that schema on the worker."""

from __future__ import annotations

import os

from celery.signals import worker_process_init
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = TenantAwareCeleryApp("carevoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Apps' sub-packages with their own tasks module.
app.autodiscover_tasks(["dashboards.reports"])


@worker_process_init.connect
def _warm_and_freeze(**kwargs: object) -> None:
    """Each worker process, once it has loaded the application (config/warming.py)."""
    from config.warming import warm_and_freeze

    warm_and_freeze()
