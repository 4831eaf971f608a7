"""Learned themes in the demo: each provider's themes learned from its stories, as the
nightly run does (after the emerging-theme demo, whose finding stays as it is documented).
Learned again each time the demo is seeded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_tenants.utils import tenant_context

from feedback.models import LearnedTopic
from feedback.topics import fit_topics
from tenants.models import Organisation

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


@dataclass(frozen=True)
class TopicsDemo:
    organisation: Organisation | None
    labels: tuple[str, ...] = ()
    stories: int = 0


def seed_topics(providers: list[Organisation]) -> TopicsDemo:
    first: TopicsDemo = TopicsDemo(None)
    for organisation in providers:
        with tenant_context(organisation):
            fitted = fit_topics()
            labels = tuple(t.label for t in LearnedTopic.objects.all()[:4])
        if first.organisation is None and fitted.topics:
            first = TopicsDemo(organisation, labels, fitted.stories)
    return first


def seed_topics_step(context: DemoContext) -> TopicsDemo:
    return seed_topics(context.results["feedback"].providers)


def describe_topics(context: DemoContext) -> list[str]:
    demo: TopicsDemo = context.results["feedback.topics"]
    if demo.organisation is None:
        return []
    return [
        f"\n  Learned themes: {demo.organisation.name}'s {demo.stories} stories fall into "
        f"themes such as {'; '.join(demo.labels)}: rename them at "
        f"{demo.organisation.workspace_url('/themes/')}; on the live dashboard and in the "
        "stories summary",
    ]
