"""Scheduled reports through a real Celery worker and broker: committed rows (the worker has
its own connection), cleaned up afterwards. Queued twice, and made due again for the same
period, the report goes out once."""

from __future__ import annotations

import time
from datetime import date

from django.core import mail
from django_tenants.utils import tenant_context

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    ReportDelivery,
    ReportDeliveryState,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports.tasks import deliver_reports
from tests.alerts.test_alerts_worker import wait_until
from tests.conftest import Cast
from tests.faults.rows import forgetting_new_rows

SUBJECT = "Report: Worker report probe"


def probes() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.subject == SUBJECT]


def sent_rows(cast: Cast, schedule: ReportSchedule) -> int:
    with tenant_context(cast.org_a):
        return ReportDelivery.objects.filter(
            schedule=schedule, state=ReportDeliveryState.SENT
        ).count()


def ran_again(cast: Cast, schedule: ReportSchedule) -> bool:
    with tenant_context(cast.org_a):
        return ReportSchedule.objects.filter(
            pk=schedule.pk, next_run_on__gt=date(2000, 1, 1)
        ).exists()


def test_the_worker_delivers_each_period_once(
    cast: Cast, committed_db: None, celery_worker_thread: object
) -> None:
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(name="Worker report probe", months=1)
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            method=DeliveryMethod.ATTACHMENT,
            recipients=[cast.admin_a.email],
            next_run_on=date(2000, 1, 1),
        )
    # The emails (in the outbox) and audit rows it commits are forgotten afterwards.
    try:
        with forgetting_new_rows([cast.org_a.schema_name]):
            with tenant_context(cast.org_a):
                deliver_reports.apply_async()
                deliver_reports.apply_async()
            wait_until(lambda: len(probes()) == 1 and sent_rows(cast, schedule) == 1)
            with tenant_context(cast.org_a):
                ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_on=date(2000, 1, 1))
                deliver_reports.apply_async()
            wait_until(lambda: ran_again(cast, schedule))
            time.sleep(0.5)
            assert len(probes()) == 1
            assert probes()[0].to == [cast.admin_a.email]
            # The PDF, through the outbox's row and back, arrives whole.
            ((name, content, mimetype),) = probes()[0].attachments
            assert mimetype == "application/pdf" and name.endswith(".pdf")
            assert content.startswith(b"%PDF") and content.rstrip().endswith(b"%%EOF")
            with tenant_context(cast.org_a):
                assert ReportDelivery.objects.filter(schedule=schedule).count() == 1
    finally:
        with tenant_context(cast.org_a):
            ReportDelivery.objects.filter(schedule=schedule).delete()
            report.delete()
