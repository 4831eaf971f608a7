"""Sending one alert delivery, exactly once: the delivery is claimed (tenants/outbox.py), its
email is written to the outbox of outgoing email (tenants/messages.py `enqueue_email`, keyed
by the schema and the delivery) and the delivery is marked sent, in one transaction
(`tenants.messages.hand_over`). A delivery's "sent" therefore means handed to that outbox,
which sends the email once, retries a mail server's refusal with backoff, and parks it for
platform staff after OUTBOX_MAX_ATTEMPTS (the hub admin's "Outbox messages", where they retry
or discard it). A failure before the hand-over waits, with its error, for the next run."""

from __future__ import annotations

from django.db import connection

from alerts.models import AlertDelivery, DeliveryState
from tenants.messages import enqueue_email, hand_over, schema_organisation
from tenants.outbox import Outbox

# A delivery claimed by a worker that died is claimed again after ALERT_STALE_CLAIM_SECONDS.
DELIVERIES = Outbox(
    model=AlertDelivery,
    label="alert delivery",
    waiting_states=(DeliveryState.PENDING,),
    claimed_state=DeliveryState.SENDING,
    done_state=DeliveryState.SENT,
    stale_setting="ALERT_STALE_CLAIM_SECONDS",
    error_field="error",
    sent_at_field="sent_at",
)


def outbox_key(delivery: AlertDelivery) -> str:
    """The outgoing email's key: one per delivery, in this organisation's schema."""
    return f"alert:{connection.schema_name}:{delivery.pk}"


def outbox_kind(delivery: AlertDelivery) -> str:
    """What the platform's outbox page calls it, e.g. "alerts.instant", "alerts.safeguard"."""
    return f"alerts.{delivery.kind}"


def send_delivery(delivery_id: int) -> bool:
    """Hand the delivery's email to the outbox and mark it sent, if this caller wins the
    claim. Returns whether it was handed over now."""
    return hand_over(DELIVERIES, delivery_id, email_delivery)


def email_delivery(delivery: AlertDelivery) -> None:
    """Write the delivery's email to the outbox (once per delivery, whatever the calls)."""
    enqueue_email(
        kind=outbox_kind(delivery),
        key=outbox_key(delivery),
        recipient=delivery.recipient,
        subject=delivery.subject,
        text_body=delivery.body,
        html_body=delivery.html,
        organisation=schema_organisation(),
    )
