"""Training in the hub's Django admin: platform staff schedule sessions and record who came.

Changes go through onboarding/training/booking.py, so places, the waiting list and the
audit log stay right whichever way a change is made.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from onboarding.training.booking import BookingError, record_attendance, schedule_session
from onboarding.training.models import Booking, BookingState, TrainingSession
from tenants.admin import site


class BookingInline(admin.TabularInline):
    model = Booking
    extra = 0
    can_delete = False
    fields = ["full_name", "email", "organisation", "state", "created_at", "attended"]
    readonly_fields = ["full_name", "email", "organisation", "state", "created_at", "attended"]
    ordering = ["state", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(TrainingSession, site=site)
class TrainingSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "audience", "starts_at", "capacity", "booked", "waiting"]
    list_filter = ["audience"]
    search_fields = ["title"]
    date_hierarchy = "starts_at"
    fields = [
        "title",
        "description",
        "audience",
        "starts_at",
        "duration_minutes",
        "capacity",
        "joining_link",
        "place",
    ]
    inlines = [BookingInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingSession]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                booked_count=Count("bookings", filter=Q(bookings__state=BookingState.BOOKED)),
                waiting_count=Count("bookings", filter=Q(bookings__state=BookingState.WAITING)),
            )
        )

    @admin.display(ordering="booked_count", description="Booked")
    def booked(self, obj: TrainingSession) -> int:
        return obj.booked_count

    @admin.display(ordering="waiting_count", description="Waiting")
    def waiting(self, obj: TrainingSession) -> int:
        return obj.waiting_count

    def save_model(
        self, request: HttpRequest, obj: TrainingSession, form: object, change: bool
    ) -> None:
        schedule_session(obj, actor=request.user, request=request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting would drop bookings without telling anyone.
        return False


@admin.register(Booking, site=site)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["full_name", "email", "organisation", "session", "state", "attended"]
    list_filter = ["state", "attended", "session"]
    search_fields = ["full_name", "email", "organisation__name", "session__title"]
    list_select_related = ["organisation", "session"]
    readonly_fields = [
        "session",
        "organisation",
        "email",
        "full_name",
        "state",
        "created_at",
        "confirmed_at",
        "cancelled_at",
        "reminded_at",
        "attended",
    ]
    actions = ["mark_attended", "mark_not_attended"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people book in their workspace

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def _record(self, request: HttpRequest, queryset: QuerySet[Booking], attended: bool) -> None:
        done, refused = 0, []
        for booking in queryset:
            try:
                record_attendance(booking, attended, actor=request.user, request=request)
                done += 1
            except BookingError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, f"Attendance recorded for {done} booking(s).")
        for reason in refused:
            self.message_user(request, reason, level=messages.WARNING)

    @admin.action(description="Record as attended", permissions=["change"])
    def mark_attended(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        self._record(request, queryset, True)

    @admin.action(description="Record as not attended", permissions=["change"])
    def mark_not_attended(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        self._record(request, queryset, False)
