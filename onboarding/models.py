"""An organisation's service imports and staff invitations (in its schema)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.accounts.models import Role


class ImportState(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    INVALID = "invalid", "Not imported: the file has errors"
    FAILED = "failed", "Not imported: something went wrong"


class ServiceImport(models.Model):
    """One CSV file of sites and services, imported all at once or not at all."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    # The file's text, kept only until a worker has run it (large files).
    content = models.TextField(blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=ImportState.choices)
    # When a worker took it; a claim older than the stale limit is taken again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # [{"line": 7, "message": "..."}], when the file turned out to be invalid.
    errors = models.JSONField(default=list, blank=True)
    # What happened, when done.
    sites_created = models.PositiveIntegerField(default=0)
    services_created = models.PositiveIntegerField(default=0)
    services_updated = models.PositiveIntegerField(default=0)
    services_unchanged = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.INVALID, ImportState.FAILED)


class InvitationStatus(models.TextChoices):
    OPEN = "open", "Waiting"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(models.Model):
    """An invitation to join this organisation's workspace, sent by email as a signed link."""

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the current link was sent, and when it stops working.
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Part of the signed link; replaced on every resend, so only the newest link works.
    nonce = models.CharField(max_length=32)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The services (feedback.Service ids in this schema) the account it makes is limited to
    # (feedback/service_limits.py), or None: every service. A service administrator's
    # invitations always name some of theirs.
    limited_to = ArrayField(models.IntegerField(), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open invitation per address: resend it rather than sending another.
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} ({self.role})"

    @property
    def status(self) -> InvitationStatus:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.OPEN


class InvitationChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message (SMS)"


class InvitationSource(models.TextChoices):
    CSV = "csv", "CSV file"
    FORM = "form", "Entered one at a time"


class InvitationBatch(models.Model):
    """Invitations to tell a story about one service, sent together
    (onboarding/tell_invitations.py). Only counts are kept: the addresses and numbers were
    in the outbox's rows until sent, and are nowhere here."""

    # The service, and its public listing (the hub's ServiceListing id the link names).
    service = models.ForeignKey(
        "feedback.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    listing_id = models.BigIntegerField()
    service_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=5, choices=InvitationChannel.choices)
    source = models.CharField(max_length=4, choices=InvitationSource.choices)
    sent_count = models.PositiveIntegerField(default=0)
    opted_out_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sent_count} {self.get_channel_display()} invitations for {self.service_name}"


class InvitationOptOut(models.Model):
    """Someone who asked this organisation to send them no more invitations to tell: an
    HMAC (INVITATION_OPT_OUT_KEY) of their normalised address or number, never the address.
    Only the day is kept, so it cannot be matched to a story by the minute."""

    digest = models.CharField(max_length=64, unique=True)
    created_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["-created_on", "-id"]

    def __str__(self) -> str:
        return f"Opt-out {self.pk}"
