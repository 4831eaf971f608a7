"""Turning decisions into delivery rows, once each, and sending them."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from alerts.emails import Message
from alerts.models import AlertDelivery, AlertRule
from alerts.sending import DELIVERIES, send_delivery
from feedback.models import Story


def delivery_key(kind: str, rule: AlertRule | None, subject: str, recipient: str) -> str:
    return f"{kind}:{rule.pk if rule else 0}:{subject}:{recipient.lower()}"[:300]


def record(
    *,
    kind: str,
    key: str,
    recipient: str,
    reason: str,
    message: Message,
    rule: AlertRule | None = None,
    story: Story | None = None,
    public_story_id: int | None = None,
    stories_count: int = 1,
) -> None:
    """Write the delivery unless one with this key exists (a retry, or a repeat)."""
    AlertDelivery.objects.bulk_create(
        [
            AlertDelivery(
                key=key,
                kind=kind,
                rule=rule,
                story=story,
                public_story_id=public_story_id,
                stories_count=stories_count,
                recipient=recipient,
                reason=reason[:300],
                subject=message.subject,
                body=message.body,
                html=message.html,
            )
        ],
        ignore_conflicts=True,
    )


def exists(key: str) -> bool:
    return AlertDelivery.objects.filter(key=key).exists()


def send_pending(keys: Iterable[str] | None = None) -> int:
    """Send what is waiting (all of it, or just these keys). Returns how many went now."""
    waiting = AlertDelivery.objects.filter(DELIVERIES.claimable(timezone.now()))
    if keys is not None:
        waiting = waiting.filter(key__in=list(keys))
    return sum(send_delivery(pk) for pk in waiting.values_list("pk", flat=True))
