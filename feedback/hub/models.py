"""Hub data, in the public schema: the submission inbox (the only place an author's contact
details live), the service directory, the public read model of stories, and API keys."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from feedback import pii
from feedback.hub.crypto import EncryptedTextField
from feedback.vocabulary import (
    AgeGroup,
    AuthorRole,
    ChangeStatus,
    Criticality,
    Progress,
    ServiceType,
    SubmissionRoute,
)
from tenants.models import Organisation


class ServiceListing(models.Model):
    """The public directory entry for one organisation's service; kept in step by
    feedback/services.py whenever the organisation changes its services."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="service_listings"
    )
    # The Service's id in the organisation's schema.
    service_id = models.BigIntegerField()
    parent_service_id = models.BigIntegerField(null=True, blank=True)
    code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=ServiceType.choices)
    site_name = models.CharField(max_length=200)
    site_code = models.CharField(max_length=12, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation__name", "site_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "service_id"], name="one_listing_per_service"
            )
        ]
        indexes = [models.Index(fields=["code"])]

    def __str__(self) -> str:
        return f"{self.name}, {self.site_name} ({self.organisation.name})"


class SubmissionState(models.TextChoices):
    PENDING = "pending", "Waiting for moderation"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class RejectionReason(models.TextChoices):
    NOT_ABOUT_CARE = "not about care", "It is not about an experience of care"
    IDENTIFIES_PEOPLE = "identifies people", "It cannot be published without identifying people"
    ABUSIVE = "abusive", "It is abusive or offensive"
    LEGAL = "legal", "It makes allegations we cannot publish"
    DUPLICATE = "duplicate", "It duplicates another story"
    SPAM = "spam", "It is spam or advertising"
    SERVICE_UNKNOWN = "service unknown", "We could not tell which service it is about"


class Submission(models.Model):
    """A story as its author sent it, waiting for a moderator."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    title = models.CharField(max_length=200)
    what_was_good = models.TextField(blank=True)
    what_could_be_improved = models.TextField(blank=True)
    how_it_felt = models.TextField(blank=True)
    author_role = models.CharField(max_length=16, choices=AuthorRole.choices)
    author_age_group = models.CharField(max_length=16, choices=AgeGroup.choices)
    nickname = models.CharField(max_length=60, blank=True)
    # Contact details: encrypted, never copied out of this table, never shown to staff.
    email = EncryptedTextField(blank=True)
    postcode = EncryptedTextField(blank=True)
    consented_at = models.DateTimeField()
    route = models.CharField(max_length=16, choices=SubmissionRoute.choices)
    assisted_by = models.CharField(max_length=120, blank=True)
    services = models.ManyToManyField(ServiceListing, related_name="submissions")
    state = models.CharField(
        max_length=16, choices=SubmissionState.choices, default=SubmissionState.PENDING
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=32, choices=RejectionReason.choices, blank=True)
    rejection_note = models.TextField(blank=True)
    public_story = models.OneToOneField(
        "PublicStory", null=True, blank=True, on_delete=models.SET_NULL, related_name="submission"
    )
    # The personal details found in each text field, {field: [pii.Finding.to_json(), ...]}:
    # found when the story arrives and again whenever its text is edited
    # (feedback.moderation.scan_submission), so the moderation pages never scan text.
    findings = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["state", "created_at"])]
        permissions = [("moderate_submission", "Can moderate submissions")]

    def __str__(self) -> str:
        return self.title

    @property
    def has_email(self) -> bool:
        return bool(self.email)


class PublicStory(models.Model):
    """The published story as everyone may read it. Its id is the story's public id.

    Criticality is kept for API subscribers and staff; public pages never show it.
    """

    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    submitted_at = models.DateTimeField()
    published_at = models.DateTimeField(db_index=True)
    criticality = models.CharField(max_length=24, choices=Criticality.choices)
    # The furthest any organisation the story names has taken it, for the story as a whole.
    # TRICKY: never count it for one organisation (summaries, API answers, filters): each
    # organisation's own progress is on its PublicStoryOrganisation row.
    progress = models.CharField(max_length=16, choices=Progress.choices, default=Progress.UNHEARD)
    author_role = models.CharField(max_length=16, choices=AuthorRole.choices)
    author_age_group = models.CharField(max_length=16, choices=AgeGroup.choices)
    author_nickname = models.CharField(max_length=60, blank=True)
    submission_route = models.CharField(max_length=16, choices=SubmissionRoute.choices)
    services = models.ManyToManyField(ServiceListing, related_name="public_stories")
    organisations = models.ManyToManyField(
        Organisation, through="PublicStoryOrganisation", related_name="public_stories"
    )
    # [{"name": ..., "group": ..., "polarity": ...}], public tags only.
    tags = models.JSONField(default=list)
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "public stories"
        indexes = [
            models.Index(fields=["published_at", "id"], name="publicstory_published"),
            GinIndex(fields=["search"], name="publicstory_search"),
            GinIndex(fields=["tags"], name="publicstory_tags", opclasses=["jsonb_path_ops"]),
        ]

    def __str__(self) -> str:
        return self.title


class PublicStoryOrganisation(models.Model):
    """One organisation a published story names, and that organisation's own progress on it
    (the public copy of its Story.progress). The table is the one the plain many-to-many
    made, so its columns keep their names."""

    publicstory = models.ForeignKey(PublicStory, on_delete=models.CASCADE)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    progress = models.CharField(
        max_length=16,
        choices=Progress.choices,
        default=Progress.UNHEARD,
        db_default=Progress.UNHEARD,
    )

    class Meta:
        db_table = "hub_publicstory_organisations"
        unique_together = [("publicstory", "organisation")]

    def __str__(self) -> str:
        return f"{self.publicstory_id} at {self.organisation_id}: {self.progress}"


class ApiKey(models.Model):
    """A subscription key for the read API, made and revoked by an organisation's admins.

    Only a hash is stored; the key itself is shown once, when it is made.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=254)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PublicResponse(models.Model):
    """A published response as everyone may read it, with its responder's public profile."""

    public_story = models.ForeignKey(
        PublicStory, on_delete=models.CASCADE, related_name="responses"
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    responder_name = models.CharField(max_length=150)
    responder_job_title = models.CharField(max_length=150, blank=True)
    responder_department = models.CharField(max_length=150, blank=True)
    responder_is_clinician = models.BooleanField(default=False)
    # Path of the responder's photo under MEDIA_ROOT (profiles/<schema>/...), or empty.
    responder_photo = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="Markdown")
    change_status = models.CharField(
        max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.NONE
    )
    change_description = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    # The author's verdicts, given through their signed link; null until they say.
    author_found_helpful = models.BooleanField(null=True)
    author_confirms_change = models.BooleanField(null=True)
    # A moderator's question about a change claim, shown with the response until answered.
    change_query = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["published_at", "id"]

    def __str__(self) -> str:
        return f"{self.responder_name} on {self.public_story_id}"


class ReplyState(models.TextChoices):
    PENDING = "pending", "Waiting for moderation"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class AuthorReply(models.Model):
    """The story author's reply to a response; moderated like a story."""

    response = models.ForeignKey(PublicResponse, on_delete=models.CASCADE, related_name="replies")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=ReplyState.choices, default=ReplyState.PENDING)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    # The personal details found in the body, [pii.Finding.to_json(), ...], found when the
    # reply is first saved, so the moderation queue never scans text.
    findings = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Author's reply to {self.response}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A reply's body is written once, by its author (feedback.followup), and never edited.
        if self.findings is None:
            self.findings = [f.to_json() for f in pii.find_personal_details(self.body)]
        super().save(*args, **kwargs)
