"""Workspace pages for onboarding training (onboarding/training/booking.py): the sessions to
come, and booking or cancelling a place."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from onboarding.training.booking import BookingError, book_place, cancel_booking
from onboarding.training.booking import upcoming_sessions as sessions_to_come
from onboarding.training.models import Booking, BookingState
from tenants.accounts.access import role_required
from tenants.accounts.models import Role


@role_required(Role.MEMBER)
def training(request: HttpRequest) -> HttpResponse:
    mine = {
        b.session_id: b
        for b in Booking.objects.filter(
            organisation=request.tenant, email=request.user.email.lower()
        ).exclude(state=BookingState.CANCELLED)
    }
    sessions = [
        (session, mine.get(session.pk), max(0, session.capacity - session.booked))
        for session in sessions_to_come()
    ]
    colleagues = (
        Booking.objects.filter(organisation=request.tenant)
        .exclude(state=BookingState.CANCELLED)
        .exclude(email=request.user.email.lower())
        .select_related("session")
        .order_by("-session__starts_at")[:50]
    )
    return render(
        request,
        "onboarding/training.html",
        {"sessions": sessions, "colleagues": colleagues},
    )


@require_POST
@role_required(Role.MEMBER)
def book_training(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        booking = book_place(
            pk,
            organisation=request.tenant,
            email=request.user.email,
            full_name=request.user.full_name,
            actor=request.user,
            request=request,
        )
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        if booking.state == BookingState.BOOKED:
            messages.success(request, "Your place is booked: the email has a calendar file.")
        else:
            messages.success(
                request,
                "The session is full: you are on the waiting list, and we will email you "
                "if a place comes up.",
            )
    return redirect("onboarding:training")


@require_POST
@role_required(Role.MEMBER)
def cancel_training(request: HttpRequest, pk: int) -> HttpResponse:
    booking = Booking.objects.filter(
        pk=pk, organisation=request.tenant, email=request.user.email.lower()
    ).first()
    if booking is None:
        raise Http404("There is no such booking of yours.")
    try:
        cancel_booking(booking, actor=request.user, request=request)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Cancelled.")
    return redirect("onboarding:training")
