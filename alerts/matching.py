"""Which rules a story matches, and who each rule emails."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerts.models import AlertRule
from feedback.choices import Criticality
from feedback.models import Service, Story
from feedback.service_limits import allowed_for

RANK = {value: index for index, value in enumerate(Criticality.values)}


@dataclass(frozen=True)
class StoryFacts:
    criticality: str
    service_ids: frozenset[int]
    tag_ids: frozenset[int]
    text: str

    @classmethod
    def of(cls, story: Story) -> StoryFacts:
        return cls(
            criticality=story.criticality,
            service_ids=frozenset(s.pk for s in story.services.all()),
            tag_ids=frozenset(t.pk for t in story.tags.all()),
            text=f"{story.title}\n{story.body}".lower(),
        )


@dataclass(frozen=True)
class RuleScope:
    """A rule's conditions, resolved once (services expanded to their children)."""

    rule: AlertRule
    service_ids: frozenset[int]
    tag_ids: frozenset[int]
    words: tuple[str, ...]

    @classmethod
    def of(cls, rule: AlertRule) -> RuleScope:
        services: set[int] = set()
        for service in rule.services.all():
            services.update(service.subtree_ids())
        return cls(
            rule=rule,
            service_ids=frozenset(services),
            tag_ids=frozenset(t.pk for t in rule.tags.all()),
            words=tuple(rule.word_list()),
        )

    def matches(self, story: StoryFacts) -> bool:
        if RANK[story.criticality] < RANK[self.rule.min_criticality]:
            return False
        if self.service_ids and not (story.service_ids & self.service_ids):
            return False
        if self.tag_ids and not (story.tag_ids & self.tag_ids):
            return False
        return not self.words or any(word in story.text for word in self.words)


def scopes(rules: list[AlertRule]) -> list[RuleScope]:
    return [RuleScope.of(rule) for rule in rules]


def recipients(rule: AlertRule, about: Iterable[int] | None) -> list[str]:
    """Active staff on the rule, then its extra addresses; each address once. `about`: the
    services (of this organisation) the alert is about, or None when it is about many at
    once (a digest) or not about this organisation's services: staff limited to some
    services hear only of their own (feedback/service_limits.py)."""
    people = [u for u in rule.recipients.all() if u.is_active]
    allowed = allowed_for([u.pk for u in people], about)
    emails = [u.email for u in people if u.pk in allowed]
    return list(dict.fromkeys([*emails, *rule.extra_addresses]))


def all_services() -> dict[int, Service]:
    return {s.pk: s for s in Service.objects.all()}


@dataclass(frozen=True)
class NetworkStoryFacts:
    """What a lead's network rules may know of a member's published story: the hub's public
    copy only, and only the services of members the lead may watch."""

    public_story_id: int
    criticality: str
    # (member organisation id, service type) for each service the story names at a member
    # the lead watches (alerts/network_alerts.py `watched_members`).
    services: frozenset[tuple[int, str]]
    # Public tags, by name, in lower case.
    tag_names: frozenset[str]
    text: str


@dataclass(frozen=True)
class NetworkRuleScope:
    """A network rule's conditions: members, service types, tags (by name), words and
    criticality."""

    rule: AlertRule
    member_ids: frozenset[int]
    service_types: frozenset[str]
    tag_names: frozenset[str]
    words: tuple[str, ...]

    @classmethod
    def of(cls, rule: AlertRule) -> NetworkRuleScope:
        return cls(
            rule=rule,
            member_ids=frozenset(rule.network_members),
            service_types=frozenset(rule.service_types),
            tag_names=frozenset(t.name.lower() for t in rule.tags.all()),
            words=tuple(rule.word_list()),
        )

    def matches(self, story: NetworkStoryFacts) -> bool:
        if RANK[story.criticality] < RANK[self.rule.min_criticality]:
            return False
        services = [
            kind
            for member, kind in story.services
            if not self.member_ids or member in self.member_ids
        ]
        if not services:
            return False
        if self.service_types and not self.service_types.intersection(services):
            return False
        if self.tag_names and not (story.tag_names & self.tag_names):
            return False
        return not self.words or any(word in story.text for word in self.words)
