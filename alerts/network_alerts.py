"""Network alert rules: a network's lead is told about its members' newly published stories.

Everything here runs in the LEAD's schema and reads only the hub's public data (PublicStory,
its ServiceListings, the network memberships): never a member's schema, never its private
fields, never an author's contact details (those stay on the hub's Submission).

A member's stories count while it is an active member that consents to being compared
(tenants/networks.py `comparable_members`), and only those published since it joined or
last gave its consent: joining never floods the lead with a member's old stories.

The path: moderation publishes a story (`feedback.signals.story_published`, after commit);
alerts/receivers.py queues `alerts.evaluate_network_story` in the schema of each lead
watching an organisation the story names; `evaluate_network_story` records one delivery per
(rule, public story, recipient) and sends it through the outbox (alerts/sending.py). The
sweeper (`unevaluated_network_story_ids`) finds stories whose evaluation never ran, and
daily or weekly network rules are gathered by alerts/digests.py (`network_stories_between`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import NetworkRuleScope, NetworkStoryFacts, recipients
from alerts.models import AlertRule, DeliveryKind, Frequency, NetworkEvaluation, Scope
from feedback.choices import ServiceType
from feedback.hub.models import PublicStory
from tenants.gate import Capability, has_capability
from tenants.models import MembershipStatus, Network, NetworkMembership, Organisation

# As the own-story sweeper (alerts/sweeper.py): a story this recent may still be on its way.
GRACE = timedelta(minutes=2)
LOOK_BACK = timedelta(days=7)


@dataclass(frozen=True)
class WatchedMember:
    organisation_id: int
    name: str
    # Its stories count from here: when it joined or last gave consent, whichever is later.
    since: datetime


# --- who the lead watches -------------------------------------------------------------------


def leads_networks(organisation: Organisation) -> bool:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return Network.objects.filter(lead_id=organisation.pk).exists()


def network_rules_available(organisation: Organisation) -> bool:
    """Whether the organisation may have rules about members' stories: it leads a network
    and its plan includes the network features (asked of tenants/gate.py)."""
    # Leading a network is the rarer answer, and one indexed query: asked first.
    return (
        not organisation.is_hub
        and leads_networks(organisation)
        and has_capability(organisation, Capability.NETWORK_COMPARISON)
    )


def watched_members(lead: Organisation) -> dict[int, WatchedMember]:
    """The active, consenting members of every network `lead` leads, by organisation id."""
    watched: dict[int, WatchedMember] = {}
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        memberships = NetworkMembership.objects.filter(
            network__lead_id=lead.pk,
            status=MembershipStatus.ACTIVE,
            benchmarking_consent=True,
        ).select_related("organisation")
        for membership in memberships:
            if membership.organisation_id == lead.pk:
                continue
            moments = [membership.joined_at, membership.consent_changed_at]
            since = max(m for m in moments if m is not None) if any(moments) else timezone.now()
            known = watched.get(membership.organisation_id)
            if known is None or since < known.since:
                watched[membership.organisation_id] = WatchedMember(
                    membership.organisation_id, membership.organisation.name, since
                )
    return watched


def leads_watching(schemas: list[str]) -> list[Organisation]:
    """The leads (ready organisations) of networks in which an organisation with one of
    these schemas is an active, consenting member."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return list(
            Organisation.objects.ready()
            .filter(
                led_networks__memberships__organisation__schema_name__in=schemas,
                led_networks__memberships__status=MembershipStatus.ACTIVE,
                led_networks__memberships__benchmarking_consent=True,
            )
            .distinct()
            .order_by("pk")
        )


def network_alerts_enabled() -> bool:
    """For the organisation whose schema is active: alerts at all, and network rules."""
    return alerts_enabled() and network_rules_available(connection.tenant)


# --- facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkStory:
    """A member's public story as a lead's rules and emails see it."""

    story: PublicStory
    facts: NetworkStoryFacts
    # Names of the watched members the story is about, and of their services it names.
    members: tuple[str, ...]
    services: tuple[str, ...]


def network_story(story: PublicStory, watched: dict[int, WatchedMember]) -> NetworkStory | None:
    """The story as the lead may see it, or None when it names no member the lead watches
    (or was published before that member's stories began to count)."""
    listings = [
        listing
        for listing in story.services.all()
        if listing.organisation_id in watched
        and story.published_at >= watched[listing.organisation_id].since
    ]
    if not listings:
        return None
    members = tuple(dict.fromkeys(watched[listing.organisation_id].name for listing in listings))
    facts = NetworkStoryFacts(
        public_story_id=story.pk,
        criticality=story.criticality,
        services=frozenset((listing.organisation_id, listing.type) for listing in listings),
        tag_names=frozenset(
            str(tag.get("name", "")).lower() for tag in story.tags if isinstance(tag, dict)
        ),
        text=f"{story.title}\n{story.body}".lower(),
    )
    return NetworkStory(story, facts, members, tuple(listing.name for listing in listings))


def _public_stories():  # noqa: ANN202 - a QuerySet of PublicStory
    return PublicStory.objects.prefetch_related("services")


def network_stories_between(
    start: datetime, end: datetime, watched: dict[int, WatchedMember]
) -> list[NetworkStory]:
    """Members' stories published in [start, end), oldest first."""
    if not watched:
        return []
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        stories = list(
            _public_stories()
            .filter(
                published_at__gte=start,
                published_at__lt=end,
                organisations__in=list(watched),
            )
            .distinct()
            .order_by("published_at", "pk")
        )
    return [found for story in stories if (found := network_story(story, watched)) is not None]


def network_story_url(public_story_id: int) -> str:
    """Where a lead's staff read a member's story: its page in the lead's network inbox
    (feedback/network_views.py)."""
    path = reverse("feedback:network_story", args=[public_story_id], urlconf=settings.ROOT_URLCONF)
    return emails.workspace_url(path)


def network_rules():  # noqa: ANN201 - a QuerySet of AlertRule
    return AlertRule.objects.filter(is_active=True, scope=Scope.NETWORK).prefetch_related(
        "tags", "recipients"
    )


# --- instant alerts ---------------------------------------------------------------------------


def evaluate_network_story(public_story_id: int) -> int:
    """Record and send the lead's instant network alerts for one member's published story;
    idempotent. Run in the lead's schema. Returns mails sent now."""
    if not network_alerts_enabled():
        return 0
    lead = connection.tenant
    watched = watched_members(lead)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        story = _public_stories().filter(pk=public_story_id).first()
    if story is None:
        return 0
    found = network_story(story, watched)
    keys: list[str] = []
    with transaction.atomic():
        if found is not None:
            for rule in network_rules().filter(frequency=Frequency.INSTANT):
                scope = NetworkRuleScope.of(rule)
                if not scope.matches(found.facts):
                    continue
                for recipient in recipients(rule, None):  # members' stories, not ours
                    key = delivery_key(
                        DeliveryKind.INSTANT, rule, f"public-story-{story.pk}", recipient
                    )
                    keys.append(key)
                    if not exists(key):
                        record(
                            kind=DeliveryKind.INSTANT,
                            key=key,
                            recipient=recipient,
                            rule=rule,
                            public_story_id=story.pk,
                            reason=f"A story at {', '.join(found.members)} matches the "
                            f"network rule “{rule.name}”",
                            message=emails.network_alert(
                                found, rule, recipient, network_story_url(story.pk)
                            ),
                        )
        NetworkEvaluation.objects.get_or_create(public_story_id=public_story_id)
    return send_pending(keys)


# --- the sweeper ------------------------------------------------------------------------------


def unevaluated_network_story_ids(grace: timedelta | None = None) -> list[int]:
    """Watched members' stories of the last week whose evaluation never ran here (the broker
    was down when they were published, or a worker died before it began)."""
    if not network_alerts_enabled():
        return []
    grace = GRACE if grace is None else grace
    now = timezone.now()
    candidates = {
        found.story.pk
        for found in network_stories_between(
            now - LOOK_BACK, now - grace, watched_members(connection.tenant)
        )
    }
    done = set(
        NetworkEvaluation.objects.filter(public_story_id__in=candidates).values_list(
            "public_story_id", flat=True
        )
    )
    return sorted(candidates - done)


# --- rule previews ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewItem:
    title: str
    criticality: str
    published_at: datetime
    url: str


def preview_network_rule(rule: AlertRule, *, days: int, show: int) -> tuple[int, list[PreviewItem]]:
    """How many members' stories of the last `days` days the rule would have matched."""
    scope = NetworkRuleScope.of(rule)
    now = timezone.now()
    matched = [
        found
        for found in network_stories_between(
            now - timedelta(days=days), now, watched_members(connection.tenant)
        )
        if scope.matches(found.facts)
    ]
    matched.reverse()  # newest first
    return len(matched), [
        PreviewItem(
            found.story.title,
            found.story.get_criticality_display(),
            found.story.published_at,
            network_story_url(found.story.pk),
        )
        for found in matched[:show]
    ]


# --- the rule pages ---------------------------------------------------------------------------


def member_choices(organisation: Organisation) -> list[tuple[int, str]] | None:
    """The members a lead's rule may name (active, consenting), by name; None when the
    organisation may not have network rules."""
    if not network_rules_available(organisation):
        return None
    members = watched_members(organisation).values()
    return [(m.organisation_id, m.name) for m in sorted(members, key=lambda m: m.name)]


def member_names(organisation: Organisation) -> dict[int, str]:
    """Names of the members a lead watches, for listing its rules ({} for anyone else)."""
    if organisation.is_hub or not leads_networks(organisation):
        return {}
    return {m.organisation_id: m.name for m in watched_members(organisation).values()}


def network_rule_label(rule: AlertRule, names: dict[int, str]) -> str:
    """'Members' stories (…)' for a network rule, '' for an own one."""
    if rule.scope != Scope.NETWORK:
        return ""
    chosen = [names[pk] for pk in rule.network_members if pk in names]
    kinds = [ServiceType(kind).label for kind in rule.service_types if kind in ServiceType.values]
    if rule.network_members:
        label = f"Stories at {', '.join(chosen) or 'members no longer sharing their stories'}"
    else:
        label = "Stories at every network member"
    return f"{label}{', ' if kinds else ''}{', '.join(kinds).lower()}"
