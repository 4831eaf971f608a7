"""Celery wrappers for training (public schema)."""

from __future__ import annotations

from celery import shared_task

from onboarding.training import reminders


@shared_task(name="training.send_reminders", acks_late=True)
def send_reminders() -> int:
    return reminders.send_due_reminders()
