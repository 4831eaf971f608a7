"""The one module that talks to Stripe (and the only one that imports `stripe`).

Everything goes to `settings.STRIPE_API_BASE`: Stripe itself when it is unset, the local
Stripe server (localstripe, started by `make run` and `make test`) when it names one.
Functions take and return plain values and dicts (stripe-python 16's objects are not
dicts; `to_dict()` turns them into ones), and raise the errors below, never stripe's own.

`http_client` is the library's HTTP seam: tests replace it to answer what the local
server does not implement (Checkout and Billing Portal sessions), and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import stripe
from django.conf import settings

P = ParamSpec("P")
R = TypeVar("R")

# Metadata key under which customers, subscriptions and sessions carry the payer.
REFERENCE_KEY = "carevoice_reference"

# The library's HTTP client, shared so its connections are reused. Replaced by tests.
http_client: stripe.HTTPClient = stripe.RequestsClient(timeout=(5, 30))


class StripeError(Exception):
    """Stripe refused or could not be reached; the message is fit to show an administrator."""


class StripeUnavailable(StripeError):
    """Stripe is not configured, unreachable or failing: try again later."""


class StripeNotFound(StripeError):
    pass


class CardDeclined(StripeError):
    pass


class InvalidSignature(Exception):
    """A webhook whose Stripe-Signature is missing, malformed or wrong."""


def is_configured() -> bool:
    return bool(settings.STRIPE_API_KEY)


def uses_local_server() -> bool:
    """True when STRIPE_API_BASE names a server other than Stripe's own (the local one):
    it has no Checkout or Customer Portal, so payment takes the local card page instead."""
    base = (settings.STRIPE_API_BASE or "").rstrip("/")
    return bool(base) and base != stripe.DEFAULT_API_BASE


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_API_KEY:
        raise StripeUnavailable(
            "Stripe is not configured: set STRIPE_API_KEY (or run `make run`, which starts "
            "a local Stripe server)."
        )
    base = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_API_KEY,
        base_addresses={"api": base.rstrip("/")} if base else None,
        http_client=http_client,
        max_network_retries=2,
    )


def _translated(function: Callable[P, R]) -> Callable[P, R]:
    """Turn stripe's exceptions into ours."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except stripe.CardError as exc:
            raise CardDeclined(exc.user_message or "The card was declined.") from exc
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404:
                raise StripeNotFound(exc.user_message or "Not found in Stripe.") from exc
            raise StripeError(exc.user_message or "Stripe refused the request.") from exc
        except (stripe.APIConnectionError, stripe.AuthenticationError, stripe.APIError) as exc:
            raise StripeUnavailable(
                "Stripe could not be reached just now; please try again in a few minutes."
            ) from exc
        except stripe.StripeError as exc:
            raise StripeError(exc.user_message or "Stripe refused the request.") from exc

    return wrapped


def _dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict(for_json=True)


# --- products and plans -----------------------------------------------------------------------


@_translated
def retrieve_product(product_id: str) -> dict[str, Any] | None:
    try:
        return _dict(_client().v1.products.retrieve(product_id))
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise


def _already_exists(exc: stripe.StripeError) -> bool:
    """Stripe refused to create an object under an id that is taken: `resource_already_exists`
    (HTTP 400) from Stripe, 409 from the local Stripe server."""
    return exc.code == "resource_already_exists" or exc.http_status == 409


@_translated
def create_product(product_id: str, name: str, description: str) -> dict[str, Any]:
    """Create the product; if another sync made it meanwhile, the one that is there."""
    params = {"id": product_id, "name": name, "description": description}
    try:
        return _dict(_client().v1.products.create(params=params))
    except stripe.StripeError as exc:
        if not _already_exists(exc):
            raise
    return _dict(_client().v1.products.retrieve(product_id))


@_translated
def update_product(product_id: str, name: str, description: str) -> dict[str, Any]:
    params = {"name": name, "description": description}
    return _dict(_client().v1.products.update(product_id, params=params))


@_translated
def retrieve_plan(plan_id: str) -> dict[str, Any] | None:
    try:
        return _dict(_client().v1.plans.retrieve(plan_id))
    except stripe.InvalidRequestError as exc:
        if exc.http_status == 404:
            return None
        raise


@_translated
def create_plan(
    plan_id: str, *, product_id: str, amount: int, currency: str, interval: str, nickname: str
) -> dict[str, Any]:
    """Create the plan; if another sync made it meanwhile, the one that is there."""
    params = {
        "id": plan_id,
        "product": product_id,
        "amount": amount,
        "currency": currency,
        "interval": interval,
        "nickname": nickname,
    }
    try:
        return _dict(_client().v1.plans.create(params=params))
    except stripe.StripeError as exc:
        if not _already_exists(exc):
            raise
    return _dict(_client().v1.plans.retrieve(plan_id))


# --- customers and cards ----------------------------------------------------------------------


@_translated
def create_customer(*, name: str, email: str, reference: str) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "metadata": {REFERENCE_KEY: reference}}
    if email:
        params["email"] = email
    return _dict(_client().v1.customers.create(params=params))


@_translated
def retrieve_customer(customer_id: str) -> dict[str, Any]:
    return _dict(_client().v1.customers.retrieve(customer_id))


@_translated
def create_card_payment_method(
    *, number: str, exp_month: int, exp_year: int, cvc: str, name: str
) -> dict[str, Any]:
    """A card from raw numbers: the local Stripe server only (real Stripe takes card
    numbers through Checkout, never through our servers)."""
    if not uses_local_server():
        raise StripeError("Cards are taken by Stripe Checkout, not by Carevoice.")
    params = {
        "type": "card",
        "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
        "billing_details": {"name": name},
    }
    return _dict(_client().v1.payment_methods.create(params=params))


@_translated
def attach_payment_method(payment_method_id: str, customer_id: str) -> dict[str, Any]:
    """Attach a card to the customer and make it the one invoices are charged to."""
    client = _client()
    attached = client.v1.payment_methods.attach(payment_method_id, params={"customer": customer_id})
    client.v1.customers.update(
        customer_id, params={"invoice_settings": {"default_payment_method": payment_method_id}}
    )
    return _dict(attached)


# --- subscriptions and invoices ---------------------------------------------------------------


@_translated
def create_subscription(*, customer_id: str, plan_id: str, reference: str) -> dict[str, Any]:
    params = {
        "customer": customer_id,
        "items": [{"plan": plan_id}],
        "metadata": {REFERENCE_KEY: reference},
    }
    return _dict(_client().v1.subscriptions.create(params=params))


@_translated
def retrieve_subscription(subscription_id: str) -> dict[str, Any]:
    return _dict(_client().v1.subscriptions.retrieve(subscription_id))


@_translated
def list_subscriptions(customer_id: str) -> list[dict[str, Any]]:
    """Every subscription of the customer, cancelled ones included, newest first."""
    found = _client().v1.subscriptions.list(
        params={"customer": customer_id, "status": "all", "limit": 100}
    )
    subscriptions = [_dict(item) for item in found.data]
    return sorted(subscriptions, key=lambda s: s.get("created") or 0, reverse=True)


@_translated
def change_subscription_plan(subscription_id: str, *, item_id: str, plan_id: str) -> dict[str, Any]:
    # Stripe prorates by default; the local server refuses `proration_behavior`.
    params = {"items": [{"id": item_id, "plan": plan_id}]}
    return _dict(_client().v1.subscriptions.update(subscription_id, params=params))


@_translated
def set_cancel_at_period_end(subscription_id: str, cancel: bool) -> dict[str, Any]:
    params = {"cancel_at_period_end": cancel}
    return _dict(_client().v1.subscriptions.update(subscription_id, params=params))


@_translated
def cancel_subscription(subscription_id: str) -> dict[str, Any]:
    """End the subscription now."""
    return _dict(_client().v1.subscriptions.cancel(subscription_id))


@_translated
def retrieve_invoice(invoice_id: str) -> dict[str, Any]:
    return _dict(_client().v1.invoices.retrieve(invoice_id))


@_translated
def pay_invoice(invoice_id: str) -> dict[str, Any]:
    """Charge an open invoice to the customer's default card now."""
    return _dict(_client().v1.invoices.pay(invoice_id))


@_translated
def list_invoices(customer_id: str) -> list[dict[str, Any]]:
    found = _client().v1.invoices.list(params={"customer": customer_id, "limit": 24})
    return [_dict(item) for item in found.data]


# --- Checkout and the Customer Portal (real Stripe only) ---------------------------------------


@_translated
def create_checkout_session(
    *,
    plan_id: str,
    reference: str,
    success_url: str,
    cancel_url: str,
    customer_id: str = "",
    email: str = "",
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": plan_id, "quantity": 1}],
        "client_reference_id": reference,
        "metadata": {REFERENCE_KEY: reference},
        "subscription_data": {"metadata": {REFERENCE_KEY: reference}},
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if customer_id:
        params["customer"] = customer_id
    elif email:
        params["customer_email"] = email
    return _dict(_client().v1.checkout.sessions.create(params=params))


@_translated
def create_portal_session(*, customer_id: str, return_url: str) -> dict[str, Any]:
    params = {"customer": customer_id, "return_url": return_url}
    return _dict(_client().v1.billing_portal.sessions.create(params=params))


# --- webhooks ---------------------------------------------------------------------------------


def construct_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """The verified event, as a dict; InvalidSignature when the signature does not verify."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set, so no webhook can be verified.")
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", secret)
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignature(str(exc).split(".")[0]) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSignature("The body is not a JSON event.") from exc
    return _dict(event)


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe would send with `payload` (tests, the benchmark)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)
