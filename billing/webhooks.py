"""Stripe webhooks: verify, store by event id, acknowledge; process later, once.

1. `receive_event` (the view, on the hub): verify the signature, store the event under its
   Stripe id (unique: a duplicate delivery is stored once), queue its processing after the
   commit. Nothing else happens before the 200, so acknowledging is fast.
2. `process_event` (a Celery task): claim the row with a conditional UPDATE, so a repeated
   task does nothing; re-read the subscription from Stripe (the event's copy may be stale
   or out of order) and apply it; record the outcome. A failure leaves the event FAILED
   with its error, visible in the hub's admin, which can reprocess it.
   One that failed because Stripe could not be reached is retried by the sweeper until
   Stripe answers (no limit: the event is not at fault).
3. `requeue_unprocessed` (the sweeper, every few minutes): queue events stored but never
   processed (the broker was down after the commit), failed ones again a few times, and
   those whose worker died mid-way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import Subscription, WebhookEvent, WebhookState
from billing.subscriptions import (
    apply_stripe_subscription,
    find_row_for,
    record_invoice,
    subscription_id_of_invoice,
)
from tenants.outbox import Outbox

logger = logging.getLogger(__name__)

# A failed event is retried by the sweeper until it has been tried this many times...
MAX_AUTOMATIC_ATTEMPTS = 5
# ...unless it failed because Stripe could not be reached: that is no fault of the event, so
# the sweeper tries it again, however long Stripe is away. Its outcome starts with this.
STRIPE_UNREACHABLE = "StripeUnavailable:"
# The sweeper leaves events younger than this to the task queued with them.
SWEEP_AFTER = timedelta(seconds=60)

# Processing claims an event through the outbox (tenants/outbox.py), counting attempts. A
# failed event stays claimable (the sweeper queues it again a few times), and so does one
# claimed longer than WEBHOOK_STALE_CLAIM_SECONDS ago by a worker that died mid-way.
EVENTS = Outbox(
    model=WebhookEvent,
    label="webhook event",
    waiting_states=(WebhookState.RECEIVED, WebhookState.FAILED),
    claimed_state=WebhookState.PROCESSING,
    done_state=WebhookState.PROCESSED,
    stale_setting="WEBHOOK_STALE_CLAIM_SECONDS",
    attempts_field="attempts",
)


class MalformedEvent(Exception):
    pass


def receive_event(payload: bytes, signature: str | None) -> tuple[WebhookEvent, bool]:
    """Verify and store one delivery; returns the stored event and whether it was new.

    Raises stripe_api.InvalidSignature (nothing is stored) or MalformedEvent.
    """
    event = stripe_api.construct_event(payload, signature)
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise MalformedEvent("The event has no id or type.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        existing = WebhookEvent.objects.filter(stripe_event_id=event_id).first()
        if existing is not None:
            return existing, False
        try:
            with transaction.atomic():
                stored = WebhookEvent.objects.create(
                    stripe_event_id=event_id[:100], type=event_type[:100], payload=event
                )
                transaction.on_commit(lambda: queue_processing(stored.pk))
        except IntegrityError:
            # The same event delivered twice at once: the other delivery stored it.
            return WebhookEvent.objects.get(stripe_event_id=event_id), False
    return stored, True


def queue_processing(event_pk: int) -> bool:
    from billing.tasks import process_webhook_event

    try:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            process_webhook_event.delay(event_pk)
    except Exception:  # noqa: BLE001 - the broker is down: the sweeper will queue it
        logger.warning("could not queue webhook event %s; the sweeper will", event_pk)
        return False
    return True


# --- processing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    state: WebhookState
    text: str
    subscription: Subscription | None = None


def claim(event_pk: int) -> bool:
    """Take the event for processing, counting the attempt; False when it is done or another
    worker has it."""
    return EVENTS.claim(event_pk)


def process_event(event_pk: int) -> str:
    """Process one stored event, once. Returns its state afterwards."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        if not claim(event_pk):
            state = WebhookEvent.objects.filter(pk=event_pk).values_list("state", flat=True)
            return state[0] if state else "missing"
        event = WebhookEvent.objects.get(pk=event_pk)
        handler = HANDLERS.get(event.type, _ignore)
        try:
            with transaction.atomic():
                outcome = handler(event.payload["data"]["object"])
                _finish(event, outcome)
        except stripe_api.StripeUnavailable as exc:
            logger.warning(
                "webhook event %s (%s) waits: Stripe could not be reached",
                event.stripe_event_id,
                event.type,
            )
            text = f"{STRIPE_UNREACHABLE} {exc} The sweeper tries again until Stripe answers."
            _finish(event, Outcome(WebhookState.FAILED, text))
        except Exception as exc:  # noqa: BLE001 - recorded on the event, retried by the sweeper
            logger.exception("webhook event %s (%s) failed", event.stripe_event_id, event.type)
            _finish(event, Outcome(WebhookState.FAILED, f"{exc.__class__.__name__}: {exc}"))
        return event.state


def _finish(event: WebhookEvent, outcome: Outcome) -> None:
    event.state = outcome.state
    event.outcome = outcome.text[:2000]
    event.processed_at = timezone.now()
    if outcome.subscription is not None:
        event.subscription = outcome.subscription
    event.save(update_fields=["state", "outcome", "processed_at", "subscription"])


def reprocess(event_pk: int) -> str:
    """Process an event again whatever its state (the admin's "reprocess" action)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        WebhookEvent.objects.filter(pk=event_pk).update(state=WebhookState.RECEIVED)
    return process_event(event_pk)


# --- handlers: each gets the event's object and re-reads what it needs from Stripe ---------------


def _ignore(obj: dict[str, Any]) -> Outcome:
    return Outcome(WebhookState.IGNORED, "not an event Carevoice acts on")


def _apply_current(
    subscription_id: str, *, source: str, row: Subscription | None = None
) -> Outcome:
    try:
        current = stripe_api.retrieve_subscription(subscription_id)
    except stripe_api.StripeNotFound:
        return Outcome(WebhookState.IGNORED, f"subscription {subscription_id} is not in Stripe")
    row = row or find_row_for(current)
    if row is None:
        return Outcome(WebhookState.IGNORED, f"no payer here for subscription {subscription_id}")
    applied = apply_stripe_subscription(row, current, source=source)
    text = applied.note or (
        f"{row.reference}: {row.status}"
        + (f" ({', '.join(applied.changed)} updated)" if applied.changed else " (no change)")
    )
    return Outcome(WebhookState.PROCESSED, text, row)


def handle_checkout_completed(session: dict[str, Any]) -> Outcome:
    if session.get("mode") != "subscription" or not session.get("subscription"):
        return Outcome(WebhookState.IGNORED, "not a subscription checkout")
    reference = session.get("client_reference_id") or (session.get("metadata") or {}).get(
        stripe_api.REFERENCE_KEY
    )
    row = Subscription.objects.select_for_update().filter(reference=reference or "").first()
    if row is None:
        return Outcome(WebhookState.IGNORED, f"no payer here for reference {reference!r}")
    customer = session.get("customer")
    customer_id = customer.get("id") if isinstance(customer, dict) else customer
    if customer_id and not row.stripe_customer_id:
        row.stripe_customer_id = str(customer_id)
        row.save(update_fields=["stripe_customer_id"])
    subscription = session["subscription"]
    subscription_id = subscription.get("id") if isinstance(subscription, dict) else subscription
    return _apply_current(str(subscription_id), source="checkout completed", row=row)


def handle_subscription_event(subscription: dict[str, Any]) -> Outcome:
    return _apply_current(str(subscription["id"]), source="subscription event")


def handle_invoice_event(invoice: dict[str, Any]) -> Outcome:
    subscription_id = subscription_id_of_invoice(invoice)
    if not subscription_id:
        return Outcome(WebhookState.IGNORED, "an invoice of no subscription")
    outcome = _apply_current(subscription_id, source="invoice event")
    if outcome.subscription is not None:
        with suppress(stripe_api.StripeNotFound):
            record_invoice(outcome.subscription, stripe_api.retrieve_invoice(str(invoice["id"])))
    return outcome


HANDLERS: dict[str, Callable[[dict[str, Any]], Outcome]] = {
    "checkout.session.completed": handle_checkout_completed,
    "customer.subscription.created": handle_subscription_event,
    "customer.subscription.updated": handle_subscription_event,
    "customer.subscription.deleted": handle_subscription_event,
    "invoice.paid": handle_invoice_event,
    "invoice.payment_succeeded": handle_invoice_event,
    "invoice.payment_failed": handle_invoice_event,
}


# --- the sweeper ---------------------------------------------------------------------------------


def unprocessed_event_ids(*, now: Any = None) -> list[int]:
    now = now or timezone.now()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return list(
            WebhookEvent.objects.filter(
                Q(state=WebhookState.RECEIVED, received_at__lt=now - SWEEP_AFTER)
                | (
                    Q(state=WebhookState.FAILED, claimed_at__lt=now - SWEEP_AFTER)
                    & (
                        Q(attempts__lt=MAX_AUTOMATIC_ATTEMPTS)
                        | Q(outcome__startswith=STRIPE_UNREACHABLE)
                    )
                )
                | EVENTS.stale(now)
            )
            .order_by("received_at")
            .values_list("pk", flat=True)[:500]
        )


def requeue_unprocessed() -> int:
    ids = unprocessed_event_ids()
    for pk in ids:
        queue_processing(pk)
    return len(ids)
