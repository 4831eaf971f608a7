"""Scheduled reports: scheduling a saved report and stopping a schedule (each one transaction
with its audit row), which period a run covers, when the next run is, and who may receive it.
Delivering each (schedule, period, recipient) exactly once is `delivering`'s.

Periods are whole calendar blocks of the schedule's length counted from January: monthly is
every month, every two months is Jan-Feb, Mar-Apr, ..., quarterly is Jan-Mar, Apr-Jun, ....
A run delivers the last complete block before its day, so the Jan-Feb report goes out on
1 March (or on the first run after it, if the workers were down).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from dashboards.models import ReportSchedule, SavedReport
from tenants.accounts.models import User
from tenants.audit.recording import record_audit


def _shift(year: int, month: int, months: int) -> date:
    """The first day of the month `months` after (or before) year-month."""
    index = year * 12 + (month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _block_start(frequency: int, day: date) -> date:
    """The first day of the block that contains `day`."""
    return date(day.year, (day.month - 1) // frequency * frequency + 1, 1)


def period_for(frequency: int, run_date: date) -> tuple[date, date]:
    """The last complete period before `run_date`, as (first day, last day), inclusive."""
    if frequency not in (1, 2, 3):
        raise ValueError(f"unknown frequency {frequency!r}")
    current = _block_start(frequency, run_date)
    start = _shift(current.year, current.month, -frequency)
    return start, current - timedelta(days=1)


def next_run(frequency: int, after: date) -> date:
    """The first run day strictly after `after`: the day after a period ends."""
    if frequency not in (1, 2, 3):
        raise ValueError(f"unknown frequency {frequency!r}")
    current = _block_start(frequency, after)
    return _shift(current.year, current.month, frequency)


def allowed_recipient(email: str) -> bool:
    """Active staff of the organisation, or an address in one of its email domains."""
    email = email.strip().lower()
    if "@" not in email:
        return False
    if User.objects.filter(email__iexact=email, is_active=True).exists():
        return True
    domains = [d.lower() for d in getattr(connection.tenant, "email_domains", None) or []]
    return email.rsplit("@", 1)[1] in domains


def recipients_of(schedule: ReportSchedule) -> list[str]:
    """The schedule's recipients still allowed today (staff leave, domains change)."""
    seen: list[str] = []
    for email in schedule.recipients:
        email = email.strip().lower()
        if email not in seen and allowed_recipient(email):
            seen.append(email)
    return seen


def schedule_report(
    report_id: int,
    *,
    frequency: int,
    method: str,
    recipients: list[str],
    network_members: bool,
    actor: User,
    member_recipients: bool = False,
    within: frozenset[int] | None = None,
    request: HttpRequest | None = None,
) -> ReportSchedule:
    """Send the saved report on a schedule, first on the day after its first whole period,
    with its audit row. `within`: the only services its reports may count (the person
    scheduling it is limited to them). Raises SavedReport.DoesNotExist when the report is
    gone."""
    with transaction.atomic():
        # Locked, as deleting it locks it: a report deleted meanwhile is found gone here.
        report = SavedReport.objects.select_for_update().get(pk=report_id)
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=frequency,
            method=method,
            recipients=recipients,
            network_members=network_members,
            member_recipients=member_recipients,
            within=None if within is None else sorted(within),
            next_run_on=next_run(frequency, timezone.localdate()),
            created_by=actor,
        )
        record_audit(
            "reports.scheduled",
            actor=actor,
            target=schedule,
            summary=f"Scheduled {schedule}",
            detail={
                "recipients": schedule.recipients,
                "member_recipients": schedule.member_recipients,
            },
            request=request,
        )
    return schedule


def stop_schedule(schedule_id: int, *, actor: User, request: HttpRequest | None = None) -> None:
    """Delete the schedule, with its audit row. Raises ReportSchedule.DoesNotExist when it is
    already gone."""
    with transaction.atomic():
        schedule = (
            ReportSchedule.objects.select_for_update(of=("self",))
            .select_related("report")
            .get(pk=schedule_id)
        )
        record_audit(
            "reports.unscheduled",
            actor=actor,
            summary=f"Stopped scheduled report {schedule}",
            detail={"id": schedule.pk},
            request=request,
        )
        schedule.delete()
