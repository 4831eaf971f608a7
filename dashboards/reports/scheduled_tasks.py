"""Celery wrappers for scheduled reports: every hour, in every organisation."""

from __future__ import annotations

from django.conf import settings

from config.celery import app
from dashboards.reports import delivering
from tenants.dispatch import dispatch_to_tenants


@app.task(name="dashboards.deliver_reports", acks_late=True)
def deliver_reports() -> int:
    return delivering.deliver_due()


@app.task(name="dashboards.dispatch_report_deliveries")
def dispatch_report_deliveries() -> int:
    return dispatch_to_tenants(
        deliver_reports, spread_seconds=min(300, settings.TENANT_TASK_SPREAD_SECONDS)
    )
