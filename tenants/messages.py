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

Text messages go the same way: `enqueue_sms` writes a row whose channel is "sms", and
`send_message` sends it through the SMS seam (tenants/sms.py) instead of Django's mail, with
the same claim, backoff, parking, erasure and Retry / Discard.

Alert and report deliveries (rows of their own outbox, in the organisation's schema) hand
their email over with `hand_over`: the delivery is claimed, its email written here and the
delivery marked done in one transaction, keyed by the delivery, so from then on the email
has this module's backoff and parking like every other.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from tenants.models import Organisation, OutboxChannel, OutboxMessage, OutboxMessageState
from tenants.outbox import Outbox
from tenants.sms import send_sms

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
    """An attachment. Text as it is, e.g. {"filename": "training.ics", "content":
    "BEGIN:VCALENDAR...", "mimetype": "text/calendar"}; binary content (a PDF) as base64 with
    "encoding": "base64" (`binary_attachment` makes one)."""

    filename: str
    content: str
    mimetype: str
    # "base64" for binary content; absent (or "") for text.
    encoding: NotRequired[str]


ENCODINGS = ("", "base64")


def binary_attachment(filename: str, content: bytes, mimetype: str) -> Attachment:
    """An attachment of bytes (a PDF), kept as base64 in the outbox row."""
    return {
        "filename": filename,
        "content": base64.b64encode(content).decode("ascii"),
        "mimetype": mimetype,
        "encoding": "base64",
    }


def attachment_content(attachment: Attachment) -> str | bytes:
    """What the email carries: the text, or the bytes a base64 attachment holds."""
    encoding = attachment.get("encoding", "")
    if encoding == "base64":
        try:
            return base64.b64decode(attachment["content"].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as exc:
            raise ValueError(f"Attachment {attachment['filename']!r} is not base64.") from exc
    if encoding:
        raise ValueError(f"Attachment {attachment['filename']!r}: unknown encoding {encoding!r}.")
    return attachment["content"]


def current_organisation() -> Organisation | None:
    """The organisation whose schema is active, or None in the hub (public schema)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organisation) and tenant.schema_name != "public":
        return tenant
    return None


def schema_organisation() -> Organisation:
    """The organisation whose schema is active, also under a bare `schema_context` (whose
    tenant is a stand-in); for senders that only ever run in an organisation's schema."""
    return current_organisation() or Organisation.objects.get(schema_name=connection.schema_name)


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
    files: list[Attachment] = []
    for attachment in attachments:
        file: Attachment = {
            "filename": attachment["filename"],
            "content": attachment["content"],
            "mimetype": attachment["mimetype"],
        }
        encoding = attachment.get("encoding", "")
        if encoding not in ENCODINGS:
            raise ValueError(f"Attachment {file['filename']!r}: unknown encoding {encoding!r}.")
        if encoding:
            file["encoding"] = encoding
        files.append(file)
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
        pk, urgent = message.pk, is_alert(kind)
        transaction.on_commit(lambda: queue_send(pk, urgent=urgent))
    return message


def enqueue_sms(
    *,
    kind: str,
    key: str,
    recipient: str,
    body: str,
    organisation: Organisation | None = None,
) -> OutboxMessage:
    """Write a text message to `recipient` (a mobile number, +447...) to the outbox in the
    caller's transaction, like `enqueue_email`: the same key twice writes one row, and the
    send is queued once the transaction commits."""
    if organisation is None:
        organisation = current_organisation()
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "channel": OutboxChannel.SMS,
            "recipient": recipient,
            "subject": "",
            "text_body": body,
            "organisation": organisation,
        },
    )
    if created:
        pk = message.pk
        transaction.on_commit(lambda: queue_send(pk))
    return message


def is_alert(kind: str) -> bool:
    """An alert to staff (alerts/sending.py): sent from the alerts queue, not the mail queue,
    so a burst of author receipts or a slow mail server never holds it back."""
    return kind.startswith("alerts.")


def queue_send(pk: int, *, urgent: bool = False) -> None:
    """Ask a worker to send the message now (an alert's, `urgent`, on the alerts queue). A
    broker that is down is logged, never raised: the row waits for the sweeper."""
    from tenants.tasks import send_alert_outbox_message, send_outbox_message

    try:
        (send_alert_outbox_message if urgent else send_outbox_message).delay(pk)
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
    if message.channel == OutboxChannel.SMS:
        send_sms(message.recipient, message.text_body)
        return
    email = EmailMultiAlternatives(
        subject=message.subject, body=message.text_body, to=[message.recipient]
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    for attachment in json.loads(message.attachments) if message.attachments else []:
        email.attach(attachment["filename"], attachment_content(attachment), attachment["mimetype"])
    email.send()


RowT = TypeVar("RowT", bound=Model)


def hand_over(
    deliveries: Outbox[RowT],
    pk: Any,
    write: Callable[[RowT], object],
    *,
    rows: QuerySet[RowT] | None = None,
) -> bool:
    """Hand a delivery of another outbox (an alert's, a report's) to this one: claim the
    delivery, then in one transaction `write(row)` (which builds its email and writes it
    with `enqueue_email`, keyed by the delivery) and mark the delivery done. Returns whether
    it was handed over now. If `write` fails (a PDF that cannot be built, a member's pack no
    longer wanted), the delivery is released with the error for the next run, as
    `Outbox.deliver` does; sending, with its backoff and parking, is this module's from then
    on. A worker that dies after the commit leaves the delivery done; one that dies before
    leaves no email and a claim taken again once stale; and as the key is the delivery's,
    writing again writes nothing twice."""
    if not deliveries.claim(pk):
        return False
    row = (rows if rows is not None else deliveries.rows).get(pk=pk)
    try:
        with transaction.atomic():
            write(row)
            done: dict[str, Any] = {}
            if deliveries.sent_at_field is not None:
                done[deliveries.sent_at_field] = timezone.now()
            if deliveries.error_field is not None:
                done[deliveries.error_field] = ""
            deliveries.mark_done(pk, **done)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
        # The error's text goes on the row, not in the log (it may quote an address).
        logger.warning(
            "%s %s not handed to the outbox (%s); released for the next run",
            deliveries.label,
            pk,
            exc.__class__.__name__,
        )
        deliveries.release(pk, str(exc))
        if isinstance(exc, SoftTimeLimitExceeded):
            raise  # the task is out of time: stop here, not at the next row's hard kill
        return False
    return True


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
        pk, urgent = message.pk, is_alert(message.kind)
        transaction.on_commit(lambda: queue_send(pk, urgent=urgent))
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
