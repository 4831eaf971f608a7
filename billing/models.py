"""Billing rows, all in the public schema: what Stripe knows, as last read back from it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing.plans import PLAN_CHOICES, Interval
from tenants.models import Organisation


class PlanPrice(models.Model):
    """One (plan, interval) as it exists in Stripe; written by `sync_plans`."""

    plan = models.CharField(max_length=32, choices=PLAN_CHOICES)
    interval = models.CharField(max_length=16, choices=Interval.choices)
    amount_pence = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    stripe_product_id = models.CharField(max_length=100)
    stripe_plan_id = models.CharField(max_length=100, unique=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "interval"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "interval"], name="one_price_per_plan_interval")
        ]

    def __str__(self) -> str:
        return self.stripe_plan_id


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses, plus NONE: no Stripe subscription yet."""

    NONE = "", "No subscription"
    INCOMPLETE = "incomplete", "Waiting for the first payment"
    INCOMPLETE_EXPIRED = "incomplete_expired", "First payment never made"
    TRIALING = "trialing", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment overdue"
    UNPAID = "unpaid", "Unpaid"
    CANCELED = "canceled", "Cancelled"
    PAUSED = "paused", "Paused"


# Statuses of a subscription that is still running (Stripe will charge it again).
LIVE_STATUSES = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)


class Subscription(models.Model):
    """An organisation's (or a sign-up's) Stripe customer and its current subscription.

    `reference` names the payer to Stripe (customer, subscription and Checkout metadata):
    `organisation:<id>` for an organisation, or whatever the sign-up wizard passes for a
    sign-up that has no organisation yet (`attach_organisation` links it later).
    """

    reference = models.CharField(max_length=80, unique=True)
    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscription",
    )
    billing_name = models.CharField(max_length=200, blank=True)
    billing_email = models.EmailField(blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(
        max_length=24,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.NONE,
        blank=True,
    )
    plan = models.CharField(max_length=32, choices=PLAN_CHOICES, blank=True)
    interval = models.CharField(max_length=16, choices=Interval.choices, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When we first saw the subscription past due; the grace period runs from here.
    past_due_since = models.DateTimeField(null=True, blank=True)
    # When the subscription was last read from Stripe (webhook, reconciliation, a change).
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reference"]

    def __str__(self) -> str:
        who = self.organisation.name if self.organisation_id else self.reference
        return f"{who}: {self.get_status_display().lower()}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class Invoice(models.Model):
    """A Stripe invoice of a subscription, as last read from Stripe (for the Billing page)."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=24)
    amount_due_pence = models.IntegerField(default=0)
    amount_paid_pence = models.IntegerField(default=0)
    currency = models.CharField(max_length=3, default="gbp")
    # Stripe's page for the invoice (real Stripe only; the local server has none).
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id

    @property
    def amount_display(self) -> str:
        from billing.plans import format_pence

        return (
            format_pence(self.amount_due_pence)
            if self.currency == "gbp"
            else (f"{self.amount_due_pence / 100:.2f} {self.currency.upper()}")
        )


class WebhookState(models.TextChoices):
    RECEIVED = "received"
    PROCESSING = "processing"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class WebhookEvent(models.Model):
    """A Stripe event, stored (verified) before it is acknowledged and processed once."""

    stripe_event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    state = models.CharField(
        max_length=16, choices=WebhookState.choices, default=WebhookState.RECEIVED
    )
    received_at = models.DateTimeField(default=timezone.now)
    # When a worker last took it; a claim older than WEBHOOK_STALE_CLAIM_SECONDS is taken again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # What processing did, or why it failed.
    outcome = models.TextField(blank=True)
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["state", "received_at"], name="billing_event_state_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"
