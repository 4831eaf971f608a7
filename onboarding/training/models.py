"""Training sessions platform staff run for subscribers' staff, and the places booked on them.

Both live in the public schema. A booking names its organisation and the person by email
and name: a link to a User would point into one organisation's schema from another.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import Organisation


class Audience(models.TextChoices):
    RESPONDERS = "responders", "Responders"
    ADMINISTRATORS = "administrators", "Administrators"
    MANAGERS = "managers", "Managers"


class TrainingSession(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    audience = models.CharField(max_length=16, choices=Audience.choices)
    starts_at = models.DateTimeField(db_index=True)
    duration_minutes = models.PositiveIntegerField(
        "length (minutes)", validators=[MinValueValidator(5)], default=60
    )
    capacity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    # Online, or in person: at least one of the two.
    joining_link = models.URLField(blank=True)
    place = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({timezone.localtime(self.starts_at):%d %b %Y %H:%M})"

    def clean(self) -> None:
        if not self.joining_link and not self.place:
            raise ValidationError("Give a joining link, a place, or both.")

    @property
    def ends_at(self):  # noqa: ANN201 - a datetime
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def has_started(self) -> bool:
        return self.starts_at <= timezone.now()


class BookingState(models.TextChoices):
    BOOKED = "booked", "Place booked"
    WAITING = "waiting", "On the waiting list"
    CANCELLED = "cancelled", "Cancelled"


class Booking(models.Model):
    session = models.ForeignKey(TrainingSession, on_delete=models.CASCADE, related_name="bookings")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="training_bookings"
    )
    # The person, as their organisation's account named them when they booked.
    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    state = models.CharField(max_length=10, choices=BookingState.choices)
    # Waiting-list order, and when the booking was made.
    created_at = models.DateTimeField(default=timezone.now)
    # When the place was confirmed (at booking, or on promotion from the waiting list).
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the 24-hour reminder was written to the outbox (tenants/messages.py, which sends
    # it); cleared when the session moves, so the new time is reminded of.
    reminded_at = models.DateTimeField(null=True, blank=True)
    # Recorded by platform staff after the session; null until then.
    attended = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["session", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "organisation", "email"],
                condition=~Q(state="cancelled"),
                name="one_live_booking_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.organisation}) on {self.session.title}"
