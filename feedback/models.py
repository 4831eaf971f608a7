"""An organisation's own sites, services, stories and tags (in its schema).

A story's author identity never reaches here: it stays in the hub's Submission inbox.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from feedback.choices import (
    AgeGroup,
    AuthorRole,
    ChangeStatus,
    Criticality,
    Polarity,
    Progress,
    ServiceType,
    SubmissionRoute,
    TagGroup,
)
from feedback.languages import StoryLanguage

PROGRESS_ORDER = list(Progress.values)


class Site(models.Model):
    """A place the organisation provides care from: a hospital, a health centre."""

    name = models.CharField(max_length=200)
    # ODS site code where one exists (e.g. RTH01).
    code = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=~Q(code=""), name="unique_site_code")
        ]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A ward, clinic, team or surgery. Services nest: a ward within a hospital's service."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="services")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # ODS or NACS style code, unique within the organisation when given.
    code = models.CharField(max_length=12, blank=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=32, choices=ServiceType.choices)
    is_active = models.BooleanField(default=True)
    # Who a patient's thanks for one of its staff goes to when that person has no email
    # address of their own (feedback/thanks.py); a parent service's manager otherwise.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_services",
        help_text="Thanks for staff with no email address of their own are sent here.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~Q(code=""), name="unique_service_code"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.parent.site_id != self.site_id:
            raise ValidationError({"parent": "A service's parent must be at the same site."})
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": "A service cannot sit inside itself."})
            ancestor = ancestor.parent

    def subtree_ids(self) -> list[int]:
        """This service and every service below it."""
        ids, frontier = [self.pk], [self.pk]
        while frontier:
            frontier = list(
                Service.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
            )
            ids += frontier
        return ids


class Tag(models.Model):
    name = models.CharField(max_length=60)
    group = models.CharField(max_length=32, choices=TagGroup.choices)
    polarity = models.CharField(max_length=10, choices=Polarity.choices)
    # Private tags are the organisation's own, for staff; never published.
    is_private = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="unique_tag_in_group")
        ]

    def __str__(self) -> str:
        return self.name


class Story(models.Model):
    """A published story about one or more of this organisation's services."""

    # The PublicStory id in the hub, shared by every organisation the story names.
    public_id = models.BigIntegerField(unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    services = models.ManyToManyField(Service, related_name="stories")
    tags = models.ManyToManyField(Tag, related_name="stories", blank=True)
    criticality = models.CharField(max_length=24, choices=Criticality.choices)
    author_role = models.CharField(max_length=16, choices=AuthorRole.choices)
    author_age_group = models.CharField(max_length=16, choices=AgeGroup.choices)
    author_nickname = models.CharField(max_length=60, blank=True)
    submission_route = models.CharField(max_length=16, choices=SubmissionRoute.choices)
    # Who typed it for the author, when assisted ("Volunteer, Ward 7 visiting team").
    assisted_by = models.CharField(max_length=120, blank=True)
    # Entered for its author by this organisation's own staff (a story taker), through the
    # hub and its moderation (feedback/entering.py): "entered by staff" in the inbox and reports.
    staff_entered = models.BooleanField(default=False, db_default=False)
    # The language it was told in (feedback/languages.py): published in it, filtered by it.
    language = models.CharField(
        max_length=8, choices=StoryLanguage.choices, default="en", db_default="en"
    )
    submitted_at = models.DateTimeField()
    published_at = models.DateTimeField(db_index=True)
    progress = models.CharField(max_length=16, choices=Progress.choices, default=Progress.UNHEARD)
    # Triage, private to the organisation's staff.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_stories",
    )
    # When the response target falls due (set by alerts' response targets; null until then).
    due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    # When the response target was missed (its due time), once it has been; set when a late
    # first response is published, or by the sweep that finds unanswered stories past due.
    target_missed_at = models.DateTimeField(null=True, blank=True)
    # The words of the title and body, for the inbox's text search (feedback/inbox.py):
    # worked out by PostgreSQL whenever either changes, and kept, so a search reads them
    # from its GIN index and never works them out again per story.
    search_document = models.GeneratedField(
        expression=SearchVector("title", "body", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "stories"
        indexes = [
            # For the sweep that finds targets newly missed.
            models.Index(
                fields=["due_at"],
                condition=Q(target_missed_at__isnull=True),
                name="story_target_watch",
            ),
            # The inbox's text search (feedback/inbox.py), with the two filters that most often
            # go with it: one index scan finds the stories that match all three, so far fewer
            # rows are visited (btree_gin's operator classes, migration feedback 0011).
            GinIndex(fields=["search_document", "progress", "criticality"], name="story_search"),
        ]

    def __str__(self) -> str:
        return self.title

    def advance_progress(self, to: Progress | str) -> bool:
        """Move progress forward to `to`; never backwards. Returns whether it moved."""
        if PROGRESS_ORDER.index(Progress(to)) <= PROGRESS_ORDER.index(Progress(self.progress)):
            return False
        self.progress = Progress(to)
        return True


class StoryReading(models.Model):
    """Who on the staff has opened a story, and when first."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="readings")
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    first_read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_read_at"]
        constraints = [
            models.UniqueConstraint(fields=["story", "reader"], name="one_reading_per_reader")
        ]

    def __str__(self) -> str:
        return f"{self.reader} read {self.story}"


class StoryNote(models.Model):
    """A private note on a story, for the organisation's staff only."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on {self.story}"


class Response(models.Model):
    """The organisation's public answer to a story, under a named member of staff."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="responses")
    # Shown publicly as the responder.
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="responses"
    )
    # Who typed it, when an administrator responded on a colleague's behalf.
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="responses_written"
    )
    body = models.TextField(help_text="Markdown")
    change_status = models.CharField(
        max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.NONE
    )
    change_description = models.CharField(max_length=300, blank=True)
    # The quality check's verdict when it was published: {"score": n, "advice": [...]}.
    quality = models.JSONField(default=dict)
    published_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # The PublicResponse id in the hub.
    public_id = models.BigIntegerField(unique=True, null=True)

    class Meta:
        ordering = ["published_at", "id"]

    def __str__(self) -> str:
        return f"Response to {self.story}"


class ResponseVersion(models.Model):
    """Every wording a response has had, oldest first."""

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="versions")
    body = models.TextField()
    change_status = models.CharField(max_length=10, choices=ChangeStatus.choices)
    change_description = models.CharField(max_length=300, blank=True)
    saved_at = models.DateTimeField(default=timezone.now)
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["saved_at", "id"]

    def __str__(self) -> str:
        return f"Version of {self.response} at {self.saved_at:%Y-%m-%d %H:%M}"


class NetworkFollowUp(models.Model):
    """A network lead's record that one of its members' stories was followed up offline: who
    spoke to whom, and the outcome (feedback/network_follow_ups.py). It lives in the lead's
    schema, so neither the member nor any other member ever sees it; several entries per
    story make a log.

    The story and the member live in the public schema, so they are named by id, not linked:
    a withdrawn story or a departed member leaves the lead's record as it was written."""

    # The hub's PublicStory id (Story.public_id at the member).
    public_story_id = models.BigIntegerField(db_index=True)
    # The member organisation (tenants.Organisation id) the follow-up was with, and its name
    # when the entry was written, for the log and its CSV.
    member_id = models.BigIntegerField(db_index=True)
    member_name = models.CharField(max_length=200)
    # Who at the member (or elsewhere) the lead's staff spoke to, in the writer's words.
    spoke_with = models.CharField(max_length=200)
    outcome = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The author's name when they wrote it: the log still says who if the account goes.
    author_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Follow-up with {self.member_name} on story {self.public_story_id}"


class ExportState(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Being made"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ExportScope(models.TextChoices):
    # This organisation's stories, filtered as its inbox is.
    ORGANISATION = "organisation", "Our stories"
    # A network lead's: its consenting members' published stories, as its network inbox.
    NETWORK = "network", "Network members' stories"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class StoryExport(models.Model):
    """A bulk export of stories asked for by a member of staff (feedback/exporting.py). A
    worker writes the file to MEDIA_ROOT/exports/<schema>/<token>.<format>; it is kept for
    seven days and downloaded through a signed link. The row keeps what was asked for, so a
    build whose task message was lost can be sent again, and the limits can be counted."""

    token = models.CharField(max_length=32, unique=True)
    scope = models.CharField(max_length=12, choices=ExportScope.choices)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    # The inbox's filters, as asked for (feedback.exporting.filters_from / filters_to).
    filters = models.JSONField(default=dict)
    # In words, for the exports page and the file's "About" sheet.
    description = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=ExportState.choices, default=ExportState.QUEUED)
    percent = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(null=True, blank=True)
    # Why it failed, or why the file was taken away (a story in it withdrawn).
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Moved on by the worker as it goes: a build not moved on for a while had its worker die.
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} as {self.get_format_display()} ({self.state})"


class StaffMember(models.Model):
    """One entry of the organisation's staff directory, which a moderator's suggestions read
    when a story names someone (feedback/thanks.py). Not everyone has a Carevoice account:
    an entry may have only an email address in the organisation's domains, or none (their
    thanks then go to their service's manager)."""

    full_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="directory_entry",
    )
    services = models.ManyToManyField(Service, related_name="staff", blank=True)
    # They can turn off the emails passing thanks on (a signed link in each, or /thanks/).
    thanks_emails = models.BooleanField(default=True, db_default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["full_name", "id"]
        verbose_name = "staff directory entry"
        verbose_name_plural = "staff directory"

    def __str__(self) -> str:
        return self.full_name


class ThanksRoute(models.TextChoices):
    PERSON = "person", "Emailed to them"
    MANAGER = "manager", "Emailed to their service's manager"
    OPTED_OUT = "opted_out", "Counted only: they turned these emails off"
    NO_ADDRESS = "no_address", "Counted only: no email address and no manager"


class Thanks(models.Model):
    """A patient's thanks, in a published story, passed on to a member of staff it names,
    as a moderator confirmed (feedback/thanks.py). Counted per service and per person."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="thanks")
    staff_member = models.ForeignKey(
        StaffMember, null=True, on_delete=models.SET_NULL, related_name="thanks"
    )
    # Their name when it was passed on: the count still says who if the entry goes.
    staff_name = models.CharField(max_length=150)
    # The service it counts under: one of theirs the story is about, or their first.
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="thanks"
    )
    # The words of the story that named them ("Sarah", "Dr Patel").
    named_as = models.CharField(max_length=150)
    route = models.CharField(max_length=12, choices=ThanksRoute.choices)
    # The moderator who confirmed it (a hub account: kept by name).
    confirmed_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "thanks"
        constraints = [
            models.UniqueConstraint(fields=["story", "staff_member"], name="thanks_once_per_story")
        ]

    def __str__(self) -> str:
        return f"Thanks for {self.staff_name} ({self.get_route_display().lower()})"


class LearnedTopic(models.Model):
    """A theme learned from the organisation's own published stories (feedback/topics.py):
    a topic of a TF-IDF and NMF model fitted each night in its schema. Named by its top
    terms until staff rename it; a rename is carried over to the next night's topic with the
    most terms in common."""

    number = models.PositiveSmallIntegerField()
    # The words that weigh most in it, heaviest first.
    terms = models.JSONField(default=list)
    # Staff's name for it; empty: named by its top terms.
    name = models.CharField(max_length=60, blank=True)
    stories = models.PositiveIntegerField(default=0)
    fitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-stories", "number"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return topic_label(self.name, self.terms)


def topic_label(name: str, terms: list[str]) -> str:
    """A learned topic's name, or its top three terms that add a word ("pain taken,
    seriously managed", not "pain taken, pain, taken")."""
    if name:
        return name
    chosen: list[str] = []
    seen: set[str] = set()
    for term in terms:
        words = set(term.split())
        if words <= seen:
            continue
        chosen.append(term)
        seen |= words
        if len(chosen) == 3:
            break
    return ", ".join(chosen)


class StoryTopic(models.Model):
    """A story's learned theme: the topic it weighs most in, when it weighs enough."""

    story = models.OneToOneField(Story, on_delete=models.CASCADE, related_name="topic_link")
    topic = models.ForeignKey(LearnedTopic, on_delete=models.CASCADE, related_name="links")
    weight = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["topic", "story"], name="story_topic_by_topic")]

    def __str__(self) -> str:
        return f"{self.story_id} in {self.topic_id}"


class ServiceLimit(models.Model):
    """A member of staff limited to some of the organisation's services, the services within
    them included (feedback/service_limits.py). Without a row, they see every service."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_limit"
    )
    services = models.ManyToManyField(Service, related_name="+")
    # A service administrator: manages the staff limited within these services, and the
    # alert rules about them.
    manages = models.BooleanField(default=False, db_default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} limited to {self.services.count()} services"
