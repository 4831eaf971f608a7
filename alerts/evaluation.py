"""Instant alerts for a newly published story. Run in the story's organisation's schema,
after the publishing transaction has committed (alerts/receivers.py)."""

from __future__ import annotations

from django.db import transaction

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import RuleScope, StoryFacts, recipients
from alerts.models import AlertRule, DeliveryKind, Evaluation, Frequency, Scope
from feedback.models import Story
from feedback.triage import mark_heard


def evaluate_story(story_id: int) -> int:
    """Record and send the story's instant alerts; idempotent. Returns mails sent now."""
    if not alerts_enabled():
        return 0
    story = Story.objects.prefetch_related("services", "tags").filter(pk=story_id).first()
    if story is None:
        return 0
    facts = StoryFacts.of(story)
    keys: list[str] = []
    with transaction.atomic():
        rules = AlertRule.objects.filter(
            is_active=True, frequency=Frequency.INSTANT, scope=Scope.OWN
        ).prefetch_related("services", "tags", "recipients")
        for rule in rules:
            scope = RuleScope.of(rule)
            if not scope.matches(facts):
                continue
            about = [service.pk for service in story.services.all()]
            for recipient in recipients(rule, about):
                key = delivery_key(DeliveryKind.INSTANT, rule, f"story-{story.pk}", recipient)
                keys.append(key)
                if not exists(key):
                    record(
                        kind=DeliveryKind.INSTANT,
                        key=key,
                        recipient=recipient,
                        rule=rule,
                        story=story,
                        reason=f"Matches the rule “{rule.name}”",
                        message=emails.instant_alert(story, rule, recipient),
                    )
        Evaluation.objects.get_or_create(story=story)
    sent = send_pending(keys)
    if keys:
        mark_heard([story])
    return sent
