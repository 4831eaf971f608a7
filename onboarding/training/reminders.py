"""The reminder each booked person gets 24 hours before their session: sent once.

Beat runs `send_due_reminders` every few minutes. Each reminder goes through the outbox
(tenants/outbox.py): claimed with a conditional UPDATE (`reminder_state` "sending", with
`reminder_claimed_at`) before the email goes, so overlapping runs or a repeated task never
send it twice; marked "sent" after. A failed send is released, with its error, for the next
run; a claim whose worker died is taken again after REMINDER_STALE_CLAIM_SECONDS. A place
confirmed less than a day before the session gets no reminder: its confirmation email has
just gone.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import schema_context

from onboarding.training import emails
from onboarding.training.models import Booking, BookingState, ReminderState
from tenants.outbox import Outbox

REMINDER_AHEAD = timedelta(hours=24)

REMINDERS = Outbox(
    model=Booking,
    label="training reminder",
    state_field="reminder_state",
    waiting_states=(ReminderState.WAITING,),
    claimed_state=ReminderState.SENDING,
    done_state=ReminderState.SENT,
    claimed_at_field="reminder_claimed_at",
    sent_at_field="reminder_sent_at",
    error_field="reminder_error",
    stale_setting="REMINDER_STALE_CLAIM_SECONDS",
    scope=Q(state=BookingState.BOOKED),
)


def due_reminders() -> QuerySet[Booking]:
    now = timezone.now()
    return Booking.objects.filter(
        REMINDERS.claimable(now),  # booked: not claimed yet, or claimed by a worker that died
        session__starts_at__gt=now,
        session__starts_at__lte=now + REMINDER_AHEAD,
        confirmed_at__lte=F("session__starts_at") - REMINDER_AHEAD,
    )


def send_due_reminders() -> int:
    """Send every reminder due now, once each. Returns how many went."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        due = list(due_reminders().values_list("pk", flat=True))
        return sum(REMINDERS.deliver(booking_id, email_reminder) for booking_id in due)


def email_reminder(booking: Booking) -> None:
    emails.send_reminder(booking.pk)
