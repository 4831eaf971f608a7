"""An organisation signing itself up, in the public schema, before it has a workspace.

Nothing else exists until payment is confirmed: no organisation, no schema. Abandoning at
any step leaves only this row, which expires (`SIGNUP_LIFETIME`).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from billing.plans import PLAN_CHOICES, Interval
from tenants.models import Organisation, OrganisationKind, Region


class Step(models.TextChoices):
    DETAILS = "details", "Organisation details"
    ACCOUNT = "account", "Your account"
    VERIFY = "verify", "Confirm your email"
    PLAN = "plan", "Plan"
    PAYMENT = "payment", "Payment"
    PROVISIONING = "provisioning", "Setting up your workspace"
    READY = "ready", "Ready"
    FAILED = "failed", "Setting up failed"


class Signup(models.Model):
    # The wizard's handle, kept in the signer's session; never shown in a URL to others.
    token = models.CharField(max_length=64, unique=True)
    step = models.CharField(max_length=16, choices=Step.choices, default=Step.DETAILS)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    organisation_name = models.CharField(max_length=200)
    slug = models.CharField(max_length=40)
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    ods_code = models.CharField("ODS code", max_length=6, blank=True)
    region = models.CharField(max_length=32, choices=Region.choices, blank=True)
    website = models.URLField(blank=True)

    admin_name = models.CharField(max_length=150, blank=True)
    admin_email = models.EmailField(blank=True)
    # A password hash (Django's hashers), never the password.
    admin_password = models.CharField(max_length=128, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)

    plan = models.CharField(max_length=32, choices=PLAN_CHOICES, blank=True)
    interval = models.CharField(max_length=16, choices=Interval.choices, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    organisation = models.OneToOneField(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="signup"
    )
    # 0-100, and what the provisioning task is doing, for the progress page.
    progress = models.PositiveSmallIntegerField(default=0)
    progress_note = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organisation_name} ({self.get_step_display()})"

    @property
    def reference(self) -> str:
        """How billing and Stripe name this payer before it has an organisation."""
        return f"signup:{self.pk}"
