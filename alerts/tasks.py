"""Celery wrappers for alerts. Per-organisation tasks run in the schema they were sent in;
dispatchers (run by beat in the public schema) fan out to every ready organisation."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from alerts import (
    delivering,
    digests,
    emerging,
    escalation,
    evaluation,
    network_alerts,
    safeguarding,
    sweeper,
)
from tenants.dispatch import dispatch_to_tenants


@shared_task(name="alerts.evaluate_story", acks_late=True)
def evaluate_story(story_id: int) -> int:
    return evaluation.evaluate_story(story_id)


@shared_task(name="alerts.evaluate_network_story", acks_late=True)
def evaluate_network_story(public_story_id: int) -> int:
    """In a network lead's schema: its network rules against one member's story."""
    return network_alerts.evaluate_network_story(public_story_id)


@shared_task(name="alerts.sweep", acks_late=True)
def sweep() -> int:
    for story_id in sweeper.unevaluated_story_ids():
        evaluate_story.delay(story_id)
    # A network's lead: members' stories whose network alerts never ran.
    for public_story_id in network_alerts.unevaluated_network_story_ids():
        evaluate_network_story.delay(public_story_id)
    # Safeguarding alerts whose receiver never ran are written now and sent just below.
    safeguarding.record_missing_alerts()
    return sweeper.resend_waiting()


@shared_task(name="alerts.send_deliveries", acks_late=True)
def send_deliveries(keys: list[str]) -> int:
    """Send deliveries already recorded (safeguarding alerts, alerts/safeguarding.py)."""
    return delivering.send_pending(keys)


@shared_task(name="alerts.check_targets", acks_late=True)
def check_targets() -> int:
    return escalation.check_targets()


@shared_task(name="alerts.send_digests", acks_late=True)
def send_digests(frequency: str) -> int:
    return digests.send_digests(frequency)


@shared_task(name="alerts.dispatch_sweeps")
def dispatch_sweeps() -> int:
    return dispatch_to_tenants(sweep, spread_seconds=min(60, settings.TENANT_TASK_SPREAD_SECONDS))


@shared_task(name="alerts.dispatch_target_checks")
def dispatch_target_checks() -> int:
    return dispatch_to_tenants(
        check_targets, spread_seconds=min(120, settings.TENANT_TASK_SPREAD_SECONDS)
    )


@shared_task(name="alerts.dispatch_digests")
def dispatch_digests(frequency: str) -> int:
    return dispatch_to_tenants(
        send_digests, spread_seconds=settings.TENANT_TASK_SPREAD_SECONDS, args=(frequency,)
    )


@shared_task(name="alerts.find_emerging_themes", acks_late=True)
def find_emerging_themes() -> int:
    """Tonight's emerging themes in this organisation, recorded and alerted once each; then
    the day's replay behind the rule pages' previews."""
    found = len(emerging.find_emerging_themes())
    emerging.work_out_preview()
    return found


@shared_task(name="alerts.work_out_emerging_preview", acks_late=True)
def work_out_emerging_preview() -> int:
    """The replay behind the rule pages' previews of emerging themes, asked for by a rule
    page before tonight's run made it."""
    return len(emerging.work_out_preview())


@shared_task(name="alerts.dispatch_emerging_themes")
def dispatch_emerging_themes() -> int:
    return dispatch_to_tenants(
        find_emerging_themes, spread_seconds=settings.TENANT_TASK_SPREAD_SECONDS
    )
