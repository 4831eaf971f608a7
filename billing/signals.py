"""Signals other apps may listen to (onboarding, for one), sent after the change commits."""

from __future__ import annotations

from django.dispatch import Signal

# A subscription's status changed. Arguments: subscription (billing.models.Subscription),
# previous_status (str).
subscription_changed = Signal()
