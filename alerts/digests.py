"""Daily and weekly digests: one email per person per rule per period, stories grouped by
service."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta

from django.utils import timezone

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import RuleScope, StoryFacts, recipients
from alerts.models import AlertRule, DeliveryKind, Frequency
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
    for rule in AlertRule.objects.filter(is_active=True, frequency=frequency).prefetch_related(
        "services", "tags", "recipients"
    ):
        scope = RuleScope.of(rule)
        matched = [s for s in stories if scope.matches(StoryFacts.of(s))]
        if not matched:
            continue
        groups: dict[str, list[Story]] = defaultdict(list)
        for story in matched:
            groups[story.services.all()[0].name if story.services.all() else "Other"].append(story)
        ordered = sorted(groups.items())
        for recipient in recipients(rule):
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
    return send_pending(keys)
