"""Nothing serious may wait: reminders at 75% of a story's allowed time, and an alert to the
organisation's admins when the target is missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import RuleScope, StoryFacts, recipients
from alerts.models import AlertRule, DeliveryKind
from alerts.targets import current_targets
from feedback.models import Story
from feedback.service_limits import allowed_for
from tenants.accounts.models import Role, User

REMIND_AT = 0.75
LOOK_BACK = timedelta(days=60)
# Breaches are announced when they happen, not discovered months later.
ANNOUNCE_WITHIN = timedelta(days=2)


def open_stories(now: datetime):  # noqa: ANN201 - a QuerySet of Story
    """Stories still waiting for a first response, with a due time."""
    return Story.objects.filter(
        first_responded_at__isnull=True, due_at__isnull=False, published_at__gte=now - LOOK_BACK
    ).prefetch_related("services", "tags")


def open_breaches(now: datetime | None = None):  # noqa: ANN201 - a QuerySet of Story
    now = now or timezone.now()
    return open_stories(now).filter(due_at__lt=now).order_by("due_at")


def check_targets(now: datetime | None = None) -> int:
    """Record and send due reminders and breach alerts; idempotent. Returns mails sent."""
    if not alerts_enabled():
        return 0
    now = now or timezone.now()
    targets = current_targets()
    rules = [
        RuleScope.of(rule)
        for rule in AlertRule.objects.filter(is_active=True).prefetch_related(
            "services", "tags", "recipients"
        )
    ]
    admins = dict(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).values_list("pk", "email")
    )
    keys: list[str] = []
    for story in open_stories(now):
        share = targets.share_elapsed(story.published_at, story.due_at, now)
        about = [service.pk for service in story.services.all()]
        if share >= 1.0 and story.due_at >= now - ANNOUNCE_WITHIN:
            for pk in sorted(allowed_for(admins, about), key=admins.get):
                keys.append(_breach(story, admins[pk]))
        elif share >= REMIND_AT:
            facts = StoryFacts.of(story)
            people = {
                r for scope in rules if scope.matches(facts) for r in recipients(scope.rule, about)
            }
            for person in sorted(people):
                keys.append(_reminder(story, person))
    return send_pending(keys)


def _reminder(story: Story, recipient: str) -> str:
    return _announce(
        DeliveryKind.REMINDER,
        story,
        recipient,
        "Three-quarters of the time allowed to respond has passed",
        emails.reminder,
    )


def _breach(story: Story, recipient: str) -> str:
    return _announce(
        DeliveryKind.BREACH, story, recipient, "The response target was missed", emails.breach
    )


def _announce(
    kind: str,
    story: Story,
    recipient: str,
    reason: str,
    message: Callable[[Story, str], emails.Message],
) -> str:
    """Record one escalation email, once ever per kind, story and recipient."""
    key = delivery_key(kind, None, f"story-{story.pk}", recipient)
    if not exists(key):
        record(
            kind=kind,
            key=key,
            recipient=recipient,
            story=story,
            reason=reason,
            message=message(story, recipient),
        )
    return key
