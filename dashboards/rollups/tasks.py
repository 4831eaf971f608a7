"""Celery wrappers for the rollups: missed targets every few minutes, a nightly rebuild."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import connection

from dashboards.rollups import rebuilding
from tenants.dispatch import dispatch_to_tenants


@shared_task(name="dashboards.mark_missed_targets", acks_late=True)
def mark_missed_targets() -> int:
    return rebuilding.mark_missed_targets()


@shared_task(name="dashboards.rebuild_rollups", acks_late=True)
def rebuild_rollups() -> int:
    return rebuilding.rebuild_rollups(connection.tenant)


@shared_task(name="dashboards.dispatch_missed_targets")
def dispatch_missed_targets() -> int:
    return dispatch_to_tenants(
        mark_missed_targets, spread_seconds=min(60, settings.TENANT_TASK_SPREAD_SECONDS)
    )


@shared_task(name="dashboards.dispatch_rebuilds")
def dispatch_rebuilds() -> int:
    return dispatch_to_tenants(rebuild_rollups, spread_seconds=settings.TENANT_TASK_SPREAD_SECONDS)
