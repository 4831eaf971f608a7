"""Deleting a saved report: who may, and what goes with it.

The person who saved a report, or an administrator, may delete it. Its schedules are deleted
with it, and stopping a schedule is for administrators only, so a report that has schedules
can only be deleted by an administrator who has been shown the schedules that will stop.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from dashboards.models import ReportSchedule, SavedReport
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit


class SchedulesWouldStop(Exception):
    """The report has schedules the person deleting it has not agreed to stop."""

    def __init__(self, schedules: list[ReportSchedule]) -> None:
        super().__init__("Deleting this report stops its schedules.")
        self.schedules = schedules


def deletion_refusal(report: SavedReport, user: User, *, has_schedules: bool) -> str | None:
    """Why `user` may not delete `report`, or None when they may."""
    if user.has_role(Role.ADMINISTRATOR):
        return None
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
