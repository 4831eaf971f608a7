"""Outgoing email through the outbox: written as a row in the caller's transaction, sent
exactly once from that row.

`enqueue_email` writes an `OutboxMessage` (encrypted, tenants/crypto.py) in the transaction
of the event it tells of, so a rolled-back event sends nothing and a committed one is never
lost; once the transaction commits it queues `send_message`. A broker that is down then
only delays it: the row waits for `send_due_messages`, which runs every minute.

`send_message` claims the row (tenants/outbox.py), sends it with Django's mail and marks it
sent, erasing its address, subject, bodies and attachments. A failed send is released to
wait OUTBOX_RETRY_BASE_SECONDS * 2**attempts (at most OUTBOX_RETRY_MAX_SECONDS); after
OUTBOX_MAX_ATTEMPTS it is parked until platform staff retry it (`retry_message`) or, having
dealt with it another way, discard it (`discard_message`), both from the hub's admin, audited.
Sent rows are deleted after OUTBOX_KEEP_SENT_DAYS (`purge_sent_messages`, daily).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from tenants.models import Organisation, OutboxMessage, OutboxMessageState
from tenants.outbox import Outbox

logger = logging.getLogger(__name__)

OUTBOX: Outbox[OutboxMessage] = Outbox(
    model=OutboxMessage,
    label="outgoing email",
    waiting_states=(OutboxMessageState.WAITING,),
    claimed_state=OutboxMessageState.SENDING,
    done_state=OutboxMessageState.SENT,
    stale_setting="OUTBOX_STALE_CLAIM_SECONDS",
    attempts_field="attempts",
    error_field="last_error",
    sent_at_field="sent_at",
    due_field="next_attempt_at",
)


class Attachment(TypedDict):
    """A text attachment, e.g. {"filename": "training.ics", "content": "BEGIN:VCALENDAR...",
    "mimetype": "text/calendar"}."""

    filename: str
    content: str
    mimetype: str


def current_organisation() -> Organisation | None:
    """The organisation whose schema is active, or None in the hub (public schema)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organisation) and tenant.schema_name != "public":
        return tenant
    return None


def enqueue_email(
    *,
    kind: str,
    key: str,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    attachments: Sequence[Attachment] = (),
    organisation: Organisation | None = None,
) -> OutboxMessage:
    """Write the email to the outbox in the caller's transaction and queue its send for when
    that commits. The same key twice writes one row (and queues one send); `organisation`
    defaults to the one whose schema is active."""
    if organisation is None:
        organisation = current_organisation()
    files = [
        {"filename": a["filename"], "content": a["content"], "mimetype": a["mimetype"]}
        for a in attachments
    ]
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "recipient": recipient,
            "subject": subject,
            "text_body": text_body,
            "html_body": html_body,
            "attachments": json.dumps(files) if files else "",
            "organisation": organisation,
        },
    )
    if created:
        pk = message.pk
        transaction.on_commit(lambda: queue_send(pk))
    return message


def queue_send(pk: int) -> None:
    """Ask a worker to send the message now. A broker that is down is logged, never raised:
    the row waits for the sweeper."""
    from tenants.tasks import send_outbox_message

    try:
        send_outbox_message.delay(pk)
    except Exception as exc:  # noqa: BLE001 - the row is safe; the sweeper sends it
        logger.warning(
            "outgoing email %s not queued (%s); the sweeper will send it",
            pk,
            exc.__class__.__name__,
        )


def retry_delay(attempts: int) -> timedelta:
    """How long a message that failed `attempts` times waits before the next try."""
    seconds = settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** min(attempts, 30)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def _send(message: OutboxMessage) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text_body, to=[message.recipient]
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    for attachment in json.loads(message.attachments) if message.attachments else []:
        email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    email.send()


def send_message(pk: int) -> bool:
    """Send the message once: claim, send, mark sent. Returns whether it was sent now (False
    when it is sent already, another worker has it, it is not yet due, or the send failed)."""
    if not OUTBOX.claim(pk):
        return False
    message: OutboxMessage | None = None
    try:
        # Loading decrypts: a key dropped too soon fails here, and is recorded like a send.
        message = OutboxMessage.objects.get(pk=pk)
        _send(message)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        # The error's text goes on the row, not in the log (a mail server's reply may quote
        # the address); the row never holds the address in plain text either.
        logger.warning("outgoing email %s not sent (%s)", pk, exc.__class__.__name__)
        error = str(exc)
        if message is not None and message.recipient:
            error = error.replace(message.recipient, "[recipient]")
        record_failure(pk, error)
        return False
    # Sent, it keeps no personal data: the address, subject, bodies and attachments are erased.
    OUTBOX.mark_done(
        pk,
        sent_at=timezone.now(),
        last_error="",
        recipient="",
        subject="",
        text_body="",
        html_body="",
        attachments="",
    )
    return True


def record_failure(pk: int, error: str) -> str:
    """Release a claimed message whose send failed, with the error: to wait for its next try
    (retry_delay), or parked after OUTBOX_MAX_ATTEMPTS. Returns the state it is left in."""
    attempts = OutboxMessage.objects.filter(pk=pk).values_list("attempts", flat=True)[0]
    changes: dict[str, Any] = {"next_attempt_at": timezone.now() + retry_delay(attempts)}
    state = OutboxMessageState.WAITING
    if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        changes = {"state": OutboxMessageState.PARKED}
        state = OutboxMessageState.PARKED
    OUTBOX.release(pk, error, **changes)
    return state


def due_messages() -> Q:
    """Waiting messages whose time has come, and those whose worker died mid-send."""
    return OUTBOX.claimable(timezone.now())


# The sweeper starts no new send after this long, well inside a task's soft time limit
# (CELERY_TASK_SOFT_TIME_LIMIT): a mail server slow to answer leaves the rest for the next run.
SWEEP_BUDGET_SECONDS = 120


def send_due_messages(limit: int = 500) -> int:
    """The sweeper: send every due message (see `due_messages`), oldest first, for at most
    SWEEP_BUDGET_SECONDS. Returns how many were sent."""
    started = time.monotonic()
    pks = list(
        OutboxMessage.objects.filter(due_messages())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for pk in pks:
        if time.monotonic() - started > SWEEP_BUDGET_SECONDS:
            break
        sent += send_message(pk)
    return sent


def retry_message(message: OutboxMessage) -> bool:
    """Make a parked or waiting message due now and queue its send (platform staff's "retry
    now"). Returns False for a message that is sending or sent."""
    changed = OutboxMessage.objects.filter(
        pk=message.pk, state__in=[OutboxMessageState.PARKED, OutboxMessageState.WAITING]
    ).update(state=OutboxMessageState.WAITING, next_attempt_at=timezone.now())
    if changed:
        pk = message.pk
        transaction.on_commit(lambda: queue_send(pk))
    return bool(changed)


def discard_message(message: OutboxMessage) -> bool:
    """Delete a parked message, with everything it held (platform staff's "discard", for one
    they have dealt with another way). Returns False for a message that is not parked."""
    deleted, _ = OutboxMessage.objects.filter(
        pk=message.pk, state=OutboxMessageState.PARKED
    ).delete()
    return bool(deleted)


# Rows deleted per statement by the purge, so no one transaction grows large.
PURGE_BATCH = 5000


def purge_sent_messages(now: datetime | None = None) -> int:
    """Delete sent messages older than OUTBOX_KEEP_SENT_DAYS (the daily purge). Waiting and
    parked messages stay, whatever their age. Returns how many were deleted."""
    before = (now or timezone.now()) - timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS)
    old = OutboxMessage.objects.filter(state=OutboxMessageState.SENT, sent_at__lt=before)
    purged = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return purged
        purged += OutboxMessage.objects.filter(pk__in=batch).delete()[0]


def masked_address(address: str) -> str:
    """j***@example.org: enough for staff to tell messages apart, not to read the address."""
    local, _, domain = address.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"
