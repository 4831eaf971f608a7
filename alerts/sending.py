"""Sending one delivery, exactly once: claim it with a conditional update, send, mark sent."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.utils import timezone

from alerts.models import AlertDelivery, DeliveryState

logger = logging.getLogger(__name__)


def claimable(now: datetime) -> Q:
    """Waiting deliveries, and those claimed by a worker that died before sending them."""
    stale = now - timedelta(seconds=settings.ALERT_STALE_CLAIM_SECONDS)
    return Q(state=DeliveryState.PENDING) | Q(state=DeliveryState.SENDING, claimed_at__lt=stale)


def claim(delivery_id: int) -> bool:
    now = timezone.now()
    return bool(
        AlertDelivery.objects.filter(claimable(now), pk=delivery_id).update(
            state=DeliveryState.SENDING, claimed_at=now
        )
    )


def send_delivery(delivery_id: int) -> bool:
    """Send the delivery if this caller wins the claim. Returns whether it was sent now."""
    if not claim(delivery_id):
        return False
    delivery = AlertDelivery.objects.get(pk=delivery_id)
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body, to=[delivery.recipient]
    )
    if delivery.html:
        message.attach_alternative(delivery.html, "text/html")
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure is recorded and retried
        logger.warning("alert delivery %s failed: %s", delivery_id, exc)
        AlertDelivery.objects.filter(pk=delivery_id).update(
            state=DeliveryState.PENDING, error=str(exc)[:300]
        )
        return False
    AlertDelivery.objects.filter(pk=delivery_id).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), error=""
    )
    return True
