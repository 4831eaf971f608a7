"""Who hears about which stories, how fast stories must be answered, and what was sent.

All of it lives in each organisation's schema."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from feedback.choices import Criticality, ServiceType
from feedback.models import Service, Story, Tag


class Frequency(models.TextChoices):
    INSTANT = "instant", "Instantly"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


class Scope(models.TextChoices):
    OWN = "own", "Our own stories"
    # Stories published by the active, consenting members of the networks this organisation
    # leads (alerts/network_alerts.py): read from the hub's public copy only.
    NETWORK = "network", "Our network members' stories"


class AlertRule(models.Model):
    name = models.CharField(max_length=120)
    # Whose stories the rule is about. Only a network's lead may choose NETWORK.
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.OWN)
    # Who manages the rule: its owner, or any administrator.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_alert_rules"
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="alert_rules", blank=True
    )
    # Other addresses, each in one of the organisation's email domains.
    extra_addresses = ArrayField(models.EmailField(), default=list, blank=True)
    # No services: the whole organisation. Chosen services include their children.
    services = models.ManyToManyField(Service, blank=True)
    min_criticality = models.CharField(
        max_length=24, choices=Criticality.choices, default=Criticality.NOT_CRITICAL
    )
    # Network rules only. The member organisations (tenants.Organisation ids, public schema:
    # no foreign key across schemas) whose stories count; none: every consenting member.
    network_members = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # Network rules only. Stories about any of these types of service; none: any service.
    service_types = ArrayField(
        models.CharField(max_length=32, choices=ServiceType.choices), default=list, blank=True
    )
    # Any of these tags (none: any story). Network rules compare them by name.
    tags = models.ManyToManyField(Tag, blank=True)
    # Any of these words in the title or text, comma-separated (empty: any story).
    words = models.CharField(max_length=300, blank=True)
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.INSTANT
    )
    # Own rules only: also tell the recipients about emerging themes at the rule's services
    # (all of them when it names none), as soon as they are found (alerts/emerging.py).
    emerging_themes = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def word_list(self) -> list[str]:
        return [w.strip().lower() for w in self.words.split(",") if w.strip()]


class ResponseTarget(models.Model):
    """How long a story of one criticality may wait for its first response."""

    criticality = models.CharField(max_length=24, choices=Criticality.choices, unique=True)
    # "same day", "<n> days" (calendar) or "<n> hours" (working hours).
    allowance = models.CharField(max_length=20)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_criticality_display()}: {self.allowance}"


class BankHoliday(models.Model):
    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.name} ({self.date:%d %b %Y})"


class DeliveryKind(models.TextChoices):
    INSTANT = "instant", "Instant alert"
    DIGEST = "digest", "Digest"
    REMINDER = "reminder", "Response due soon"
    BREACH = "breach", "Response target missed"
    # Safeguarding concerns (alerts/safeguarding.py): to the designated contacts at once,
    # and to the administrators when nobody has acknowledged one in time.
    SAFEGUARDING = "safeguard", "Safeguarding concern"
    ESCALATION = "escalated", "Safeguarding concern not acknowledged"
    # A theme rising above its limit at a service (alerts/emerging.py).
    EMERGING = "emerging", "Emerging theme"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertDelivery(models.Model):
    """One email to one person about one thing. The key makes a repeat impossible."""

    # kind:rule-or-0:subject:recipient, e.g. "instant:3:story-41:jo@trust.example"
    key = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL)
    story = models.ForeignKey(Story, null=True, blank=True, on_delete=models.CASCADE)
    # A network alert's story: the hub's PublicStory id (a member's story, never copied here).
    public_story_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    stories_count = models.PositiveIntegerField(default=1)
    recipient = models.EmailField()
    reason = models.CharField(max_length=300)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"


class Evaluation(models.Model):
    """A story's alerts were worked out. Stories without one are found by the sweeper."""

    story = models.OneToOneField(Story, on_delete=models.CASCADE, related_name="alert_evaluation")
    evaluated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Alerts for {self.story_id} at {self.evaluated_at:%Y-%m-%d %H:%M}"


class NetworkEvaluation(models.Model):
    """A member's published story was checked against this lead's network rules. Stories
    without one are found by the sweeper (alerts/network_alerts.py)."""

    # The hub's PublicStory id (public schema: no foreign key across schemas).
    public_story_id = models.BigIntegerField(unique=True)
    evaluated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Network alerts for {self.public_story_id} at {self.evaluated_at:%Y-%m-%d %H:%M}"


def theme_label(kind: str, text: str) -> str:
    """How an emerging theme is named: a tag, a learned theme (feedback/topics.py), or a
    phrase of the stories."""
    if kind == "tag":
        return f"tag “{text}”"
    if kind == "topic":
        return f"learned theme “{text}”"
    return f"“{text}”"


class EmergingTheme(models.Model):
    """A theme that broke its limit at a service (its children's stories included) or across
    the whole organisation, found on one night (alerts/emerging.py). Kept so the alerts about
    it can name it, the page of emerging themes can list it, and it is not reported again
    there for QUIET_DAYS."""

    # None: the organisation as a whole.
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.CASCADE)
    theme_kind = models.CharField(max_length=10)  # "tag", "topic" or "phrase"
    theme = models.CharField(max_length=200)
    # The window's first day and the night it was found on (the day after its last).
    window_start = models.DateField()
    found_on = models.DateField()
    observed = models.PositiveIntegerField()
    expected = models.FloatField()
    limit = models.PositiveIntegerField()
    p_value = models.FloatField()
    # The stories behind it, newest first (at most STORIES_KEPT).
    story_ids = ArrayField(models.BigIntegerField(), default=list)
    # Other themes ("phrase:call bell") that broke their limit with the same stories: not
    # reported apart, and kept quiet with this one.
    also_themes = ArrayField(models.CharField(max_length=210), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Looked into by a responder or administrator, with what they found (alerts/emerging.py
    # `review_emerging_theme`).
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-found_on", "-observed", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "theme_kind", "theme", "found_on"],
                name="one_emerging_theme_a_night",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.theme} at {self.service_id or 'all services'} ({self.found_on})"

    @property
    def theme_label(self) -> str:
        return theme_label(self.theme_kind, self.theme)

    @property
    def also_labels(self) -> list[str]:
        return [key.partition(":")[2] for key in self.also_themes]
