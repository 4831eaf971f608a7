"""Hub data, in the public schema: the submission inbox (the only place an author's contact
details live), the service directory, the public read model of stories, and API keys."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from feedback import pii
from feedback.choices import (
    AgeGroup,
    AuthorRole,
    ChangeStatus,
    ConsentGiven,
    Criticality,
    Progress,
    ServiceType,
    SubmissionRoute,
)
from feedback.hub.crypto import EncryptedTextField
from feedback.languages import StoryLanguage
from tenants.models import Network, Organisation


class ServiceListing(models.Model):
    """The public directory entry for one organisation's service; kept in step by
    feedback/sites_and_services.py whenever the organisation changes its services."""

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
    # A safeguarding concern was raised and the moderator decided not to publish it.
    WITHHELD = "withheld", "Withheld (safeguarding)"
    # Its author asked for it to be withdrawn and a moderator confirmed it.
    WITHDRAWN = "withdrawn", "Withdrawn at the author's request"


class RejectionReason(models.TextChoices):
    NOT_ABOUT_CARE = "not about care", _("It is not about an experience of care")
    IDENTIFIES_PEOPLE = "identifies people", _("It cannot be published without identifying people")
    ABUSIVE = "abusive", _("It is abusive or offensive")
    LEGAL = "legal", _("It makes allegations we cannot publish")
    DUPLICATE = "duplicate", _("It duplicates another story")
    SPAM = "spam", _("It is spam or advertising")
    SERVICE_UNKNOWN = "service unknown", _("We could not tell which service it is about")


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
    # The language it was told in (feedback/languages.py): published in it, filtered by it.
    language = models.CharField(
        max_length=8, choices=StoryLanguage.choices, default="en", db_default="en"
    )
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
    # The personal details found in each text field, the nickname and assisted_by
    # (feedback.moderation.CHECKED_FIELDS), {field: [pii.Finding.to_json(), ...]}:
    # found when the story arrives and again whenever its text is edited
    # (feedback.moderation.scan_submission), so the moderation pages never scan text.
    findings = models.JSONField(null=True, blank=True, editable=False)
    # Retention (feedback/retention.py): when the contact details were deleted, and when the
    # text of a rejected, withheld or withdrawn submission was purged.
    contact_removed_at = models.DateTimeField(null=True, blank=True)
    text_purged_at = models.DateTimeField(null=True, blank=True)
    # When the author last used their "Your story" link, a follow-up for retention.
    author_seen_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Entered for its author by someone else, from paper, a phone call or in person
    # (feedback/entering.py; the route says which). Who entered it, as moderators see it:
    entered_by = models.CharField(max_length=200, blank=True)
    # The organisation whose story taker entered it; null when a moderator did (or nobody).
    entered_by_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The account that entered it, in that organisation's schema (or the hub's).
    entered_by_user_id = models.BigIntegerField(null=True, blank=True)
    # Entered by staff of an organisation the story is about: shown to moderators and
    # carried onto the organisation's Story, and counted by route in its reports.
    staff_entered = models.BooleanField(default=False, db_default=False)
    # How the author said yes to publication, as the person entering it recorded it.
    consent_given = models.CharField(max_length=32, choices=ConsentGiven.choices, blank=True)
    # A scan of the paper form under MEDIA_ROOT (scans/<schema>/<random>.<pdf|png|jpg>),
    # never served from /media/: only through the authenticated views in entering_views.
    scan = models.CharField(max_length=200, blank=True)

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
    # The language it was told in (feedback/languages.py): published in it, filtered by it.
    language = models.CharField(
        max_length=8, choices=StoryLanguage.choices, default="en", db_default="en"
    )
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


class OpinionText(models.Model):
    """API v2's JSON of one published story, kept as text so that a page of the opinions
    list is joined together rather than worked out (feedback/api_encoding.py): `head` runs
    from the opening brace to "criticality", `tail` from "authorRole" to the closing brace.
    The reader's own "progress" goes between them; in the links, a \\x01 byte stands where the
    API's address goes (the text of a JSON string never holds a raw control character).

    TRICKY: written only by database triggers (migration hub 0014_opinion_text), on every
    change to a story, its responses, its services, a service listing or an organisation's
    name, whoever writes (COPY included), and removed with the story. Never write it from
    Python."""

    # The PublicStory's id. No foreign key: the triggers write and remove the text, and a
    # story's removal (whose services go first) must not wait on it.
    story_id = models.BigIntegerField(primary_key=True)
    head = models.TextField()
    tail = models.TextField()

    def __str__(self) -> str:
        return f"API text of story {self.story_id}"


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
    # When this organisation first answered the story in public (the earliest of its
    # PublicResponse rows), kept here as they are published (feedback/public_progress.py)
    # so the network comparison's compliance table need not look for it among the
    # responses. Null until it answers.
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # The story's published_at, copied here so that an organisation's stories can be read
    # in publication order from one index (the API's pages, feedback/api_paging.py).
    # TRICKY: kept by database triggers (migration hub 0013_api_page_order) on every insert
    # here and every change of the story's published_at, whoever writes (COPY included).
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "hub_publicstory_organisations"
        unique_together = [("publicstory", "organisation")]
        indexes = [
            # API v2 lists: an organisation's stories in publication order.
            models.Index(
                fields=["organisation", "published_at", "publicstory"],
                name="publicstoryorg_page_order",
            ),
            # The network comparison's compliance table reads a year of fifty members' links
            # from this index alone.
            models.Index(
                fields=["organisation", "publicstory"],
                include=["first_responded_at"],
                name="publicstoryorg_answered",
            ),
        ]

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
        # A reply's body is written by its author (feedback.followup); a moderator who edits it
        # stores the new text's findings with it (followup._apply_reply_edit).
        if self.findings is None:
            self.findings = [f.to_json() for f in pii.find_personal_details(self.body)]
        super().save(*args, **kwargs)


class WithdrawnStory(models.Model):
    """What is left in public of a story its author withdrew: its former public id, so its
    address answers "withdrawn at the author's request" rather than nothing, and where the
    organisations' responses stood. No text of the story or of its responses is kept."""

    public_id = models.BigIntegerField(unique=True)
    withdrawn_at = models.DateTimeField(default=timezone.now)
    organisations = models.ManyToManyField(Organisation, related_name="withdrawn_stories")
    # How many responses had been published to it when it was withdrawn.
    response_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-withdrawn_at"]
        verbose_name_plural = "withdrawn stories"

    def __str__(self) -> str:
        return f"Story {self.public_id}, withdrawn {self.withdrawn_at:%Y-%m-%d}"


class AuthorRequestKind(models.TextChoices):
    WITHDRAW = "withdraw", _("Withdraw my story")
    COPY = "copy", _("Send me a copy of what Carevoice holds about me")


class AuthorRequestState(models.TextChoices):
    OPEN = "open", "Waiting for a moderator"
    DONE = "done", "Done"
    DECLINED = "declined", "Declined"


class AuthorRequest(models.Model):
    """An author's request about their story (UK GDPR rights), handled by a moderator.

    Through the signed "Your story" link the submission is known and the link is the proof.
    Through the form for authors with no email, the moderator verifies the request by what
    only the author would know (``details``) before acting, and links the submission.
    """

    kind = models.CharField(max_length=16, choices=AuthorRequestKind.choices)
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    # True when made through the signed link, which proves who is asking.
    via_link = models.BooleanField(default=False)
    # The author's own words: why (optional), or, without a link, how to find the story and
    # what only they would know. Encrypted: it may identify them.
    details = EncryptedTextField(blank=True)
    # How to reach them with the answer, when they have no email on the story.
    contact = EncryptedTextField(blank=True)
    state = models.CharField(
        max_length=16, choices=AuthorRequestState.choices, default=AuthorRequestState.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    # The moderator's record of how they verified it, or why they declined.
    moderator_note = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_state_display().lower()})"


class ConcernCategory(models.TextChoices):
    RISK_TO_LIFE = "risk to life", "Risk to life"
    SELF_HARM = "self-harm", "Self-harm or suicide"
    ABUSE = "abuse", "Abuse or neglect"
    CHILD_AT_RISK = "child at risk", "A child at risk"
    ADULT_AT_RISK = "adult at risk", "An adult at risk"
    OTHER_URGENT = "other urgent", "Another urgent concern"


class SafeguardingConcern(models.Model):
    """A moderator's judgement that a submission describes harm that may still be happening,
    raised with one organisation the story names (feedback/safeguarding.py). Its designated
    safeguarding contacts are alerted at once; unacknowledged after ``escalate_at``, it goes
    to the organisation's administrators and to platform staff."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="concerns")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="safeguarding_concerns"
    )
    category = models.CharField(max_length=24, choices=ConcernCategory.choices)
    # The moderator's summary for the organisation: what the concern is.
    note = models.TextField()
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    raised_at = models.DateTimeField(default=timezone.now)
    escalate_at = models.DateTimeField()
    # Who at the organisation acknowledged it (their account lives in its schema).
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by_name = models.CharField(max_length=150, blank=True)
    acknowledged_by_email = models.EmailField(blank=True)
    acknowledgement_note = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "organisation"], name="one_concern_per_organisation"
            )
        ]
        indexes = [
            models.Index(
                fields=["escalate_at"],
                condition=models.Q(acknowledged_at__isnull=True, escalated_at__isnull=True),
                name="concern_escalation_watch",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} concern on submission {self.submission_id}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class NetworkDiscussionNote(models.Model):
    """One note in the discussion between a network's lead and one member about one of that
    member's published stories (feedback/network_discussion.py). Seen by the staff of those
    two organisations only, never in public and never by another member. Plain text, shown
    escaped. The writer is named (they are staff of one organisation's schema, so named
    rather than linked), never given an address."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    public_story = models.ForeignKey(
        PublicStory, on_delete=models.CASCADE, related_name="network_notes"
    )
    # The member whose story it is: the thread is (network, story, member).
    member = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # The lead or the member.
    written_by_organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="+"
    )
    written_by_name = models.CharField(max_length=150)
    written_by_job_title = models.CharField(max_length=150, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["network", "public_story", "member", "created_at"],
                name="network_note_thread",
            )
        ]

    def __str__(self) -> str:
        return f"{self.written_by_name} on story {self.public_story_id}"


class ReferralDecision(models.TextChoices):
    ADDED = "added", "Services added"
    DECLINED = "declined", "Declined"


class StoryReferral(models.Model):
    """A lead's "this concerns you": a member's published story referred to another member
    of the network, with a note. It shows in the referred member's inbox; adding that
    member's services to the public story stays a moderator's decision, asked for with
    `service_request_at` (feedback/network_discussion.py ask_to_add_services)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    public_story = models.ForeignKey(
        PublicStory, on_delete=models.CASCADE, related_name="referrals"
    )
    referred_to = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    referred_by_name = models.CharField(max_length=150)
    note = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # The referred member's request to the moderators: which of its services to add.
    service_request_at = models.DateTimeField(null=True, blank=True)
    service_request_by_name = models.CharField(max_length=150, blank=True)
    requested_services = models.ManyToManyField(ServiceListing, related_name="+", blank=True)
    # A moderator's answer (feedback/referral_moderation.py): the services added to the public
    # story, or the request declined, with a note the member reads.
    service_decision = models.CharField(
        max_length=10, choices=ReferralDecision.choices, blank=True, default=""
    )
    service_decided_at = models.DateTimeField(null=True, blank=True)
    service_decided_by_name = models.CharField(max_length=150, blank=True)
    service_decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "public_story", "referred_to"], name="one_referral_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"Story {self.public_story_id} referred to {self.referred_to_id}"
