"""Nothing waits unseen in the moderation queue (hazard H1 in
docs/clinical-safety/hazard-log.md): a story describing serious harm is only as quick to reach
the organisation as the queue is to clear.

When the oldest pending submission has waited longer than MODERATION_WAIT_ALERT_HOURS,
platform staff are emailed, and again at most once per that many hours while the queue stays
behind. Each alert is recorded as a hub audit row, which is also how a repeat is held back,
and its emails are written to the outbox (tenants/messages.py) in the same transaction,
keyed by that row and the recipient: a rerun or a redelivered task sends none twice.
Runs in a worker (feedback.watch_moderation_queue, every 15 minutes), never in a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback import emails
from feedback.hub.models import Submission, SubmissionState
from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit

ACTION = "moderation.backlog_alerted"
# Any fixed number, shared by every worker: one watcher at a time.
_LOCK = 0x4356_4D57  # "CVMW"


@dataclass(frozen=True)
class Backlog:
    pending: int
    # Pending submissions older than the limit, and how long the oldest has waited.
    overdue: int
    oldest_wait: timedelta | None


def measure_backlog(now: datetime | None = None) -> Backlog:
    now = now or timezone.now()
    limit = timedelta(hours=settings.MODERATION_WAIT_ALERT_HOURS)
    with schema_context("public"):
        pending = Submission.objects.filter(state=SubmissionState.PENDING)
        oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
        return Backlog(
            pending=pending.count(),
            overdue=pending.filter(created_at__lt=now - limit).count(),
            oldest_wait=(now - oldest) if oldest is not None else None,
        )


def watch_moderation_queue(now: datetime | None = None) -> bool:
    """Email platform staff if the queue is behind and they have not been told lately.
    Returns whether an alert went."""
    now = now or timezone.now()
    limit = timedelta(hours=settings.MODERATION_WAIT_ALERT_HOURS)
    with transaction.atomic(), schema_context("public"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        backlog = measure_backlog(now)
        if not backlog.overdue:
            return False
        if AuditEvent.objects.filter(action=ACTION, occurred_at__gt=now - limit).exists():
            return False
        hours = int(backlog.oldest_wait.total_seconds() // 3600) if backlog.oldest_wait else 0
        event = record_audit(
            ACTION,
            actor=None,
            summary=f"Told platform staff that {backlog.overdue} stories have waited "
            f"over {settings.MODERATION_WAIT_ALERT_HOURS} hours for moderation",
            detail={"pending": backlog.pending, "overdue": backlog.overdue, "oldest_hours": hours},
        )
        emails.queue_moderation_backlog_alert(
            occurrence=event.pk,
            pending=backlog.pending,
            overdue=backlog.overdue,
            oldest_hours=hours,
        )
    return True
