"""The demo's outgoing emails (`manage.py seed_demo`, the "outbox" step registered in
tenants/apps.py): one sent, one waiting to be tried again after failures, and one parked for
platform staff, so the platform page (the hub admin's Outbox messages) shows each state.

They go through the outbox's own verbs: written with `enqueue_email`, then sent, or claimed
and failed with a mail server's reply (`record_failure`) as a real send would be. No demo
message reaches a real mail server: the sent one goes to the configured backend (a file or
the console in development), and the failures are written here, not met.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from tenants.demo_steps import DemoContext
from tenants.messages import OUTBOX, enqueue_email, record_failure, send_message
from tenants.models import OutboxMessage, public_url


@dataclass(frozen=True)
class DemoMessage:
    # What the demo leaves it as: "sent", "retried" (waiting, after failures) or "parked".
    outcome: str
    # The demo organisation it concerns (by slug).
    organisation: str
    kind: str
    recipient: str
    subject: str
    body: str
    # The mail server's reply to each failed try; none for the sent one.
    error: str = ""

    @property
    def key(self) -> str:
        return f"demo.outbox:{self.outcome}"


DEMO_MESSAGES = [
    DemoMessage(
        "sent",
        "northshire-hospitals",
        "training.booking_confirmation",
        "admin@northshire-hospitals.example",
        "Booked: Responding well, in public",
        "Your place is booked. The calendar file is attached.",
    ),
    DemoMessage(
        "retried",
        "northshire-mental-health",
        "training.reminder",
        "manager@northshire-mh.example",
        "Reminder: Getting started: administrators",
        "Your training session is tomorrow.",
        error="421 4.7.0 mx.northshire-mh.example: too many connections, try again later",
    ),
    DemoMessage(
        "parked",
        "northshire-icb",
        "tenants.first_admin_invitation",
        "old.address@northshire-icb.example",
        "Your Carevoice workspace is ready",
        "Set your password to sign in to your workspace.",
        error="550 5.1.1 [recipient]: mailbox unavailable",
    ),
]
ADMIN_PATH = "/admin/tenants/outboxmessage/"


def _fail(pk: int, error: str, times: int) -> None:
    """Claim the message and record a failed send, `times` times, each try due at once."""
    for _ in range(times):
        OutboxMessage.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
        if OUTBOX.claim(pk):
            record_failure(pk, error)


def seed_outbox_demo(context: DemoContext) -> dict[str, int]:
    """Write the demo's three messages unless they are there. Returns their ids by outcome."""
    by_slug = {organisation.slug: organisation for organisation in context.organisations}
    ids: dict[str, int] = {}
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        for demo in DEMO_MESSAGES:
            existing = OutboxMessage.objects.filter(key=demo.key).values_list("pk", flat=True)
            if existing:
                ids[demo.outcome] = existing[0]
                continue
            message = enqueue_email(
                kind=demo.kind,
                key=demo.key,
                recipient=demo.recipient,
                subject=demo.subject,
                text_body=demo.body,
                organisation=by_slug.get(demo.organisation),
            )
            if demo.outcome == "sent":
                send_message(message.pk)
            elif demo.outcome == "retried":
                # One try short of parking: it waits hours for its next, so the page shows it.
                _fail(message.pk, demo.error, max(1, settings.OUTBOX_MAX_ATTEMPTS - 1))
            else:
                _fail(message.pk, demo.error, settings.OUTBOX_MAX_ATTEMPTS)
            ids[demo.outcome] = message.pk
    return ids


def describe_outbox_demo(context: DemoContext) -> list[str]:
    return [
        "\n  Outbox messages, on the platform page (platform staff): one sent, one waiting to be",
        "  tried again after failures, one parked (select it: Retry now, or Discard)",
        f"    {public_url(settings.BASE_DOMAIN, ADMIN_PATH)}",
    ]
