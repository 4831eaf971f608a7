"""Long reports, made by a worker: a PDF over a long period is built by a Celery task in the
organisation's schema and written to MEDIA_ROOT/reports/<schema_name>/<token>.pdf, with its
progress in the cache (whose keys the tenant key function prefixes with the schema).

The file is only ever served by `views.long_pdf_download`, which builds its path from the
requesting workspace's own schema name and a token that must look like one we make, so a
file of one organisation is never found on another's domain. /media/ does not serve it.

Every organisation shares the one reports queue, so `queue_long_report` lets each have at
most LONG_REPORTS_PER_ORGANISATION builds waiting or being made at once, and each person
LONG_REPORTS_PER_USER_PER_HOUR an hour, counted from LongReport rows under a lock on the
organisation's row. A build whose worker died stops counting once it has not moved on for
STALE_AFTER. A build whose task message was lost (the broker was down when it was asked for)
waits at "queued" until the sweeper (`requeue_lost_builds`, every few minutes) sends it again.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from dashboards.filters import tenant_scope
from dashboards.models import LongReport, LongReportState
from dashboards.reports.rendering import render_report
from feedback.service_limits import covers, limited_services
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.build_limits import TooManyBuilds, check_room, hold_organisation
from tenants.queueing import queue_after_commit

# Periods longer than this (in days) are made by a worker, with a progress page.
LONG_DAYS = 180
KINDS = ("summary", "you-said-we-did")
TOKEN = re.compile(r"^[0-9a-f]{32}$")
PROGRESS_SECONDS = 24 * 60 * 60
# A made PDF (and any partial file left by a dead worker) is deleted after this long.
KEEP_SECONDS = 7 * 24 * 60 * 60
# A build still "running" that has not moved on for this long had its worker die.
STALE_AFTER = timedelta(minutes=30)
# A build still waiting for a worker this long after it was queued lost its task message.
QUEUED_TOO_LONG = timedelta(minutes=10)


def per_organisation() -> int:
    return settings.LONG_REPORTS_PER_ORGANISATION


def per_user_per_hour() -> int:
    return settings.LONG_REPORTS_PER_USER_PER_HOUR


class TooManyLongReports(TooManyBuilds):
    """Refused: the limit is reached; `retry_after` is in seconds."""


def new_token() -> str:
    return secrets.token_hex(16)


def is_long(start: date, end: date) -> bool:
    return (end - start).days + 1 > LONG_DAYS


def file_path(token: str, schema_name: str | None = None) -> Path:
    """Where a report's PDF lives: under the active (or named) schema's own folder."""
    if not TOKEN.match(token):
        raise ValueError("Not a report token.")
    schema = schema_name or connection.schema_name
    return Path(settings.MEDIA_ROOT) / "reports" / schema / f"{token}.pdf"


def progress_key(token: str) -> str:
    return f"reports:long-pdf:{token}"


def progress(token: str) -> dict[str, object] | None:
    return cache.get(progress_key(token))


def set_progress(token: str, percent: int, state: str, **extra: object) -> None:
    cache.set(
        progress_key(token),
        {"percent": percent, "state": state, **extra},
        timeout=PROGRESS_SECONDS,
    )
    # The row moves on with it: a build that stops moving on stops counting (STALE_AFTER).
    LongReport.objects.filter(token=token).update(state=state, updated_at=timezone.now())


def builds_in_progress(now: datetime | None = None) -> int:
    """The active organisation's builds waiting or being made, not given up for dead."""
    since = (now or timezone.now()) - STALE_AFTER
    return LongReport.objects.filter(
        state__in=[LongReportState.QUEUED, LongReportState.RUNNING], updated_at__gte=since
    ).count()


def queue_long_report(
    *,
    kind: str,
    start: date,
    end: date,
    service: int | None,
    user: User,
    within: frozenset[int] | None = None,
    request: HttpRequest | None = None,
) -> str:
    """Queue a build of the PDF (in the active organisation's schema) and return its token,
    or raise TooManyLongReports, queuing nothing, when a limit is reached. `within`: the
    only services it may count (the asker is limited to them); kept on the row, so the
    worker applies it whatever the task message says."""
    from dashboards.reports.tasks import build_long_pdf

    with transaction.atomic():
        now = timezone.now()
        hold_organisation()
        check_room(
            what="long reports",
            in_progress=builds_in_progress(now),
            at_once=per_organisation(),
            asked_at=LongReport.objects.filter(
                requested_by=user, created_at__gte=now - timedelta(hours=1)
            ).values_list("created_at", flat=True),
            per_hour=per_user_per_hour(),
            now=now,
            refused=TooManyLongReports,
        )
        token = new_token()
        report = LongReport.objects.create(
            token=token,
            kind=kind,
            requested_by=user,
            start=start,
            end=end,
            service_id=service,
            within=None if within is None else sorted(within),
        )
        record_audit(
            "reports.long_pdf_queued",
            actor=user,
            target=report,
            summary=f"Asked for a long {kind} report, {start} to {end}",
            request=request,
        )
        set_progress(token, 0, "queued", kind=kind)
        # The broker down: the row waits at "queued" for `requeue_lost_builds`.
        queue_after_commit(
            build_long_pdf,
            token,
            kind,
            start.isoformat(),
            end.isoformat(),
            service,
            what="a long report's build",
        )
    return token


def requeue_lost_builds(now: datetime | None = None) -> list[str]:
    """Queue again the builds still waiting QUEUED_TOO_LONG after they were asked for or last
    queued (their task message was lost: the broker was down, or restarted empty), in the
    active organisation's schema; the tokens queued. Each is marked as queued now, so it is
    sent again only once per QUEUED_TOO_LONG. Sending a build twice does no harm: `build`
    keeps a file already written."""
    from dashboards.reports.tasks import build_long_pdf

    now = now or timezone.now()
    lost = LongReport.objects.filter(
        state=LongReportState.QUEUED,
        updated_at__lt=now - QUEUED_TOO_LONG,
        # Past its progress's lifetime, nobody is waiting for it any more.
        created_at__gte=now - timedelta(seconds=PROGRESS_SECONDS),
        start__isnull=False,
        end__isnull=False,
    )
    tokens = []
    for report in lost:
        claimed = LongReport.objects.filter(
            pk=report.pk, state=LongReportState.QUEUED, updated_at=report.updated_at
        ).update(updated_at=now)
        if not claimed:
            continue  # a worker took it meanwhile
        build_long_pdf.delay(
            report.token,
            report.kind,
            report.start.isoformat(),
            report.end.isoformat(),
            report.service_id,
        )
        tokens.append(report.token)
    return tokens


def build(token: str, kind: str, start: str, end: str, service: int | None) -> str:
    """Make the PDF (in the active schema). Idempotent: a file already written is kept."""
    target = file_path(token)
    if target.is_file():
        set_progress(token, 100, "done", kind=kind)
        return str(target)
    if kind not in KINDS:
        set_progress(token, 100, "failed", kind=kind)
        return ""
    set_progress(token, 10, "running", kind=kind)
    asked = LongReport.objects.filter(token=token).values_list("within", flat=True).first()
    scope = tenant_scope(
        connection.tenant.pk,
        start=start,
        end=end,
        service=service,
        criticality=None,
        today=date.fromisoformat(end),
        within=None if asked is None else frozenset(asked),
    )
    content = render_report(
        kind, scope, figures_read=lambda: set_progress(token, 50, "running", kind=kind)
    ).content
    set_progress(token, 90, "running", kind=kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Its own partial file: a redelivered task running alongside never writes into this one.
    partial = target.with_name(f"{token}.{secrets.token_hex(4)}.part")
    partial.write_bytes(content)
    os.replace(partial, target)  # a reader sees the whole file or none
    remove_old(target.parent)
    set_progress(token, 100, "done", kind=kind)
    return str(target)


def may_open(token: str, user: User) -> bool:
    """Whether `user` may follow the report's progress and download it: any member of staff
    who has its token, except that a person limited to some services opens only reports
    made within their services (feedback/service_limits.py `covers`)."""
    if limited_services(user) is None:
        return True
    row = LongReport.objects.filter(token=token).values_list("within", flat=True).first()
    return covers(user, row)


def remove_old(folder: Path, *, now: float | None = None) -> int:
    """Delete this schema's report files older than KEEP_SECONDS; how many went."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for path in folder.glob("*.p*"):
        if path.suffix in (".pdf", ".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
