"""The billing part of the demo: the trust pays (Organisation plan, active), the mental
health trust's last payment failed (past due, with its banner), the ICB is on the Network
plan. Made in the local Stripe server through the real library, like any payment.

Idempotent: an organisation that already has a subscription is left as it is. Without a
reachable Stripe (seed_demo run outside `make run`), the same states are recorded here
only, without Stripe ids, so the demo still shows them.

Registered as the demo's "billing" step (billing/apps.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import Subscription, SubscriptionStatus
from billing.plans import NETWORK, ORGANISATION, Interval, Plan
from billing.subscriptions import (
    apply_stripe_subscription,
    ensure_subscription,
    record_invoice,
    reference_for,
)
from billing.sync import sync_plans
from tenants.demo_steps import DemoContext
from tenants.models import Organisation

logger = logging.getLogger(__name__)

GOOD_CARD = "4242424242424242"
# Attaches, then every charge to it is declined (Stripe's and the local server's test card).
DECLINED_CARD = "4000000000000341"
# How long ago the demo's failed payment happened (of the 14-day grace period).
DEMO_PAST_DUE_DAYS = 3


@dataclass(frozen=True)
class DemoBilling:
    slug: str
    plan: Plan
    interval: Interval
    status: SubscriptionStatus


DEMO = [
    DemoBilling("northshire-hospitals", ORGANISATION, Interval.MONTHLY, SubscriptionStatus.ACTIVE),
    DemoBilling(
        "northshire-mental-health", ORGANISATION, Interval.ANNUAL, SubscriptionStatus.PAST_DUE
    ),
    DemoBilling("northshire-icb", NETWORK, Interval.ANNUAL, SubscriptionStatus.ACTIVE),
]


@dataclass(frozen=True)
class BillingLine:
    organisation: Organisation
    subscription: Subscription


def seed_billing_demo(organisations: list[Organisation]) -> tuple[list[BillingLine], str]:
    """Subscriptions for the demo organisations; returns them and where they live."""
    by_slug = {o.slug: o for o in organisations}
    where = "the local Stripe server" if stripe_api.uses_local_server() else "Stripe"
    try:
        if not stripe_api.is_configured():
            raise stripe_api.StripeUnavailable("Stripe is not configured")
        sync_plans()
        use_stripe = True
    except stripe_api.StripeUnavailable as exc:
        logger.warning("billing demo without Stripe: %s", exc)
        use_stripe = False
        where = "this database only (no Stripe server was reachable)"
    lines = []
    for demo in DEMO:
        organisation = by_slug.get(demo.slug)
        if organisation is None:
            continue
        row = ensure_subscription(
            reference=reference_for(organisation),
            name=organisation.name,
            email=f"admin@{organisation.email_domains[0]}" if organisation.email_domains else "",
            organisation=organisation,
        )
        if row.status == SubscriptionStatus.NONE:
            if use_stripe:
                _subscribe_in_stripe(row, demo)
            else:
                _record_locally(row, demo)
            row.refresh_from_db()
        lines.append(BillingLine(organisation, row))
    return lines, where


def _subscribe_in_stripe(row: Subscription, demo: DemoBilling) -> None:
    customer = stripe_api.create_customer(
        name=row.billing_name, email=row.billing_email, reference=row.reference
    )
    card = stripe_api.create_card_payment_method(
        number=GOOD_CARD, exp_month=12, exp_year=timezone.now().year + 3, cvc="123", name="Demo"
    )
    stripe_api.attach_payment_method(card["id"], customer["id"])
    # Past due: paid monthly with a good card, then the card is replaced by one that is
    # declined and the subscription moved to annual, whose first charge fails.
    first = Interval.MONTHLY if demo.status == SubscriptionStatus.PAST_DUE else demo.interval
    subscription = stripe_api.create_subscription(
        customer_id=customer["id"],
        plan_id=demo.plan.stripe_plan_id(first),
        reference=row.reference,
    )
    first_invoice = subscription.get("latest_invoice")
    if demo.status == SubscriptionStatus.PAST_DUE:
        declined = stripe_api.create_card_payment_method(
            number=DECLINED_CARD,
            exp_month=12,
            exp_year=timezone.now().year + 3,
            cvc="123",
            name="Demo",
        )
        stripe_api.attach_payment_method(declined["id"], customer["id"])
        item = (subscription.get("items") or {}).get("data", [{}])[0]
        subscription = stripe_api.change_subscription_plan(
            subscription["id"], item_id=item["id"], plan_id=demo.plan.stripe_plan_id(demo.interval)
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row = Subscription.objects.select_for_update().get(pk=row.pk)
        row.stripe_customer_id = customer["id"]
        row.save(update_fields=["stripe_customer_id"])
        apply_stripe_subscription(row, subscription, source="demo")
        for invoice_id in {first_invoice, subscription.get("latest_invoice")} - {None}:
            record_invoice(row, stripe_api.retrieve_invoice(str(invoice_id)))
        _backdate_past_due(row)


def _record_locally(row: Subscription, demo: DemoBilling) -> None:
    now = timezone.now()
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row = Subscription.objects.select_for_update().get(pk=row.pk)
        row.status = demo.status
        row.plan, row.interval = demo.plan.key, demo.interval.value
        row.current_period_end = now + timedelta(days=365 if demo.interval == "annual" else 30)
        row.past_due_since = now if demo.status == SubscriptionStatus.PAST_DUE else None
        row.synced_at = now
        row.save()
        _backdate_past_due(row)


def _backdate_past_due(row: Subscription) -> None:
    """The demo's payment failed a few days ago, so its banner counts down from then."""
    if row.status == SubscriptionStatus.PAST_DUE:
        row.past_due_since = timezone.now() - timedelta(days=DEMO_PAST_DUE_DAYS)
        row.save(update_fields=["past_due_since"])


def describe_billing(lines: list[BillingLine]) -> list[str]:
    """What `seed_demo` prints: each organisation's plan and state, and where to pay."""
    from billing.access import standing_of

    described = []
    for line in lines:
        row = line.subscription
        standing = standing_of(row)
        state = row.get_status_display().lower()
        if standing.grace_ends_at is not None:
            state += f", read-only from {standing.grace_ends_at:%-d %B %Y} unless paid (banner)"
        described.append(
            f"{line.organisation.name}: {row.get_plan_display()} plan, "
            f"{row.get_interval_display().lower()}, {state}; "
            f"{line.organisation.workspace_url('/billing/')}"
        )
    described.append("Pay locally with the test card 4242 4242 4242 4242 (any future expiry).")
    return described


def seed_billing_step(context: DemoContext) -> tuple[list[BillingLine], str]:
    return seed_billing_demo(context.organisations)


def describe_billing_demo(context: DemoContext) -> list[str]:
    lines, where = context.results["billing"]
    return [f"\n  Billing (in {where}):", *(f"    {line}" for line in describe_billing(lines))]
