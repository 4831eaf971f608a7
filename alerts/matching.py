"""Which rules a story matches, and who each rule emails."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import AlertRule
from feedback.choices import Criticality
from feedback.models import Service, Story

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


def recipients(rule: AlertRule) -> list[str]:
    """Active staff on the rule, then its extra addresses; each address once."""
    emails = [u.email for u in rule.recipients.all() if u.is_active]
    return list(dict.fromkeys([*emails, *rule.extra_addresses]))


def all_services() -> dict[int, Service]:
    return {s.pk: s for s in Service.objects.all()}
