"""Starting a payment: Stripe Checkout with real Stripe, the local card page otherwise.

`start_payment` is what the sign-up wizard and the workspace's Billing page call. Both ways
end the same: Stripe creates the subscription and tells us by webhook
(billing/webhooks.py), which is what makes an organisation active.

The local card page exists because the local Stripe server has no Checkout. It takes a test
card (4242 4242 4242 4242) and creates the customer, card and subscription through the
same Stripe API. It is refused when Carevoice talks to real Stripe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import PlanPrice, Subscription, SubscriptionStatus
from billing.plans import Interval, Plan, get_interval, get_plan
from billing.subscriptions import BillingError, audit_billing, ensure_subscription, reference_for
from billing.sync import sync_plans
from tenants.models import Organisation, public_url

logger = logging.getLogger(__name__)

LOCAL_CARD_SALT = "billing.local-card"
LOCAL_CARD_MAX_AGE = 24 * 60 * 60
# What the person paying is told when Stripe cannot be reached before anything was charged.
PAYMENT_NOT_STARTED = (
    "The payment could not be started: Stripe, which takes it, could not be reached just "
    "now. Nothing was charged. Please try again in a few minutes."
)


@dataclass(frozen=True)
class Payer:
    """Who pays: an organisation, or a sign-up that has no organisation yet.

    `reference` is stable and unique per payer (`organisation:<id>` for organisations; the
    sign-up wizard uses its own, e.g. `signup:<id>`, and calls
    `billing.subscriptions.attach_organisation` once the organisation exists).
    """

    reference: str
    name: str
    email: str
    organisation: Organisation | None = None


def payer_for(organisation: Organisation, email: str = "") -> Payer:
    return Payer(reference_for(organisation), organisation.name, email, organisation)


def is_our_url(url: str) -> bool:
    """An absolute http(s) URL on the hub or a workspace: the only places we send people
    back to after paying."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    base = settings.BASE_DOMAIN
    return parts.scheme in ("http", "https") and (host == base or host.endswith(f".{base}"))


def start_payment(
    payer: Organisation | Payer,
    plan: Plan | str,
    interval: Interval | str,
    success_url: str,
    cancel_url: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> str:
    """Where to send the person paying: Stripe Checkout's URL, or the local card page's."""
    if isinstance(payer, Organisation):
        payer = payer_for(payer)
    plan = plan if isinstance(plan, Plan) else get_plan(plan)
    interval = get_interval(interval)
    for url in (success_url, cancel_url):
        if not is_our_url(url):
            raise BillingError("After paying, people can only be sent back to Carevoice.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        existing = Subscription.objects.filter(reference=payer.reference).first()
    if existing is not None and existing.is_live and existing.status != SubscriptionStatus.PAST_DUE:
        raise BillingError("This subscription is already paid; change its plan instead.")
    # Stripe first, rows after: Stripe unreachable leaves nothing written, and nothing paid.
    session: dict[str, Any] | None = None
    try:
        ensure_plans_synced(plan, interval)
        if not stripe_api.uses_local_server():
            session = stripe_api.create_checkout_session(
                plan_id=plan.stripe_plan_id(interval),
                reference=payer.reference,
                success_url=success_url,
                cancel_url=cancel_url,
                customer_id=existing.stripe_customer_id if existing else "",
                email=(existing.billing_email if existing else "") or payer.email,
            )
    except stripe_api.StripeUnavailable as exc:
        raise stripe_api.StripeUnavailable(PAYMENT_NOT_STARTED) from exc
    with transaction.atomic():
        row = ensure_subscription(
            reference=payer.reference,
            name=payer.name,
            email=payer.email,
            organisation=payer.organisation,
        )
        if session is None:
            url = local_card_url(row, plan, interval, success_url, cancel_url)
            where = "the local card page"
        else:
            url = str(session["url"])
            where = f"Stripe Checkout ({session['id']})"
        audit_billing(
            row,
            "billing.payment_started",
            f"Started paying for {plan.name} ({interval.label.lower()}) through {where}",
            actor=actor,
            request=request,
            detail={"plan": plan.key, "interval": interval.value},
        )
    return url


def ensure_plans_synced(plan: Plan, interval: Interval) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        known = PlanPrice.objects.filter(
            stripe_plan_id=plan.stripe_plan_id(interval), amount_pence=plan.price(interval)
        ).exists()
    if not known:
        sync_plans()


def portal_url(organisation: Organisation, return_url: str) -> str:
    """Stripe's Customer Portal for the organisation (real Stripe only)."""
    if stripe_api.uses_local_server():
        raise BillingError("The local Stripe server has no customer portal: use this page.")
    row = Subscription.objects.filter(organisation_id=organisation.pk).first()
    if row is None or not row.stripe_customer_id:
        raise BillingError("There is nothing to manage in Stripe yet: choose a plan first.")
    session = stripe_api.create_portal_session(
        customer_id=row.stripe_customer_id, return_url=return_url
    )
    return str(session["url"])


# --- the local card page -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalPayment:
    """What the local card page is paying for, read back from its signed URL."""

    reference: str
    plan: Plan
    interval: Interval
    success_url: str
    cancel_url: str


def local_card_url(
    row: Subscription, plan: Plan, interval: Interval, success_url: str, cancel_url: str
) -> str:
    token = signing.dumps(
        {
            "r": row.reference,
            "p": plan.key,
            "i": interval.value,
            "s": success_url,
            "c": cancel_url,
        },
        salt=LOCAL_CARD_SALT,
        compress=True,
    )
    path = reverse("billing:local_card", args=[token], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return public_url(settings.BASE_DOMAIN, path)


def read_local_payment(token: str) -> LocalPayment:
    try:
        data = signing.loads(token, salt=LOCAL_CARD_SALT, max_age=LOCAL_CARD_MAX_AGE)
        return LocalPayment(
            reference=str(data["r"]),
            plan=get_plan(str(data["p"])),
            interval=get_interval(str(data["i"])),
            success_url=str(data["s"]),
            cancel_url=str(data["c"]),
        )
    except signing.SignatureExpired:
        raise BillingError("This payment link has expired: start again.") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BillingError("This payment link is not valid.") from None


@dataclass(frozen=True)
class Card:
    name: str
    number: str
    exp_month: int
    exp_year: int
    cvc: str


def pay_with_local_card(payment: LocalPayment, card: Card, *, request: HttpRequest | None) -> str:
    """Pay on the local Stripe server; returns the Stripe subscription (or invoice) paid.

    Nothing here marks the organisation paid: Stripe's webhook does that, as it would after
    Checkout. Raises CardDeclined (from billing.stripe_api) or BillingError.
    """
    if not stripe_api.uses_local_server():
        raise BillingError("Payments are taken by Stripe Checkout.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = Subscription.objects.filter(reference=payment.reference).first()
        if row is None:
            raise BillingError("This payment link is not valid.")
        try:
            _prepare_card(row, card)
        except stripe_api.StripeUnavailable as exc:
            raise stripe_api.StripeUnavailable(PAYMENT_NOT_STARTED) from exc
        paid = _settle(row, payment)
        with transaction.atomic():
            audit_billing(
                row,
                "billing.card_payment",
                f"Paid for {payment.plan.name} ({payment.interval.label.lower()}) by card "
                f"ending {card.number[-4:]} on the local Stripe server",
                actor=None,
                actor_label=f"card holder: {card.name}"[:254],
                request=request,
                detail={"stripe": paid},
            )
    return paid


def _prepare_card(row: Subscription, card: Card) -> None:
    """The payer's customer and card in Stripe, before anything is charged."""
    if not row.stripe_customer_id:
        # Kept even if the card is then declined, so a second try reuses the customer.
        customer = stripe_api.create_customer(
            name=row.billing_name, email=row.billing_email, reference=row.reference
        )
        Subscription.objects.filter(pk=row.pk, stripe_customer_id="").update(
            stripe_customer_id=customer["id"]
        )
        row.refresh_from_db()
    method = stripe_api.create_card_payment_method(
        number=card.number,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        cvc=card.cvc,
        name=card.name,
    )
    stripe_api.attach_payment_method(method["id"], row.stripe_customer_id)


def _settle(row: Subscription, payment: LocalPayment) -> str:
    if row.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
        # Overdue: pay what is owed on the running subscription, with the new card.
        current = stripe_api.retrieve_subscription(row.stripe_subscription_id)
        invoice_id = current.get("latest_invoice")
        if isinstance(invoice_id, dict):
            invoice_id = invoice_id.get("id")
        if invoice_id:
            invoice = stripe_api.retrieve_invoice(str(invoice_id))
            if invoice.get("status") == "open":
                paid = stripe_api.pay_invoice(str(invoice_id))
                if paid.get("status") != "paid":
                    raise stripe_api.CardDeclined("The card was declined.")
                return str(invoice_id)
    if row.is_live and row.status != SubscriptionStatus.PAST_DUE:
        raise BillingError("This subscription is already paid.")
    created = stripe_api.create_subscription(
        customer_id=row.stripe_customer_id,
        plan_id=payment.plan.stripe_plan_id(payment.interval),
        reference=row.reference,
    )
    if created.get("status") not in ("active", "trialing"):
        # The first payment failed: end the attempt, so the next try starts clean.
        stripe_api.cancel_subscription(str(created["id"]))
        raise stripe_api.CardDeclined("The card was declined.")
    return str(created["id"])
