"""Sending one delivery, exactly once, through the outbox (tenants/outbox.py): claim it with
a conditional update, send, mark sent; a failure waits, with its error, for the next run."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

from alerts.models import AlertDelivery, DeliveryState
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


def send_delivery(delivery_id: int) -> bool:
    """Send the delivery if this caller wins the claim. Returns whether it was sent now."""
    return DELIVERIES.deliver(delivery_id, email_delivery)


def email_delivery(delivery: AlertDelivery) -> None:
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body, to=[delivery.recipient]
    )
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    message.send()
