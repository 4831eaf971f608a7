"""Celery wrappers for training (public schema)."""

from __future__ import annotations

from config.celery import app
from onboarding.training import reminders


@app.task(name="training.send_reminders", acks_late=True)
def send_reminders() -> int:
    return reminders.send_due_reminders()
