"""Training emails. One function per email, named after its template; each takes a booking id
and reads it in the public schema, so it can run after commit or on a worker."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tenants.utils import schema_context

from onboarding.training.calendar import booking_calendar
from onboarding.training.models import Booking


def _booking(booking_id: int) -> Booking:
    return Booking.objects.select_related("session", "organisation").get(pk=booking_id)


def _send(
    booking: Booking,
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
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"training/email/{template}.txt", context),
        to=[booking.email],
    )
    message.attach_alternative(
        render_to_string(f"training/email/{template}.html", context), "text/html"
    )
    if calendar is not None:
        message.attach("training.ics", calendar, "text/calendar")
    message.send()


def send_booking_confirmation(booking_id: int, *, promoted: bool = False) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        booking = _booking(booking_id)
        _send(
            booking,
            f"{'A place came up: ' if promoted else 'Booked: '}{booking.session.title}",
            "booking_confirmation",
            {"promoted": promoted},
            calendar=booking_calendar(booking),
        )


def send_waiting_list_notice(booking_id: int) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        booking = _booking(booking_id)
        _send(booking, f"Waiting list: {booking.session.title}", "waiting_list")


def send_cancellation(booking_id: int) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        booking = _booking(booking_id)
        _send(
            booking,
            f"Cancelled: {booking.session.title}",
            "cancellation",
            calendar=booking_calendar(booking, cancelled=True),
        )


def send_reminder(booking_id: int) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        booking = _booking(booking_id)
        _send(
            booking,
            f"Reminder: {booking.session.title}",
            "reminder",
            calendar=booking_calendar(booking),
        )
