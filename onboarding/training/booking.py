"""Scheduling training sessions, booking places, the waiting list and attendance.

A session's row is locked (SELECT ... FOR UPDATE) whenever places change, so two people
booking the last place, or a cancellation racing a booking, never put more people on a
session than it holds. Cancelling a place gives it at once to the first person waiting.
Bookings and sessions are in the public schema; the audit row goes to whichever schema is
acting: the organisation's for its staff, the public one for platform staff. Each email is
written to the outbox in the same transaction (onboarding/training/emails.py), so a booking
that rolls back tells nobody and one that commits is never left untold.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from onboarding.training import emails
from onboarding.training.models import Booking, BookingState, TrainingSession
from tenants.audit.recording import record_audit
from tenants.models import Organisation


class BookingError(Exception):
    """The booking cannot be made or changed; the message says why."""


def upcoming_sessions() -> QuerySet[TrainingSession]:
    return TrainingSession.objects.filter(starts_at__gt=timezone.now()).annotate(
        booked=Count("bookings", filter=Q(bookings__state=BookingState.BOOKED)),
        waiting=Count("bookings", filter=Q(bookings__state=BookingState.WAITING)),
    )


def places_left(session: TrainingSession) -> int:
    booked = session.bookings.filter(state=BookingState.BOOKED).count()
    return max(0, session.capacity - booked)


@transaction.atomic
def schedule_session(
    session: TrainingSession, *, actor: object, request: HttpRequest | None = None
) -> TrainingSession:
    """Create or change a session (platform staff). More places promote people waiting."""
    is_new = session.pk is None
    moved = (
        not is_new
        and TrainingSession.objects.filter(pk=session.pk)
        .exclude(starts_at=session.starts_at)
        .exists()
    )
    session.full_clean()
    session.save()
    if moved:
        # A reminder is due again, 24 hours before the new time.
        session.bookings.filter(state=BookingState.BOOKED).update(reminded_at=None)
    record_audit(
        "training.session_scheduled" if is_new else "training.session_changed",
        actor=actor,
        target=session,
        summary=f"{'Scheduled' if is_new else 'Changed'} training: {session}",
        request=request,
    )
    promote_waiting(session)
    return session


@transaction.atomic
def book_place(
    session_id: int,
    *,
    organisation: Organisation,
    email: str,
    full_name: str,
    actor: object = None,
    request: HttpRequest | None = None,
) -> Booking:
    """A place if there is one, else a place on the waiting list."""
    session = TrainingSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise BookingError("There is no such training session.")
    if session.has_started:
        raise BookingError("This session has started: choose a later one.")
    email = email.strip().lower()
    existing = (
        Booking.objects.filter(session=session, organisation=organisation, email=email)
        .exclude(state=BookingState.CANCELLED)
        .first()
    )
    if existing is not None:
        raise BookingError(
            "You have a place on this session already."
            if existing.state == BookingState.BOOKED
            else "You are on this session's waiting list already."
        )
    now = timezone.now()
    has_place = places_left(session) > 0
    booking = Booking.objects.create(
        session=session,
        organisation=organisation,
        email=email,
        full_name=full_name,
        state=BookingState.BOOKED if has_place else BookingState.WAITING,
        created_at=now,
        confirmed_at=now if has_place else None,
    )
    record_audit(
        "training.booked" if has_place else "training.waiting_listed",
        actor=actor,
        target=booking,
        summary=(
            f"{'Booked a place on' if has_place else 'Joined the waiting list for'} {session}"
        ),
        request=request,
    )
    if has_place:
        emails.queue_booking_confirmation(booking)
    else:
        emails.queue_waiting_list_notice(booking)
    return booking


@transaction.atomic
def cancel_booking(
    booking: Booking, *, actor: object = None, request: HttpRequest | None = None
) -> list[Booking]:
    """Cancel a place or leave the waiting list. Returns whoever was given the place."""
    session = TrainingSession.objects.select_for_update().get(pk=booking.session_id)
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.state == BookingState.CANCELLED:
        raise BookingError("This booking was cancelled already.")
    if session.has_started:
        raise BookingError("This session has started: it can no longer be cancelled.")
    had_place = booking.state == BookingState.BOOKED
    booking.state = BookingState.CANCELLED
    booking.cancelled_at = timezone.now()
    booking.save(update_fields=["state", "cancelled_at"])
    promoted = promote_waiting(session) if had_place else []
    record_audit(
        "training.cancelled",
        actor=actor,
        target=booking,
        summary=f"Cancelled {'a place on' if had_place else 'waiting for'} {session}",
        detail={"promoted": [b.pk for b in promoted]},
        request=request,
    )
    if had_place:
        emails.queue_cancellation(booking)
    return promoted


def promote_waiting(session: TrainingSession) -> list[Booking]:
    """Give free places to the people waiting longest. Call with the session row locked."""
    if session.has_started:
        return []
    free = places_left(session)
    if free <= 0:
        return []
    waiting = list(
        session.bookings.select_for_update()
        .filter(state=BookingState.WAITING)
        .order_by("created_at", "id")[:free]
    )
    now = timezone.now()
    for booking in waiting:
        booking.state = BookingState.BOOKED
        booking.confirmed_at = now
        booking.save(update_fields=["state", "confirmed_at"])
        emails.queue_booking_confirmation(booking, promoted=True)
    return waiting


@transaction.atomic
def record_attendance(
    booking: Booking, attended: bool, *, actor: object, request: HttpRequest | None = None
) -> Booking:
    """Platform staff record, after the session, whether someone came."""
    booking = Booking.objects.select_for_update().select_related("session").get(pk=booking.pk)
    if booking.state != BookingState.BOOKED:
        raise BookingError(f"{booking.full_name} had no place on this session.")
    booking.attended = attended
    booking.save(update_fields=["attended"])
    record_audit(
        "training.attendance_recorded",
        actor=actor,
        target=booking,
        summary=(
            f"Recorded that {booking.email} ({booking.organisation}) "
            f"{'attended' if attended else 'did not attend'} {booking.session}"
        ),
        request=request,
    )
    return booking
