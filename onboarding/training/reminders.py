"""The reminder each booked person gets 24 hours before their session: written once.

Beat runs `queue_due_reminders` every few minutes. For each booking due a reminder it writes
the email to the outbox (tenants/messages.py, which sends it exactly once, retrying and
parking) and marks the booking reminded, in one transaction with the booking locked: two
runs at once skip each other's bookings, and the message's key (booking and session start)
means even a repeat writes one message. A place confirmed less than a day before the session
gets no reminder: its confirmation email has just gone. Moving a session clears `reminded_at`
(onboarding/training/booking.py), so the new time is reminded of.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from onboarding.training import emails
from onboarding.training.models import Booking, BookingState

logger = logging.getLogger(__name__)

REMINDER_AHEAD = timedelta(hours=24)


def due_reminders(now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(
        state=BookingState.BOOKED,
        reminded_at__isnull=True,
        session__starts_at__gt=now,
        session__starts_at__lte=now + REMINDER_AHEAD,
        confirmed_at__lte=F("session__starts_at") - REMINDER_AHEAD,
    )


def queue_due_reminders(now: datetime | None = None) -> int:
    """Write every reminder due now to the outbox, once each. Returns how many bookings were
    reminded. A booking whose reminder fails to be written stays due for the next run, and
    does not stop the others."""
    now = now or timezone.now()
    reminded = 0
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for booking_id in list(due_reminders(now).values_list("pk", flat=True)):
            try:
                reminded += _remind(booking_id, now)
            except SoftTimeLimitExceeded:
                raise  # out of time: the rest stay due for the next run
            except Exception:  # noqa: BLE001 - one booking's failure must not stop the others
                logger.exception("could not write the reminder of training booking %s", booking_id)
    return reminded


def _remind(booking_id: int, now: datetime) -> bool:
    with transaction.atomic():
        booking = (
            due_reminders(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("session", "organisation")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None:  # reminded, cancelled or being reminded meanwhile
            return False
        emails.queue_reminder(booking)
        booking.reminded_at = now
        booking.save(update_fields=["reminded_at"])
    return True
