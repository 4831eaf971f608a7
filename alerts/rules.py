"""Managing alert rules: each person their own, administrators everyone's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from alerts.matching import RuleScope, StoryFacts
from alerts.models import AlertRule, Frequency, Scope
from alerts.network_alerts import PreviewItem, preview_network_rule
from feedback.choices import Criticality
from feedback.models import Story
from feedback.service_limits import administers_everything, limited_services, managed_services
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit


def _about_only(rule: AlertRule, services: frozenset[int]) -> bool:
    chosen = {service.pk for service in rule.services.all()}
    return rule.scope == Scope.OWN and bool(chosen) and chosen <= services


def can_manage(user: User, rule: AlertRule) -> bool:
    if rule.owner_id == user.pk:
        return True
    if limited_services(user) is not None:
        # Limited to some services: their own rules, and a service administrator's, every
        # rule about their services only (feedback/service_limits.py).
        managed = managed_services(user)
        return managed is not None and _about_only(rule, managed)
    return user.has_role(Role.ADMINISTRATOR)


def visible_rules(user: User):  # noqa: ANN201 - a QuerySet of AlertRule
    rules = AlertRule.objects.select_related("owner").prefetch_related("recipients", "services")
    if administers_everything(user):
        return rules
    managed = managed_services(user)
    if managed is None:
        return rules.filter(owner=user)
    about = [rule.pk for rule in rules if _about_only(rule, managed)]
    return rules.filter(Q(owner=user) | Q(pk__in=about))


def allowed_domains() -> list[str]:
    return [d.lower() for d in getattr(connection.tenant, "email_domains", [])]


@transaction.atomic
def save_rule(
    rule: AlertRule, *, actor: User, request: HttpRequest | None = None, **m2m
) -> AlertRule:  # noqa: ANN003
    is_new = rule.pk is None
    rule.save()
    for name, values in m2m.items():
        getattr(rule, name).set(values)
    record_audit(
        "alerts.rule_created" if is_new else "alerts.rule_changed",
        actor=actor,
        target=rule,
        summary=f"{'Made' if is_new else 'Changed'} the alert rule “{rule.name}”",
        request=request,
    )
    return rule


@transaction.atomic
def set_rule_active(rule: AlertRule, active: bool, *, actor: User, request=None) -> AlertRule:  # noqa: ANN001
    rule.is_active = active
    rule.save(update_fields=["is_active"])
    record_audit(
        "alerts.rule_resumed" if active else "alerts.rule_paused",
        actor=actor,
        target=rule,
        summary=f"{'Resumed' if active else 'Paused'} the alert rule “{rule.name}”",
        request=request,
    )
    return rule


@transaction.atomic
def unsubscribe(rule: AlertRule, recipient: str) -> None:
    """Take one address off one rule (from the signed link in an alert email)."""
    rule.recipients.remove(*User.objects.filter(email__iexact=recipient))
    if recipient in rule.extra_addresses:
        rule.extra_addresses = [a for a in rule.extra_addresses if a != recipient]
        rule.save(update_fields=["extra_addresses"])
    record_audit(
        "alerts.unsubscribed",
        actor=None,
        actor_label=recipient,
        target=rule,
        summary=f"{recipient} stopped the alert rule “{rule.name}”",
    )


@dataclass(frozen=True)
class Preview:
    count: int
    # The organisation's own stories (own rules); empty for network rules.
    first: list[Story]
    # What the page lists, for either kind of rule.
    items: list[PreviewItem]


def preview(rule: AlertRule, *, days: int = 30, show: int = 5) -> Preview:
    """Which stories of the last `days` days this rule would have matched: the
    organisation's own, or for a network rule its members' (alerts/network_alerts.py)."""
    if rule.scope == Scope.NETWORK:
        count, items = preview_network_rule(rule, days=days, show=show)
        return Preview(count=count, first=[], items=items)
    scope = RuleScope.of(rule)
    since = timezone.now() - timedelta(days=days)
    matched = [
        story
        for story in Story.objects.filter(published_at__gte=since)
        .prefetch_related("services", "tags")
        .order_by("-published_at")
        if scope.matches(StoryFacts.of(story))
    ]
    first = matched[:show]
    items = [
        PreviewItem(
            story.title,
            story.get_criticality_display(),
            story.published_at,
            reverse("feedback:story", args=[story.pk]),
        )
        for story in first
    ]
    return Preview(count=len(matched), first=first, items=items)


def create_default_rule(admin: User) -> AlertRule:
    """A new organisation's first rule: every serious story, at once, to its first admin."""
    rule = AlertRule.objects.create(
        name="Strongly and severely critical stories",
        owner=admin,
        min_criticality=Criticality.STRONGLY_CRITICAL,
        frequency=Frequency.INSTANT,
    )
    rule.recipients.add(admin)
    return rule
