"""Celery wrappers for billing. They run in the public schema, where billing lives."""

from __future__ import annotations

from celery import shared_task

from billing import reconciliation, webhooks


@shared_task(name="billing.process_webhook_event", acks_late=True)
def process_webhook_event(event_pk: int) -> str:
    return webhooks.process_event(event_pk)


@shared_task(name="billing.sweep_webhook_events", acks_late=True)
def sweep_webhook_events() -> int:
    return webhooks.requeue_unprocessed()


@shared_task(name="billing.reconcile_subscriptions", acks_late=True)
def reconcile_subscriptions() -> dict[str, object]:
    report = reconciliation.reconcile_all()
    return {"checked": report.checked, "repaired": report.repaired, "failed": report.failed}
