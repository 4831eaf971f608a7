"""Daily and weekly digests: one email per person per rule per period, stories grouped by
service; a network lead's network rules, members' stories grouped by member
(alerts/network_alerts.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import NetworkRuleScope, RuleScope, StoryFacts, recipients
from alerts.models import AlertRule, DeliveryKind, Frequency, Scope
from alerts.network_alerts import (
    network_alerts_enabled,
    network_rules,
    network_stories_between,
    network_story_url,
    watched_members,
)
from alerts.working_time import UK
from feedback.models import Story


def period_for(frequency: str, now: datetime) -> tuple[str, datetime, datetime]:
    """The last complete period before `now`: yesterday, or last Monday-to-Sunday week."""
    today = now.astimezone(UK).date()
    if frequency == Frequency.DAILY:
        start_day = today - timedelta(days=1)
        end_day = today
        label = start_day.strftime("%A %-d %B %Y")
    else:
        this_monday = today - timedelta(days=today.weekday())
        start_day, end_day = this_monday - timedelta(days=7), this_monday
        label = f"week of {start_day.strftime('%-d %B %Y')}"
    start = datetime.combine(start_day, time.min, tzinfo=UK)
    end = datetime.combine(end_day, time.min, tzinfo=UK)
    return label, start, end


def send_digests(frequency: str, now: datetime | None = None) -> int:
    if not alerts_enabled():
        return 0
    now = now or timezone.now()
    label, start, end = period_for(frequency, now)
    stories = list(
        Story.objects.filter(published_at__gte=start, published_at__lt=end)
        .prefetch_related("services", "tags")
        .order_by("published_at")
    )
    keys: list[str] = []
    rules = AlertRule.objects.filter(is_active=True, frequency=frequency, scope=Scope.OWN)
    for rule in rules.prefetch_related("services", "tags", "recipients"):
        scope = RuleScope.of(rule)
        matched = [s for s in stories if scope.matches(StoryFacts.of(s))]
        if not matched:
            continue
        groups: dict[str, list[Story]] = defaultdict(list)
        for story in matched:
            groups[story.services.all()[0].name if story.services.all() else "Other"].append(story)
        ordered = sorted(groups.items())
        for recipient in recipients(rule, None):  # many stories: not the limited
            key = delivery_key(
                DeliveryKind.DIGEST, rule, f"{frequency}-{start:%Y-%m-%d}", recipient
            )
            keys.append(key)
            if not exists(key):
                record(
                    kind=DeliveryKind.DIGEST,
                    key=key,
                    recipient=recipient,
                    rule=rule,
                    stories_count=len(matched),
                    reason=f"{Frequency(frequency).label} for “{rule.name}”, {label}",
                    message=emails.digest(rule, recipient, ordered, label),
                )
    keys += record_network_digests(frequency, label, start, end)
    return send_pending(keys)


def record_network_digests(frequency: str, label: str, start: datetime, end: datetime) -> list[str]:
    """A lead's network rules of this frequency: members' stories of the period, grouped by
    member. Returns the deliveries' keys."""
    rules = list(network_rules().filter(frequency=frequency))
    if not rules or not network_alerts_enabled():
        return []
    found = network_stories_between(start, end, watched_members(connection.tenant))
    keys: list[str] = []
    for rule in rules:
        scope = NetworkRuleScope.of(rule)
        matched = [story for story in found if scope.matches(story.facts)]
        if not matched:
            continue
        groups: dict[str, list] = defaultdict(list)
        for story in matched:
            groups[story.members[0]].append((story, network_story_url(story.story.pk)))
        ordered = sorted(groups.items())
        for recipient in recipients(rule, None):  # many stories: not the limited
            key = delivery_key(
                DeliveryKind.DIGEST, rule, f"{frequency}-{start:%Y-%m-%d}", recipient
            )
            keys.append(key)
            if not exists(key):
                record(
                    kind=DeliveryKind.DIGEST,
                    key=key,
                    recipient=recipient,
                    rule=rule,
                    stories_count=len(matched),
                    reason=f"{Frequency(frequency).label} for the network rule “{rule.name}”, "
                    f"{label}",
                    message=emails.network_digest(rule, recipient, ordered, label),
                )
    return keys
