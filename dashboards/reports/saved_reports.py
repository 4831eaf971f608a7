"""Saved report settings: saving them, opening them, and deleting them (who may, and what
goes with it). Each write is one transaction with its audit row.

The person who saved a report, or an administrator, may delete it. Its schedules are deleted
with it, and stopping a schedule is for administrators only, so a report that has schedules
can only be deleted by an administrator who has been shown the schedules that will stop.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from dashboards.models import ReportSchedule, SavedReport
from feedback.models import Service
from feedback.service_limits import administers_everything, limited_services
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit


def visible_reports(user: User) -> QuerySet[SavedReport]:
    """The saved reports `user` may see and open: all of them, except that a person limited
    to some services (feedback/service_limits.py) sees those about all services, which open
    on their own services, and those about one of their services."""
    within = limited_services(user)
    reports = SavedReport.objects.all()
    if within is None:
        return reports
    return reports.filter(Q(service__isnull=True) | Q(service_id__in=within))


def visible_schedules(user: User) -> QuerySet[ReportSchedule]:
    """The schedules `user` sees and may stop: all, or a limited person's own only."""
    schedules = ReportSchedule.objects.select_related("report")
    if limited_services(user) is None:
        return schedules
    return schedules.filter(created_by=user)


def period_of(report: SavedReport, today: date) -> tuple[date, date]:
    """A fixed range as saved; N months is this month and the N - 1 before it, to today."""
    if report.months is None:
        return report.start or today, report.end or today
    index = today.year * 12 + today.month - 1 - (report.months - 1)
    return date(index // 12, index % 12 + 1, 1), today


def save_report(
    *,
    name: str,
    kind: str,
    months: int | None,
    start: date | None,
    end: date | None,
    service_id: int | None,
    actor: User,
    request: HttpRequest | None = None,
) -> SavedReport:
    """Save a report's settings, with its audit row. A service gone since the form was
    checked leaves the report about all services, as the form does."""
    with transaction.atomic():
        service = Service.objects.filter(pk=service_id).first() if service_id else None
        report = SavedReport.objects.create(
            name=name,
            kind=kind,
            months=months,
            start=start,
            end=end,
            service=service,
            created_by=actor,
        )
        record_audit(
            "reports.saved",
            actor=actor,
            target=report,
            summary=f"Saved report settings {report.name}",
            request=request,
        )
    return report


def record_report_opened(
    report: SavedReport, *, actor: User, request: HttpRequest | None = None
) -> None:
    """Staff opening a saved report is on the record: its audit row."""
    with transaction.atomic():
        record_audit(
            "reports.opened",
            actor=actor,
            target=report,
            summary=f"Opened saved report {report.name}",
            request=request,
        )


class SchedulesWouldStop(Exception):
    """The report has schedules the person deleting it has not agreed to stop."""

    def __init__(self, schedules: list[ReportSchedule]) -> None:
        super().__init__("Deleting this report stops its schedules.")
        self.schedules = schedules


def deletion_refusal(report: SavedReport, user: User, *, has_schedules: bool) -> str | None:
    """Why `user` may not delete `report`, or None when they may. An administrator limited
    to some services is as any member of staff: their own reports only."""
    if administers_everything(user):
        return None
    if has_schedules and limited_services(user) is not None and report.created_by_id == user.pk:
        # A limited administrator stops their own schedules, and no one else's.
        if (
            user.has_role(Role.ADMINISTRATOR)
            and not report.schedules.exclude(created_by=user).exists()
        ):
            return None
        return (
            "This saved report is sent on a schedule that is not yours to stop: ask an "
            "administrator to delete it."
        )
    if has_schedules:
        return (
            "This saved report is sent on a schedule, and only an administrator may stop a "
            "schedule: ask an administrator to delete it."
        )
    if report.created_by_id != user.pk:
        return "Only the person who saved this report, or an administrator, may delete it."
    return None


def delete_saved_report(
    report_id: int, *, actor: User, request: HttpRequest | None, stop_schedules: bool
) -> None:
    """Delete the report and, when `stop_schedules`, its schedules, with one audit row.

    Raises PermissionDenied when `actor` may not, and SchedulesWouldStop when the report has
    schedules and `stop_schedules` is False (nothing is deleted in either case)."""
    with transaction.atomic():
        # Locked: a schedule made for it meanwhile waits, then finds it gone.
        report = SavedReport.objects.select_for_update().get(pk=report_id)
        schedules = list(report.schedules.order_by("pk"))
        refusal = deletion_refusal(report, actor, has_schedules=bool(schedules))
        if refusal:
            raise PermissionDenied(refusal)
        if schedules and not stop_schedules:
            raise SchedulesWouldStop(schedules)
        record_audit(
            "reports.deleted",
            actor=actor,
            summary=f"Deleted saved report {report.name}"
            + (f" and stopped its {len(schedules)} schedule(s)" if schedules else ""),
            detail={"id": report.pk, "schedules": [s.pk for s in schedules]},
            request=request,
        )
        report.delete()
