"""Celery wrappers for tenancy housekeeping. Sent inside a schema, a task runs in that schema."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from tenants import messages, sessions
from tenants.dispatch import dispatch_to_tenants


@shared_task(name="tenants.clear_expired_sessions")
def clear_expired_sessions() -> dict[str, object]:
    return sessions.clear_expired_sessions()


@shared_task(name="tenants.dispatch_clear_expired_sessions")
def dispatch_clear_expired_sessions() -> int:
    return dispatch_to_tenants(
        clear_expired_sessions,
        spread_seconds=settings.TENANT_TASK_SPREAD_SECONDS,
        include_public=True,
    )


@shared_task(name="tenants.send_outbox_message", acks_late=True)
def send_outbox_message(message_id: int) -> bool:
    return messages.send_message(message_id)


@shared_task(name="tenants.send_alert_outbox_message", acks_late=True)
def send_alert_outbox_message(message_id: int) -> bool:
    """An alert's email, the same send from the alerts queue (messages.is_alert)."""
    return messages.send_message(message_id)


@shared_task(name="tenants.send_due_outbox_messages", acks_late=True)
def send_due_outbox_messages() -> int:
    return messages.send_due_messages()


@shared_task(name="tenants.purge_sent_outbox_messages")
def purge_sent_outbox_messages() -> int:
    return messages.purge_sent_messages()
