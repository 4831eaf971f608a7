"""Nightly reconciliation: compare every subscription with Stripe and repair drift.

Webhooks can be missed (an endpoint down for longer than Stripe retries, an event type the
local Stripe server never sends, such as an update on modify). Each row is re-read from
Stripe and applied as a webhook would be; what changed is logged and audited.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import Subscription
from billing.subscriptions import BillingError, refresh_from_stripe

logger = logging.getLogger(__name__)


@dataclass
class ReconciliationReport:
    checked: int = 0
    repaired: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def reconcile_subscription(subscription_pk: int) -> list[str]:
    """Re-read one row's subscription from Stripe and apply it; returns the fields repaired."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row = Subscription.objects.select_for_update().get(pk=subscription_pk)
        return refresh_from_stripe(row, source="nightly reconciliation").changed


def reconcile_all() -> ReconciliationReport:
    report = ReconciliationReport()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        rows = list(
            Subscription.objects.exclude(stripe_customer_id="", stripe_subscription_id="")
            .order_by("pk")
            .values_list("pk", "reference")
        )
    for pk, reference in rows:
        report.checked += 1
        try:
            changed = reconcile_subscription(pk)
        except (stripe_api.StripeError, BillingError) as exc:
            report.failed[reference] = str(exc)
            logger.warning("reconciling %s failed: %s", reference, exc)
            continue
        if changed:
            report.repaired[reference] = changed
            logger.info("reconciliation repaired %s: %s", reference, ", ".join(changed))
    return report
