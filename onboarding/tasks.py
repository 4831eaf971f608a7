"""Celery wrappers for onboarding. Sent inside an organisation's schema, they run there."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from onboarding import service_import
from tenants.dispatch import dispatch_to_tenants


@shared_task(name="onboarding.run_service_import", acks_late=True)
def run_service_import(import_id: int) -> str:
    return service_import.run_import(import_id)


@shared_task(name="onboarding.sweep_imports", acks_late=True)
def sweep_imports() -> int:
    ids = service_import.requeue_lost_imports()
    for import_id in ids:
        run_service_import.delay(import_id)
    return len(ids)


@shared_task(name="onboarding.dispatch_import_sweeps")
def dispatch_import_sweeps() -> int:
    return dispatch_to_tenants(
        sweep_imports, spread_seconds=min(120, settings.TENANT_TASK_SPREAD_SECONDS)
    )
