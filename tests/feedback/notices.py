"""For tests: send the author's notice an event wrote to the outbox (feedback/emails.py), as
the outbox's worker would once the event's transaction had committed."""

from __future__ import annotations

from tenants.messages import send_message
from tenants.models import OutboxMessage


def send_notice(event: str, pk: int) -> bool:
    """Send the notice of `event` ("receipt", "publication", "rejection", "response",
    "withdrawal") about `pk`; False when the event wrote none (e.g. the author gave no email)."""
    message = OutboxMessage.objects.filter(key=f"feedback.{event}:{pk}").first()
    return message is not None and send_message(message.pk)
