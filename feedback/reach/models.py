"""Reach, in the public schema: campaign codes printed on leaflets, posters and paper forms,
which story came from which campaign, and waiting-room display screens."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from feedback.hub.models import ServiceListing, Submission
from tenants.models import Organisation


class CampaignKind(models.TextChoices):
    LEAFLET = "leaflet", "A5 leaflet"
    POSTER = "poster", "A4 poster"
    PAPER_FORM = "paper form", "Paper form"
    DISPLAY_SCREEN = "display screen", "Waiting-room screen"


class Campaign(models.Model):
    """One printed thing's code: its QR link carries `code`, so stories can be counted by
    leaflet or poster. One per organisation, service (or none: the whole organisation) and
    kind, so downloading the same leaflet again reuses its code."""

    code = models.CharField(max_length=16, unique=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        ServiceListing, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=CampaignKind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254)

    class Meta:
        ordering = ["organisation_id", "kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "service", "kind"],
                name="one_campaign_per_service_and_kind",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.code}"


class SubmissionCampaign(models.Model):
    """The campaign a story came from (its QR link's code)."""

    submission = models.OneToOneField(
        Submission, on_delete=models.CASCADE, related_name="campaign_link"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="submissions")

    def __str__(self) -> str:
        return f"Submission {self.submission_id} from campaign {self.campaign_id}"


class DisplayScreen(models.Model):
    """A waiting-room screen's link: shown once, only its SHA-256 kept; an administrator
    revokes it."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(
        ServiceListing, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
