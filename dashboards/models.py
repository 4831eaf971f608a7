"""Reports an organisation keeps: saved settings, schedules, and one delivery per recipient."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class ReportKind(models.TextChoices):
    SUMMARY = "summary", "Stories summary"
    YOU_SAID_WE_DID = "you-said-we-did", "You said, we did"


class SavedReport(models.Model):
    """A report's settings: a rolling number of whole months, or a fixed range."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=ReportKind.choices, default=ReportKind.SUMMARY)
    service = models.ForeignKey(
        "feedback.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Frequency(models.IntegerChoices):
    """How often, as the number of calendar months each report covers."""

    MONTHLY = 1, "Monthly"
    BIMONTHLY = 2, "Every two months"
    QUARTERLY = 3, "Quarterly"


class DeliveryMethod(models.TextChoices):
    ATTACHMENT = "attachment", "Report attached"
    LINK = "link", "A signed link to download it"


class ReportSchedule(models.Model):
    report = models.ForeignKey(SavedReport, on_delete=models.CASCADE, related_name="schedules")
    frequency = models.PositiveSmallIntegerField(choices=Frequency.choices)
    method = models.CharField(
        max_length=10, choices=DeliveryMethod.choices, default=DeliveryMethod.ATTACHMENT
    )
    recipients = ArrayField(models.EmailField(), default=list)
    # A network lead's schedule can also attach each consenting member's committee pack.
    network_members = models.BooleanField(default=False)
    # ... and send each consenting member its own pack, to the recipients its administrators
    # chose (MemberPackRecipients in the member's schema; dashboards/reports/member_packs.py).
    member_recipients = models.BooleanField(default=False)
    # Made by someone limited to some services: the only services (subtrees expanded) its
    # reports may count, whoever receives them. None: all. Each delivery is narrowed further
    # to its recipient's own services (dashboards/reports/delivering.py `report_file`).
    within = ArrayField(models.IntegerField(), null=True, blank=True)
    next_run_on = models.DateField()
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_run_on", "id"]

    def __str__(self) -> str:
        return f"{self.report} ({self.get_frequency_display().lower()})"


class ReportDeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"


class ReportDelivery(models.Model):
    """One report for one period to one person. The key makes a repeat impossible."""

    # schedule:start:end:recipient, e.g. "3:2026-01-01:2026-02-28:jo@trust.example"
    key = models.CharField(max_length=300, unique=True)
    schedule = models.ForeignKey(
        ReportSchedule, null=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    report_name = models.CharField(max_length=100)
    period_start = models.DateField()
    period_end = models.DateField()
    recipient = models.EmailField()
    # A member's own pack sent to that member's own recipient (a public tenants.Network and
    # tenants.Organisation pk, and the member's name then); empty for the lead's own reports.
    network_id = models.IntegerField(null=True, blank=True)
    member_id = models.IntegerField(null=True, blank=True, db_index=True)
    member_name = models.CharField(max_length=200, blank=True)
    method = models.CharField(max_length=10, choices=DeliveryMethod.choices)
    state = models.CharField(
        max_length=10, choices=ReportDeliveryState.choices, default=ReportDeliveryState.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "report deliveries"

    def __str__(self) -> str:
        return f"{self.report_name} to {self.recipient}"


class MemberPackRecipients(models.Model):
    """In a member's schema: which of its own staff receive a network lead's packs, one row per
    network it is in (a public tenants.Network pk). No row, or opted out, and nobody does."""

    network_id = models.IntegerField(unique=True)
    user_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    opted_out = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "member pack recipients"

    def __str__(self) -> str:
        return f"network {self.network_id}: " + (
            "opted out" if self.opted_out else f"{len(self.user_ids)} recipient(s)"
        )


class PublicPageSetting(models.Model):
    """One row per organisation: whether its You said, we did page is on the hub."""

    publish_you_said_we_did = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return "published" if self.publish_you_said_we_did else "not published"


class LongReportState(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Being made"
    DONE = "done", "Made"
    FAILED = "failed", "Failed"


class LongReport(models.Model):
    """One long PDF asked for, so the builds an organisation and a person have on the shared
    reports queue can be counted (the progress itself is in the cache)."""

    token = models.CharField(max_length=32, unique=True)
    kind = models.CharField(max_length=20)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=LongReportState.choices, default=LongReportState.QUEUED
    )
    # What was asked for, so a build whose task message was lost can be queued again
    # (long_reports.requeue_lost_builds). Empty on rows from before they were kept.
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    # The one service the report covers (a feedback.Service id in this schema), or none.
    service_id = models.IntegerField(null=True, blank=True)
    # Asked for by someone limited to some services (feedback/service_limits.py): the only
    # services (subtrees expanded) the report may count, applied by the worker. None: all.
    within = ArrayField(models.IntegerField(), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Moved on by the worker as it goes; a build not moved on for a while has a dead worker.
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_state_display().lower()})"


class CommitteeActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class CommitteeAction(models.Model):
    """In a network lead's schema: one action its quality committee agreed for a member (a
    public tenants.Network and tenants.Organisation pk), owned by someone at the member (a
    name or role, not an account). The member's committee pack shows it, and only that
    member's (dashboards/committee_actions.py)."""

    network_id = models.IntegerField()
    member_id = models.IntegerField()
    action = models.CharField(max_length=300)
    owner = models.CharField(max_length=150)
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=CommitteeActionStatus.choices, default=CommitteeActionStatus.OPEN
    )
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["network_id", "member_id"], name="committee_action_member")]

    def __str__(self) -> str:
        return f"{self.action} ({self.get_status_display().lower()})"
