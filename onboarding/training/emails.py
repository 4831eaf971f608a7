"""Training emails, written to the outbox (tenants/messages.py) in the transaction of the event
they tell of: a place booked or given from the waiting list, a place on the waiting list, a
place cancelled, and the reminder a day before. One function per email, named after its
template; each takes the booking (in the public schema, with its session and organisation)
and has a key for its event, so a repeated call writes one message and the outbox sends it
exactly once. Confirmations, cancellations and reminders carry the calendar file.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from onboarding.training.calendar import booking_calendar, format_utc
from onboarding.training.models import Booking
from tenants.messages import Attachment, enqueue_email


def _queue(
    booking: Booking,
    key: str,
    subject: str,
    template: str,
    context: dict[str, object] | None = None,
    *,
    calendar: str | None = None,
) -> None:
    context = {
        "booking": booking,
        "session": booking.session,
        "training_url": booking.organisation.workspace_url("/training/"),
        **(context or {}),
    }
    attachments: list[Attachment] = []
    if calendar is not None:
        attachments.append(
            {"filename": "training.ics", "content": calendar, "mimetype": "text/calendar"}
        )
    enqueue_email(
        kind=f"training.{template}",
        key=f"training.{key}",
        recipient=booking.email,
        subject=subject,
        text_body=render_to_string(f"training/email/{template}.txt", context),
        html_body=render_to_string(f"training/email/{template}.html", context),
        attachments=attachments,
        organisation=booking.organisation,
    )


def queue_booking_confirmation(booking: Booking, *, promoted: bool = False) -> None:
    """The place is booked: at booking, or (`promoted`) given from the waiting list."""
    _queue(
        booking,
        f"{'promotion' if promoted else 'confirmation'}:{booking.pk}",
        f"{'A place came up: ' if promoted else 'Booked: '}{booking.session.title}",
        "booking_confirmation",
        {"promoted": promoted},
        calendar=booking_calendar(booking),
    )


def queue_waiting_list_notice(booking: Booking) -> None:
    _queue(
        booking,
        f"waiting_list:{booking.pk}",
        f"Waiting list: {booking.session.title}",
        "waiting_list",
    )


def queue_cancellation(booking: Booking) -> None:
    _queue(
        booking,
        f"cancellation:{booking.pk}",
        f"Cancelled: {booking.session.title}",
        "cancellation",
        calendar=booking_calendar(booking, cancelled=True),
    )


def queue_reminder(booking: Booking) -> None:
    """The reminder a day before; keyed by the session's start too, so a session moved to
    another time is reminded of again."""
    _queue(
        booking,
        f"reminder:{booking.pk}:{format_utc(booking.session.starts_at)}",
        f"Reminder: {booking.session.title}",
        "reminder",
        calendar=booking_calendar(booking),
    )
