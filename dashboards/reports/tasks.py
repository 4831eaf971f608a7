"""Celery tasks for reports: long PDFs made by a worker (and queued again by a sweeper when
their message was lost), and scheduled reports delivered every hour in every organisation.
Sent inside an organisation's schema, they run there.

Found by `config.celery`'s autodiscovery of `dashboards.reports`; beat names the tasks by the
`name`s given here (config/settings.py, CELERY_BEAT_SCHEDULE), so those stay as they are.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from dashboards.reports import delivering, long_reports
from tenants.dispatch import dispatch_to_tenants


@shared_task(name="reports.build_long_pdf", acks_late=True)
def build_long_pdf(token: str, kind: str, start: str, end: str, service: int | None) -> str:
    return long_reports.build(token, kind, start, end, service)


@shared_task(name="reports.sweep_long_reports")
def sweep_long_reports() -> int:
    return len(long_reports.requeue_lost_builds())


@shared_task(name="reports.dispatch_long_report_sweeps")
def dispatch_long_report_sweeps() -> int:
    return dispatch_to_tenants(
        sweep_long_reports, spread_seconds=min(120, settings.TENANT_TASK_SPREAD_SECONDS)
    )


@shared_task(name="dashboards.deliver_reports", acks_late=True)
def deliver_reports() -> int:
    return delivering.deliver_due()


@shared_task(name="dashboards.dispatch_report_deliveries")
def dispatch_report_deliveries() -> int:
    return dispatch_to_tenants(
        deliver_reports, spread_seconds=min(300, settings.TENANT_TASK_SPREAD_SECONDS)
    )
