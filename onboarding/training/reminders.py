"""The reminder each booked person gets 24 hours before their session: sent once.

Beat runs `send_due_reminders` every few minutes. Each reminder is claimed by setting
`reminder_sent_at` with a conditional UPDATE before the email goes, so overlapping runs or a
repeated task never send it twice; if the send fails the claim is released for the next run.
A place confirmed less than a day before the session gets no reminder: its confirmation
email has just gone.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from onboarding.training import emails
from onboarding.training.models import Booking, BookingState

logger = logging.getLogger(__name__)

REMINDER_AHEAD = timedelta(hours=24)


def due_reminders() -> QuerySet[Booking]:
    now = timezone.now()
    return Booking.objects.filter(
        state=BookingState.BOOKED,
        reminder_sent_at__isnull=True,
        session__starts_at__gt=now,
        session__starts_at__lte=now + REMINDER_AHEAD,
        confirmed_at__lte=F("session__starts_at") - REMINDER_AHEAD,
    )


def send_due_reminders() -> int:
    sent = 0
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for booking_id in list(due_reminders().values_list("pk", flat=True)):
            claimed = Booking.objects.filter(
                pk=booking_id, reminder_sent_at__isnull=True, state=BookingState.BOOKED
            ).update(reminder_sent_at=timezone.now())
            if not claimed:
                continue
            try:
                emails.send_reminder(booking_id)
            except Exception:
                logger.exception("training reminder for booking %s not sent", booking_id)
                Booking.objects.filter(pk=booking_id).update(reminder_sent_at=None)
                continue
            sent += 1
    return sent
