"""Celery wrappers for training (public schema)."""

from __future__ import annotations

from celery import shared_task

from onboarding.training import reminders


@shared_task(name="training.send_reminders", acks_late=True)
def send_reminders() -> int:
    """Write the reminders due now to the outbox, which sends them."""
    return reminders.queue_due_reminders()
