"""Stripe webhooks: verified, stored once, acknowledged, processed once, in any order."""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing import stripe_api, webhooks
from billing.models import Invoice, Subscription, SubscriptionStatus, WebhookEvent, WebhookState
from billing.plans import NETWORK, ORGANISATION, Interval
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.billing.conftest import (
    WEBHOOK_PATH,
    deliver,
    make_past_due,
    process_received,
    refreshed,
    row_for,
    signed,
    stripe_event,
    subscribe_in_stripe,
)
from tests.conftest import PASSWORD, Cast, client_for, pass_second_factor

pytestmark = pytest.mark.django_db


def _post(payload: str, **headers: str):  # noqa: ANN202
    return client_for(None).post(WEBHOOK_PATH, payload, content_type="application/json", **headers)


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(cast: Cast, plans) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    event = stripe_event("customer.subscription.created", subscription)
    payload, good = signed(event)
    _, wrong_secret = signed(event, secret="whsec_not_ours")

    assert _post(payload).status_code == 400
    assert _post(payload, HTTP_STRIPE_SIGNATURE="").status_code == 400
    assert _post(payload, HTTP_STRIPE_SIGNATURE=wrong_secret).status_code == 400
    assert _post(payload, HTTP_STRIPE_SIGNATURE="t=1,v1=garbage").status_code == 400
    tampered = payload.replace('"active"', '"canceled"')
    assert tampered != payload
    assert _post(tampered, HTTP_STRIPE_SIGNATURE=good).status_code == 400
    old = stripe_api.signature_header(
        payload, settings.STRIPE_WEBHOOK_SECRET, int(time.time()) - 900
    )
    assert _post(payload, HTTP_STRIPE_SIGNATURE=old).status_code == 400  # a replay, too old

    assert not WebhookEvent.objects.exists()
    assert refreshed(cast.org_a).status == SubscriptionStatus.NONE

    response = _post(payload, HTTP_STRIPE_SIGNATURE=good)
    assert response.status_code == 200
    assert response.json() == {"received": event["id"], "duplicate": False}


def test_only_post_is_accepted_and_a_signed_non_event_is_refused(cast: Cast) -> None:
    assert client_for(None).get(WEBHOOK_PATH).status_code == 405
    payload = json.dumps({"object": "event", "hello": "no id or type"})
    header = stripe_api.signature_header(payload, settings.STRIPE_WEBHOOK_SECRET)
    assert _post(payload, HTTP_STRIPE_SIGNATURE=header).status_code == 400
    header = stripe_api.signature_header("not json", settings.STRIPE_WEBHOOK_SECRET)
    assert _post("not json", HTTP_STRIPE_SIGNATURE=header).status_code == 400
    assert not WebhookEvent.objects.exists()
    # Not on a workspace: the endpoint is the hub's.
    assert client_for(cast.org_a).post(WEBHOOK_PATH, payload, content_type="x").status_code == 404


def test_acknowledging_only_stores_and_queues_after_the_commit(
    cast: Cast, plans, django_capture_on_commit_callbacks
) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = deliver(stripe_event("customer.subscription.created", subscription))
    assert response.status_code == 200
    assert len(callbacks) == 1  # the processing task, sent once the row is committed
    event = WebhookEvent.objects.get()
    assert event.state == WebhookState.RECEIVED and event.attempts == 0
    assert refreshed(cast.org_a).status == SubscriptionStatus.NONE  # nothing applied yet


def test_a_duplicate_is_acknowledged_and_processed_once(cast: Cast, plans) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    event = stripe_event("customer.subscription.created", subscription)
    first, second = deliver(event), deliver(event)
    assert first.status_code == second.status_code == 200
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1

    assert process_received() == [WebhookState.PROCESSED]
    stored = WebhookEvent.objects.get()
    assert deliver(event).json()["duplicate"] is True
    assert process_received() == []
    assert webhooks.process_event(stored.pk) == WebhookState.PROCESSED  # a repeated task
    stored.refresh_from_db()
    assert stored.attempts == 1
    row = refreshed(cast.org_a)
    assert row.status == SubscriptionStatus.ACTIVE
    assert (row.plan, row.interval) == ("organisation", "monthly")
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="billing.status_changed").count() == 1


def test_events_out_of_order_end_in_stripes_state(cast: Cast, plans) -> None:
    """A stale "created" (active) arrives after "deleted": the subscription is re-read, so
    the late event cannot bring a cancelled subscription back."""
    subscription = subscribe_in_stripe(cast.org_a)
    created = stripe_event("customer.subscription.created", subscription)
    deleted_snapshot = stripe_api.cancel_subscription(subscription["id"])
    deleted = stripe_event("customer.subscription.deleted", deleted_snapshot)

    deliver(deleted)
    process_received()
    assert refreshed(cast.org_a).status == SubscriptionStatus.CANCELED
    deliver(created)
    assert process_received() == [WebhookState.PROCESSED]
    assert refreshed(cast.org_a).status == SubscriptionStatus.CANCELED


def _lifecycle_events(cast: Cast) -> tuple[list[dict], str]:
    """About fifty events of one organisation's subscription: created, paid, a plan change,
    a failed renewal, paid again, cancelled, with the snapshots Stripe had at each moment."""
    events: list[dict] = []
    subscription = subscribe_in_stripe(cast.org_a)
    events.append(stripe_event("customer.subscription.created", subscription))
    first_invoice = stripe_api.retrieve_invoice(subscription["latest_invoice"])
    events += [
        stripe_event("invoice.paid", first_invoice),
        stripe_event("invoice.payment_succeeded", first_invoice),
    ]
    for step in range(8):
        events.append(
            stripe_event(
                "customer.subscription.updated",
                stripe_api.retrieve_subscription(subscription["id"]),
                created=int(time.time()) + step,
            )
        )
    failed = make_past_due(subscription)
    current = stripe_api.retrieve_subscription(subscription["id"])
    events += [stripe_event("invoice.payment_failed", failed)] * 1
    events += [stripe_event("customer.subscription.updated", current) for _ in range(6)]
    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", name="Test"
    )
    stripe_api.attach_payment_method(card["id"], subscription["customer"])
    paid = stripe_api.pay_invoice(failed["id"])
    events += [stripe_event("invoice.paid", paid), stripe_event("invoice.payment_succeeded", paid)]
    events += [
        stripe_event(
            "customer.subscription.updated", stripe_api.retrieve_subscription(subscription["id"])
        )
        for _ in range(6)
    ]
    ended = stripe_api.cancel_subscription(subscription["id"])
    events += [stripe_event("customer.subscription.deleted", ended)]
    events += [
        stripe_event("customer.created", {"id": subscription["customer"], "object": "customer"})
    ]
    # The rest: harmless repeats of everything, as Stripe retries do.
    pick = random.Random(3)
    while len(events) < 40:
        events.append(pick.choice(events[:-2]) | {"id": f"evt_again_{len(events)}"})
    return events, subscription["id"]


def test_a_replay_of_fifty_events_with_duplicates_in_any_order_ends_the_same(
    cast: Cast, plans
) -> None:
    events, subscription_id = _lifecycle_events(cast)

    def final_state() -> tuple:
        row = refreshed(cast.org_a)
        return (
            row.stripe_subscription_id,
            row.status,
            row.plan,
            row.interval,
            row.cancel_at_period_end,
            row.past_due_since is None,
            sorted(
                Invoice.objects.filter(subscription=row).values_list("stripe_invoice_id", "status")
            ),
        )

    for event in events:
        deliver(event)
    process_received()
    in_order = final_state()
    assert in_order[:4] == (subscription_id, "canceled", "organisation", "annual")
    assert WebhookEvent.objects.count() == len(events)

    shuffled_deliveries = [*events, *random.Random(5).sample(events, 10)]  # 50, with 10 duplicates
    random.Random(7).shuffle(shuffled_deliveries)
    WebhookEvent.objects.all().delete()
    Invoice.objects.all().delete()
    Subscription.objects.filter(organisation=cast.org_a).update(
        status="", stripe_subscription_id="", plan="", interval="", past_due_since=None
    )
    responses = [deliver(event) for event in shuffled_deliveries]
    assert all(r.status_code == 200 for r in responses)
    assert sum(r.json()["duplicate"] for r in responses) == 10
    states = process_received()
    assert len(states) == len(events)
    assert set(states) <= {WebhookState.PROCESSED, WebhookState.IGNORED}
    assert final_state() == in_order


def test_checkout_completed_links_the_payer_and_activates_it(
    cast: Cast, plans, seam, settings
) -> None:
    from billing.checkout import start_payment

    settings.STRIPE_API_BASE = ""  # Stripe itself, so payment goes through Checkout
    url = start_payment(
        cast.org_a,
        "network",
        "annual",
        success_url="http://alpha.localhost:8000/billing/?paid=1",
        cancel_url="http://alpha.localhost:8000/billing/",
    )
    assert url.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    session_id = url.rsplit("/", 1)[1]
    method, path, params = next(c for c in seam.calls if c[1] == "/v1/checkout/sessions")
    assert params["line_items[0][price]"] == "carevoice-network-annual"
    assert params["client_reference_id"] == f"organisation:{cast.org_a.pk}"
    assert (
        params["subscription_data[metadata][carevoice_reference]"] == params["client_reference_id"]
    )

    # The customer pays on Stripe's page, and Stripe makes the customer and subscription:
    # here, on the local server, with the card page's calls.
    settings.STRIPE_API_BASE = seam.local_base
    row = row_for(cast.org_a)
    customer = stripe_api.create_customer(name="Alpha", email="", reference=row.reference)
    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=1, exp_year=2032, cvc="321", name="A"
    )
    stripe_api.attach_payment_method(card["id"], customer["id"])
    subscription = stripe_api.create_subscription(
        customer_id=customer["id"],
        plan_id=NETWORK.stripe_plan_id(Interval.ANNUAL),
        reference=row.reference,
    )
    session = seam.complete_checkout(session_id, subscription)
    assert deliver(stripe_event("checkout.session.completed", session)).status_code == 200
    assert process_received() == [WebhookState.PROCESSED]
    row.refresh_from_db()
    assert (row.status, row.plan, row.interval) == ("active", "network", "annual")
    assert (row.stripe_customer_id, row.stripe_subscription_id) == (
        customer["id"],
        subscription["id"],
    )


def test_a_failed_payment_makes_the_subscription_past_due_and_paying_restores_it(
    cast: Cast, plans
) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    deliver(stripe_event("customer.subscription.created", subscription))
    process_received()
    failed = make_past_due(subscription)
    deliver(stripe_event("invoice.payment_failed", failed))
    process_received()
    row = refreshed(cast.org_a)
    assert row.status == SubscriptionStatus.PAST_DUE and row.past_due_since is not None
    assert Invoice.objects.get(stripe_invoice_id=failed["id"]).status == "open"

    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", name="Test"
    )
    stripe_api.attach_payment_method(card["id"], subscription["customer"])
    paid = stripe_api.pay_invoice(failed["id"])
    deliver(stripe_event("invoice.payment_succeeded", paid))
    process_received()
    row.refresh_from_db()
    assert row.status == SubscriptionStatus.ACTIVE and row.past_due_since is None
    assert Invoice.objects.get(stripe_invoice_id=failed["id"]).status == "paid"


def test_a_failure_is_recorded_retried_by_the_sweeper_and_reprocessed_from_the_admin(
    cast: Cast, plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = subscribe_in_stripe(cast.org_a)
    deliver(stripe_event("customer.subscription.created", subscription))

    def unreachable(subscription_id: str) -> dict:
        raise stripe_api.StripeUnavailable("Stripe could not be reached just now")

    monkeypatch.setattr(stripe_api, "retrieve_subscription", unreachable)
    assert process_received() == [WebhookState.FAILED]
    event = WebhookEvent.objects.get()
    assert "StripeUnavailable" in event.outcome and event.attempts == 1
    assert refreshed(cast.org_a).status == SubscriptionStatus.NONE
    assert webhooks.unprocessed_event_ids() == []  # not before a minute has passed
    later = timezone.now() + timedelta(minutes=2)
    assert webhooks.unprocessed_event_ids(now=later) == [event.pk]

    monkeypatch.undo()
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    admin = client_for(None)
    admin.force_login(operator)
    pass_second_factor(admin, operator.email)
    listing = admin.get("/admin/billing/webhookevent/?state__exact=failed")
    assert listing.status_code == 200 and event.stripe_event_id in listing.content.decode()
    response = admin.post(
        "/admin/billing/webhookevent/",
        {"action": "reprocess", "_selected_action": [event.pk]},
        follow=True,
    )
    assert "1 processed" in response.content.decode()
    event.refresh_from_db()
    assert event.state == WebhookState.PROCESSED and event.attempts == 2
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE
    assert AuditEvent.objects.filter(action="billing.webhook_reprocessed").exists()


def test_an_event_stored_while_the_broker_was_down_is_queued_by_the_sweeper(
    cast: Cast, plans, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:
    from billing import tasks

    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(tasks.process_webhook_event, "delay", broker_down)
    subscription = subscribe_in_stripe(cast.org_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            deliver(stripe_event("customer.subscription.created", subscription)).status_code == 200
        )
    event = WebhookEvent.objects.get()
    assert event.state == WebhookState.RECEIVED  # stored, acknowledged, not queued

    queued: list[int] = []
    monkeypatch.setattr(tasks.process_webhook_event, "delay", lambda pk: queued.append(pk))
    WebhookEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(minutes=5)
    )
    assert webhooks.requeue_unprocessed() == 1
    assert queued == [event.pk]
    assert webhooks.process_event(event.pk) == WebhookState.PROCESSED
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE


def test_an_event_for_nobody_here_is_ignored(cast: Cast, plans) -> None:
    other = stripe_api.create_customer(name="Elsewhere", email="", reference="elsewhere:1")
    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", name="E"
    )
    stripe_api.attach_payment_method(card["id"], other["id"])
    subscription = stripe_api.create_subscription(
        customer_id=other["id"],
        plan_id=ORGANISATION.stripe_plan_id(Interval.MONTHLY),
        reference="elsewhere:1",
    )
    deliver(stripe_event("customer.subscription.created", subscription))
    deliver(stripe_event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    assert process_received() == [WebhookState.IGNORED, WebhookState.IGNORED]
    assert not Subscription.objects.exclude(status="").exists()
