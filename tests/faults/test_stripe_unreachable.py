"""Fault: the Stripe API is unreachable during checkout, and during webhook processing.

Unreachable at its seam, for real: the official library sends its requests over HTTP to a
port on 127.0.0.1 where nothing listens, so every call is refused (and retried by the
library, as it would be against Stripe). With the local Stripe server that is
STRIPE_API_BASE pointed at the closed port; as Stripe itself (Checkout, which the local
server lacks), it is the library's HTTP client sending Stripe's requests there until
Stripe is "back", then to the tests' seam (tests/billing/conftest.py).

Shown, for each: the person gets a clear message and a 503 (never a 500) saying what did
not happen and that nothing was charged; nothing is half-written (no payer row, customer,
Checkout session or audit row; a sign-up stays at its payment step); once Stripe is back
the same action works once. A webhook is acknowledged (200) as soon as it is stored, kept
while Stripe cannot be reached, retried by the sweeper however long that lasts, and
processed exactly once when Stripe answers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing import stripe_api
from billing import tasks as billing_tasks
from billing.models import Subscription, SubscriptionStatus, WebhookEvent, WebhookState
from billing.webhooks import MAX_AUTOMATIC_ATTEMPTS
from onboarding.signup.models import Signup, Step
from tenants.audit.models import AuditEvent
from tests.billing.conftest import (  # noqa: F401 - fixtures
    Seam,
    activate,
    deliver,
    local_stripe,
    plans,
    refreshed,
    stripe_event,
    subscribe_in_stripe,
)
from tests.conftest import Cast, client_for, sign_in
from tests.signup.test_signup import hub, through_to_payment

# Our plans in the local Stripe server, and their rows (tests/billing/conftest.py).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plans")]

CARD = {"name": "Alex Morgan", "number": "4242 4242 4242 4242", "expiry": "12/31", "cvc": "123"}
NOTHING_CHARGED = "Nothing was charged"


def closed_base() -> str:
    """An address where nothing listens: every connection to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def local_stripe_unreachable() -> override_settings:
    """The local Stripe server's address swapped for one where nothing listens."""
    return override_settings(STRIPE_API_BASE=closed_base())


@dataclass
class Outage(stripe.HTTPClient):
    """The library's HTTP seam when Carevoice talks to Stripe itself: while `down`, each
    request goes over HTTP to a closed port (refused); otherwise to the tests' seam, which
    answers Checkout like Stripe and sends the rest to the local server."""

    seam: Seam
    closed: str
    down: bool = True
    name = "outage"

    def __post_init__(self) -> None:
        super().__init__()

    def request(
        self, method: str, url: str, headers: Any, post_data: Any = None, **kwargs: Any
    ) -> tuple[bytes, int, dict[str, str]]:
        if not self.down:
            return self.seam.request(method, url, headers, post_data)
        parts = urlsplit(url)
        refused = f"{self.closed}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return self.seam.real.request(method, refused, headers, post_data)

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass


@pytest.fixture
def stripe_itself_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    """Carevoice set up for Stripe itself (Checkout), which cannot be reached until
    `outage.down` is set False."""
    seam = Seam(real=stripe_api.http_client, local_base=settings.STRIPE_API_BASE)
    outage = Outage(seam=seam, closed=closed_base())
    monkeypatch.setattr(stripe_api, "http_client", outage)
    with override_settings(STRIPE_API_BASE=""):
        yield outage


def admin_of(cast: Cast, organisation: Any = None) -> Client:
    organisation = organisation or cast.org_a
    client = client_for(organisation)
    email = cast.admin_a.email if organisation == cast.org_a else cast.admin_b.email
    assert sign_in(client, email).status_code == 302
    return client


def audit_actions(organisation: Any, action: str) -> int:
    with tenant_context(organisation):
        return AuditEvent.objects.filter(action=action).count()


def hub_audit_actions(action: str) -> int:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return AuditEvent.objects.filter(action=action).count()


def assert_unavailable_page(response: Any, *phrases: str) -> None:
    assert response.status_code == 503, response.status_code
    page = response.content.decode()
    assert "could not be reached just now" in page and "try again" in page
    for phrase in phrases:
        assert phrase in page, phrase


# --- checkout ------------------------------------------------------------------------------


def test_paying_by_card_while_stripe_is_unreachable_charges_nothing_then_pays_once(
    cast: Cast,
) -> None:
    admin = admin_of(cast)
    started = admin.post("/billing/pay/", {"plan": "organisation", "interval": "monthly"})
    assert started.status_code == 302
    card_page = "/" + started["Location"].split("/", 3)[3]
    hub_client = client_for(None)

    with local_stripe_unreachable():
        refused = hub_client.post(card_page, CARD)
    assert_unavailable_page(refused, NOTHING_CHARGED, "payment could not be started")
    assert 'value="Alex Morgan"' in refused.content.decode()  # the form, as they filled it
    row = refreshed(cast.org_a)
    assert row.stripe_customer_id == "" and row.status == SubscriptionStatus.NONE
    assert audit_actions(cast.org_a, "billing.card_payment") == 0

    # Stripe is back: the same form pays, once.
    paid = hub_client.post(card_page, CARD)
    assert paid.status_code == 302 and paid["Location"].endswith("/billing/?paid=1")
    row.refresh_from_db()
    subscriptions = stripe_api.list_subscriptions(row.stripe_customer_id)
    assert len(subscriptions) == 1 and subscriptions[0]["status"] == "active"
    assert audit_actions(cast.org_a, "billing.card_payment") == 1


def test_a_plan_change_while_stripe_is_unreachable_changes_nothing_then_changes_once(
    cast: Cast,
) -> None:
    subscription = activate(cast.org_a)
    admin = admin_of(cast)
    change = {"plan": "organisation", "interval": "annual"}

    with local_stripe_unreachable():
        refused = admin.post("/billing/change/", change)
    assert_unavailable_page(refused, "Your plan has not changed and nothing was charged")
    row = refreshed(cast.org_a)
    assert (row.plan, row.interval, row.status) == ("organisation", "monthly", "active")
    assert audit_actions(cast.org_a, "billing.plan_changed") == 0

    changed = admin.post("/billing/change/", change)
    assert changed.status_code == 302
    row.refresh_from_db()
    assert (row.plan, row.interval) == ("organisation", "annual")
    assert audit_actions(cast.org_a, "billing.plan_changed") == 1
    items = stripe_api.retrieve_subscription(subscription["id"])["items"]["data"]
    assert [item["plan"]["id"] for item in items] == ["carevoice-organisation-annual"]


def test_checkout_while_stripe_is_unreachable_writes_nothing_then_starts_once(
    cast: Cast, stripe_itself_unreachable: Outage
) -> None:
    admin = admin_of(cast, cast.org_b)
    choice = {"plan": "essentials", "interval": "monthly"}

    refused = admin.post("/billing/pay/", choice)
    assert_unavailable_page(refused, NOTHING_CHARGED)
    assert not Subscription.objects.filter(organisation=cast.org_b).exists()
    assert audit_actions(cast.org_b, "billing.payment_started") == 0
    assert stripe_itself_unreachable.seam.sessions == {}

    stripe_itself_unreachable.down = False
    started = admin.post("/billing/pay/", choice)
    assert started.status_code == 302
    assert started["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert Subscription.objects.filter(organisation=cast.org_b).count() == 1
    assert len(stripe_itself_unreachable.seam.sessions) == 1
    assert audit_actions(cast.org_b, "billing.payment_started") == 1


def test_the_sign_up_payment_step_while_stripe_is_unreachable_stays_at_its_step(
    cast: Cast, stripe_itself_unreachable: Outage
) -> None:
    client = hub()
    signup = through_to_payment(client)

    refused = client.post("/signup/payment/")
    assert_unavailable_page(refused, NOTHING_CHARGED, "Pay by card")
    signup.refresh_from_db()
    assert signup.step == Step.PAYMENT and signup.paid_at is None
    assert not Subscription.objects.filter(reference=signup.reference).exists()
    assert hub_audit_actions("billing.payment_started") == 0
    assert stripe_itself_unreachable.seam.sessions == {}
    assert client.get("/signup/payment/").status_code == 200  # still the payment step

    stripe_itself_unreachable.down = False
    started = client.post("/signup/payment/")
    assert started.status_code == 302
    assert started["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert Subscription.objects.filter(reference=signup.reference).count() == 1
    assert len(stripe_itself_unreachable.seam.sessions) == 1
    assert Signup.objects.get(pk=signup.pk).step == Step.PAYMENT  # until Stripe confirms


# --- webhook processing --------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Event ids queued for a worker; the test runs the task's body itself."""
    sent: list[int] = []
    monkeypatch.setattr(billing_tasks.process_webhook_event, "delay", sent.append)
    return sent


def time_passes(event: WebhookEvent) -> None:
    """The sweeper's next run, minutes later."""
    earlier = timezone.now() - timedelta(minutes=5)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=earlier, claimed_at=earlier)


def sweep(queued: list[int], event: WebhookEvent) -> bool:
    """Run the sweeper; whether it queued `event` (other tests' rows may be queued too)."""
    queued.clear()
    billing_tasks.sweep_webhook_events()
    return event.pk in queued


def test_a_webhook_while_stripe_is_unreachable_is_kept_retried_and_processed_once(
    cast: Cast, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    event = stripe_event("customer.subscription.created", subscription)

    with local_stripe_unreachable():
        # The endpoint needs no Stripe API: stored, acknowledged, queued.
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(event)
        assert response.status_code == 200 and response.json()["duplicate"] is False
        # Stripe, unsure, delivers it again: acknowledged, stored once.
        assert deliver(event).json()["duplicate"] is True
        stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
        assert queued == [stored.pk]

        # The worker's try: Stripe cannot be reached, so nothing is applied; the event is
        # kept, with the reason, for the sweeper.
        assert billing_tasks.process_webhook_event(stored.pk) == WebhookState.FAILED
        stored.refresh_from_db()
        assert stored.attempts == 1 and "could not be reached" in stored.outcome
        assert "tries again" in stored.outcome
        assert refreshed(cast.org_a).status == SubscriptionStatus.NONE

        # The sweeper tries again, and again through a long outage, past the limit that
        # ends retries of events that fail for other reasons.
        time_passes(stored)
        assert sweep(queued, stored)
        assert billing_tasks.process_webhook_event(stored.pk) == WebhookState.FAILED
        WebhookEvent.objects.filter(pk=stored.pk).update(attempts=MAX_AUTOMATIC_ATTEMPTS + 3)
        time_passes(stored)
        assert sweep(queued, stored)
        assert refreshed(cast.org_a).status == SubscriptionStatus.NONE

    # Stripe answers again: the sweeper's next run processes it, once.
    assert billing_tasks.process_webhook_event(stored.pk) == WebhookState.PROCESSED
    stored.refresh_from_db()
    assert stored.state == WebhookState.PROCESSED and stored.subscription is not None
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE
    assert audit_actions(cast.org_a, "billing.status_changed") == 1
    # Nothing runs it twice: not the sweeper, a redelivered task, or Stripe delivering again.
    time_passes(stored)
    assert not sweep(queued, stored)
    assert billing_tasks.process_webhook_event(stored.pk) == WebhookState.PROCESSED
    assert deliver(event).json()["duplicate"] is True
    assert WebhookEvent.objects.filter(stripe_event_id=event["id"]).count() == 1
    assert audit_actions(cast.org_a, "billing.status_changed") == 1
