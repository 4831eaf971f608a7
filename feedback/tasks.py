"""Celery wrappers for stories. Each loads ids and calls a plain function."""

from __future__ import annotations

from config.celery import app
from feedback import emails


@app.task(name="feedback.send_rejection_notice", acks_late=True)
def send_rejection_notice(submission_id: int) -> None:
    emails.send_rejection_notice(submission_id)


@app.task(name="feedback.notify_author_of_response", acks_late=True)
def notify_author_of_response(public_response_id: int) -> None:
    emails.send_response_notice(public_response_id)
