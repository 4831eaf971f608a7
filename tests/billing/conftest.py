"""Billing tests talk to the local Stripe server (localstripe) that the test launcher starts,
through the official library, over HTTP.

Only what that server lacks is stood in for, at the library's HTTP seam
(`billing.stripe_api.http_client`): Checkout Sessions and Billing Portal Sessions, answered
with payloads shaped like Stripe's. Events it does not send (checkout.session.completed, an
update on modify, a failed renewal) are posted by the tests as Stripe would send them,
signed with the library's own signature scheme.

The local server's state outlives each test's database transaction: tests make their own
customers and subscriptions and never rely on what others left there.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import stripe
from django.conf import settings
from django.db import transaction
from django.test import Client
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import Subscription, WebhookEvent, WebhookState
from billing.plans import ORGANISATION, Interval, Plan
from billing.subscriptions import ensure_subscription, reference_for
from billing.sync import sync_plans
from billing.webhooks import process_event
from tenants.models import Organisation
from tests.conftest import client_for

GOOD_CARD = "4242424242424242"
# Attaches, but every charge to it is declined.
DECLINED_CHARGE_CARD = "4000000000000341"
WEBHOOK_PATH = "/billing/webhooks/stripe/"
API_VERSION = "2026-10-28.endive"


@pytest.fixture(autouse=True)
def local_stripe() -> None:
    if not stripe_api.uses_local_server():
        pytest.skip("billing tests need the local Stripe server (run them with `make test`)")


@pytest.fixture
def plans(db: None) -> None:
    """Our plans in the local server and their PlanPrice rows (in the test's transaction)."""
    sync_plans()


def reset_local_stripe() -> None:
    """Empty the local server's store (its products and plans too)."""
    response = requests.delete(f"{settings.STRIPE_API_BASE}/_config/data", timeout=10)
    response.raise_for_status()


def local_count(kind: str) -> int:
    """How many products, plans... the local server holds (it lists them all at once)."""
    response = requests.get(
        f"{settings.STRIPE_API_BASE}/v1/{kind}",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {settings.STRIPE_API_KEY}"},
        timeout=10,
    )
    response.raise_for_status()
    return len(response.json()["data"])


# --- events, signed and delivered as Stripe does ------------------------------------------------


def stripe_event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """An event shaped like the ones Stripe sends (API version of stripe-python 16)."""
    return {
        "id": event_id or f"evt_test_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": API_VERSION,
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def signed(event: dict[str, Any], secret: str | None = None) -> tuple[str, str]:
    payload = json.dumps(event)
    return payload, stripe_api.signature_header(payload, secret or settings.STRIPE_WEBHOOK_SECRET)


def deliver(event: dict[str, Any], *, client: Client | None = None) -> Any:
    payload, header = signed(event)
    return (client or client_for(None)).post(
        WEBHOOK_PATH, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


def process_received() -> list[str]:
    """What a worker does with each stored event, in the order they arrived."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        ids = list(
            WebhookEvent.objects.filter(state=WebhookState.RECEIVED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return [process_event(pk) for pk in ids]


# --- subscriptions in the local server ----------------------------------------------------------


def row_for(organisation: Organisation) -> Subscription:
    return ensure_subscription(
        reference=reference_for(organisation),
        name=organisation.name,
        email=f"admin@{organisation.slug}.example",
        organisation=organisation,
    )


def subscribe_in_stripe(
    organisation: Organisation,
    plan: Plan = ORGANISATION,
    interval: Interval = Interval.MONTHLY,
    card: str = GOOD_CARD,
) -> dict[str, Any]:
    """A customer, card and subscription in the local server, as our payment makes them.

    The row learns its customer (as the card page records it); its status is left to the
    webhooks."""
    row = row_for(organisation)
    if not row.stripe_customer_id:
        customer = stripe_api.create_customer(
            name=row.billing_name, email=row.billing_email, reference=row.reference
        )
        Subscription.objects.filter(pk=row.pk).update(stripe_customer_id=customer["id"])
        row.refresh_from_db()
    method = stripe_api.create_card_payment_method(
        number=card, exp_month=12, exp_year=2031, cvc="123", name="Test"
    )
    stripe_api.attach_payment_method(method["id"], row.stripe_customer_id)
    return stripe_api.create_subscription(
        customer_id=row.stripe_customer_id,
        plan_id=plan.stripe_plan_id(interval),
        reference=row.reference,
    )


def activate(organisation: Organisation, **kwargs: Any) -> dict[str, Any]:
    """Subscribe in Stripe and deliver the created event, processed: the row is active."""
    subscription = subscribe_in_stripe(organisation, **kwargs)
    assert deliver(stripe_event("customer.subscription.created", subscription)).status_code == 200
    process_received()
    return subscription


def make_past_due(subscription: dict[str, Any]) -> dict[str, Any]:
    """The renewal fails: the customer's card is replaced by one that is declined and the
    next invoice (here, moving to annual) cannot be paid. Returns the failed invoice."""
    customer = subscription["customer"]
    method = stripe_api.create_card_payment_method(
        number=DECLINED_CHARGE_CARD, exp_month=12, exp_year=2031, cvc="123", name="Test"
    )
    stripe_api.attach_payment_method(method["id"], customer)
    item = subscription["items"]["data"][0]
    plan_id = item["plan"]["id"].replace("-monthly", "-annual")
    updated = stripe_api.change_subscription_plan(
        subscription["id"], item_id=item["id"], plan_id=plan_id
    )
    assert updated["status"] == "past_due"
    return stripe_api.retrieve_invoice(updated["latest_invoice"])


def refreshed(organisation: Organisation) -> Subscription:
    return Subscription.objects.get(organisation=organisation)


# --- the HTTP seam: Checkout and the Customer Portal, which the local server lacks --------------


@dataclass
class Seam(stripe.HTTPClient):
    """Answers Checkout and Billing Portal sessions like Stripe; sends everything else to
    the local server (also what the library addresses to Stripe itself, in tests that set
    STRIPE_API_BASE to nothing to be "real Stripe")."""

    real: stripe.HTTPClient
    local_base: str
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    name = "test-seam"

    def __post_init__(self) -> None:
        super().__init__()

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any
    ) -> tuple[bytes, int, dict[str, str]]:
        parts = urlsplit(url)
        params = dict(parse_qsl(post_data or parts.query or "", keep_blank_values=True))
        self.calls.append((method.upper(), parts.path, params))
        if method.lower() == "post" and parts.path == "/v1/checkout/sessions":
            return self._answer(self._checkout_session(params))
        if method.lower() == "get" and parts.path.startswith("/v1/checkout/sessions/"):
            return self._answer(self.sessions[parts.path.rsplit("/", 1)[1]])
        if method.lower() == "post" and parts.path == "/v1/billing_portal/sessions":
            return self._answer(self._portal_session(params))
        local = f"{self.local_base}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return self.real.request(method, local, headers, post_data)

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass

    @staticmethod
    def _answer(body: dict[str, Any]) -> tuple[bytes, int, dict[str, str]]:
        return json.dumps(body).encode(), 200, {"Request-Id": f"req_{secrets.token_hex(7)}"}

    def _checkout_session(self, params: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{secrets.token_hex(16)}"
        metadata = {
            key[len("metadata[") : -1]: value
            for key, value in params.items()
            if key.startswith("metadata[")
        }
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": None,
            "amount_total": None,
            "billing_address_collection": None,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": int(time.time()),
            "currency": "gbp",
            "customer": params.get("customer"),
            "customer_creation": None if params.get("customer") else "always",
            "customer_email": params.get("customer_email"),
            "expires_at": int(time.time()) + 86400,
            "invoice": None,
            "livemode": False,
            "locale": None,
            "metadata": metadata,
            "mode": params.get("mode"),
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        session["_line_items"] = [params.get("line_items[0][price]")]
        self.sessions[session_id] = session
        return {k: v for k, v in session.items() if not k.startswith("_")}

    def _portal_session(self, params: dict[str, str]) -> dict[str, Any]:
        token = secrets.token_hex(12)
        return {
            "id": f"bps_{token}",
            "object": "billing_portal.session",
            "configuration": f"bpc_{secrets.token_hex(12)}",
            "created": int(time.time()),
            "customer": params.get("customer"),
            "flow": None,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "return_url": params.get("return_url"),
            "url": f"https://billing.stripe.com/p/session/test_{token}",
        }

    def complete_checkout(self, session_id: str, subscription: dict[str, Any]) -> dict[str, Any]:
        """The session as Stripe sends it in checkout.session.completed, once paid."""
        session = {k: v for k, v in self.sessions[session_id].items() if not k.startswith("_")}
        session.update(
            status="complete",
            payment_status="paid",
            customer=subscription["customer"],
            subscription=subscription["id"],
            amount_total=subscription["items"]["data"][0]["plan"]["amount"],
            amount_subtotal=subscription["items"]["data"][0]["plan"]["amount"],
        )
        return session


@pytest.fixture
def seam(monkeypatch: pytest.MonkeyPatch) -> Iterator[Seam]:
    installed = Seam(real=stripe_api.http_client, local_base=settings.STRIPE_API_BASE)
    monkeypatch.setattr(stripe_api, "http_client", installed)
    yield installed


def committed(function: Callable[[], Any]) -> Any:
    with transaction.atomic():
        return function()
