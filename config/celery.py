"""The Celery app. Tasks sent inside a tenant's schema run in that schema on the worker."""

from __future__ import annotations

import os

from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = TenantAwareCeleryApp("carevoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Apps' sub-packages with their own tasks module.
app.autodiscover_tasks(["dashboards.reports"])
