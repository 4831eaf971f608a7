"""Celery wrappers for stories. Each loads ids and calls a plain function."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.conf import settings

from feedback import emails, exporting, retention
from tenants.dispatch import dispatch_to_tenants

# The five author-notice tasks below are no longer queued: the notices are written to the
# outbox in their event's transaction (feedback/emails.py). They stay for one release, so a
# task queued before it still writes its message (once: the outbox key is the event's).


@shared_task(name="feedback.send_rejection_notice", acks_late=True)
def send_rejection_notice(submission_id: int) -> None:
    emails.queue_rejection_notice(submission_id)


@shared_task(name="feedback.notify_author_of_response", acks_late=True)
def notify_author_of_response(public_response_id: int) -> None:
    emails.queue_response_notice(public_response_id)


@shared_task(name="feedback.send_receipt_notice", acks_late=True)
def send_receipt_notice(submission_id: int) -> None:
    emails.queue_receipt_notice(submission_id)


@shared_task(name="feedback.send_publication_notice", acks_late=True)
def send_publication_notice(submission_id: int) -> None:
    emails.queue_publication_notice(submission_id)


@shared_task(name="feedback.send_withdrawal_notice", acks_late=True)
def send_withdrawal_notice(submission_id: int) -> None:
    emails.queue_withdrawal_notice(submission_id)


@shared_task(name="feedback.watch_moderation_queue", acks_late=True)
def watch_moderation_queue() -> bool:
    from feedback.moderation_watch import watch_moderation_queue as watch

    return watch()


@shared_task(name="feedback.apply_retention", acks_late=True)
def apply_retention() -> dict[str, int]:
    return asdict(retention.apply_retention())


@shared_task(name="feedback.escalate_safeguarding_concerns", acks_late=True)
def escalate_safeguarding_concerns() -> int:
    from feedback.safeguarding import escalate_overdue

    return escalate_overdue()


@shared_task(name="exports.build_story_export", acks_late=True)
def build_story_export(export_id: int) -> str:
    return exporting.build_export(export_id)


@shared_task(name="exports.sweep")
def sweep_story_exports() -> int:
    return len(exporting.requeue_lost_exports())


@shared_task(name="exports.dispatch_sweeps")
def dispatch_story_export_sweeps() -> int:
    return dispatch_to_tenants(
        sweep_story_exports, spread_seconds=min(120, settings.TENANT_TASK_SPREAD_SECONDS)
    )


@shared_task(name="topics.fit", acks_late=True)
def fit_topics() -> int:
    from feedback.topics import fit_topics as fit

    return fit().topics


@shared_task(name="topics.dispatch_fits")
def dispatch_topic_fits() -> int:
    return dispatch_to_tenants(fit_topics, spread_seconds=settings.TENANT_TASK_SPREAD_SECONDS)
