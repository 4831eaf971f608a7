"""The network standards part of the demo: the ICB sets response standards for the Northshire
Provider Network (the issue's own words: seven days for the least critical stories, the same
day for serious ones), and two providers' recent stories show the difference they make.
Harbourside Hospice answers within two hours of each story, Coastal Ambulance Service takes
nine days or not at all; both through the same import operations as the rest of the demo, so
the comparison and the committee pack find Coastal missing the standards, from its own data.

Registered as the demo's "network_standards" step (dashboards/apps.py), after the
"dashboards" step that makes those providers. Seeding again changes nothing: once the
network has standards, the step only reports them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards.compliance import Compliance, member_compliance
from dashboards.network_standards import StandardsClock, set_network_standards, standards_of
from dashboards.rollups.rebuilding import rebuild_rollups
from feedback.demo import SORRY, SPECIFIC, THANKS, demo_story
from feedback.hub.models import ServiceListing
from feedback.models import Story
from feedback.publishing import import_published_stories
from feedback.responding import Draft, ResponseToImport, import_responses
from tenants.accounts.models import Role, User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.models import Network, Organisation

STANDARDS = {
    "not critical": "7 days",
    "minimally critical": "7 days",
    "mildly critical": "7 days",
    "moderately critical": "2 days",
    "strongly critical": "same day",
    "severely critical": "same day",
}
MET_PERCENT = 70
PROMPT = "harbourside-hospice"
SLOW = "coastal-ambulance"
# The recent stories each gets, on working days 12 to about 40 days ago at 10:30.
RECENT_STORIES = 20
PERIOD_DAYS = 60


@dataclass(frozen=True)
class StandardsDemo:
    network: Network
    start: date
    end: date
    # (provider, its compliance over the period), prompt first.
    members: list[tuple[Organisation, Compliance]]


def _working_mornings(count: int, today: date) -> list[datetime]:
    mornings, day = [], today - timedelta(days=12)
    while len(mornings) < count:
        if day.weekday() < 5:
            mornings.append(timezone.make_aware(datetime.combine(day, time(10, 30))))
        day -= timedelta(days=1)
    return mornings


def _seed_recent(organisation: Organisation, *, prompt: bool, rng: random.Random) -> None:
    """Recent stories for `organisation`, answered by 12:00 the same day (prompt) or nine
    days later, a third of them never (slow)."""
    with schema_context("public"):
        listings = list(ServiceListing.objects.filter(organisation=organisation).order_by("pk"))
        stories = [
            demo_story(rng, [rng.choice(listings)], at)
            for at in _working_mornings(RECENT_STORIES, timezone.localdate())
        ]
        import_published_stories(stories)
    published = {s.published_at for s in stories}
    with tenant_context(organisation):
        responder = User.objects.order_by("pk").first()
        items = []
        recent = Story.objects.filter(published_at__in=published).prefetch_related("services")
        for index, story in enumerate(recent.order_by("published_at", "pk")):
            if not prompt and index % 3 == 0:
                continue  # never answered: an open breach once its standard has passed
            wait = timedelta(hours=1, minutes=30) if prompt else timedelta(days=9)
            service = story.services.all()[0].name
            critical = story.criticality not in ("not critical", "minimally critical")
            opening = rng.choice(SORRY if critical else THANKS).format(service=service)
            body = f"{opening} {rng.choice(SPECIFIC)}\n\n{responder.full_name}, Patient Experience"
            items.append(ResponseToImport(story, responder, Draft(body), story.published_at + wait))
        import_responses(items)
    rebuild_rollups(organisation)


def seed_network_standards_demo(network_name: str = NETWORK_NAME) -> StandardsDemo:
    with schema_context("public"):
        network = Network.objects.select_related("lead").get(name=network_name)
        prompt = Organisation.objects.get(slug=PROMPT)
        slow = Organisation.objects.get(slug=SLOW)
    if standards_of(network) is None:
        _seed_recent(prompt, prompt=True, rng=random.Random(1717))
        _seed_recent(slow, prompt=False, rng=random.Random(1718))
        with tenant_context(network.lead):
            admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
            set_network_standards(network, STANDARDS, met_percent=MET_PERCENT, actor=admin)
    end = timezone.localdate()
    start = end - timedelta(days=PERIOD_DAYS - 1)
    clock = StandardsClock.of(standards_of(network))
    assert clock is not None
    figures = member_compliance([prompt.pk, slow.pk], start, end, clock, timezone.now())
    return StandardsDemo(
        network, start, end, [(prompt, figures[prompt.pk]), (slow, figures[slow.pk])]
    )


def seed_network_standards_step(context: DemoContext) -> StandardsDemo:
    return seed_network_standards_demo()


def describe_network_standards_demo(context: DemoContext) -> list[str]:
    demo: StandardsDemo = context.results["network_standards"]
    lead = demo.network.lead
    lines = [
        f"\n  Network standards: {lead.name} sets them at "
        f"{lead.workspace_url('/dashboards/standards/')}; members see them on their "
        "Response targets page. Over the last two months:"
    ]
    for organisation, figures in demo.members:
        shown = figures.shown()
        share = shown["share"] + ("%" if shown["share"].isdigit() else "")
        pack = (
            f"/reports/committee/?network={demo.network.pk}&provider={organisation.pk}"
            f"&start={demo.start}&end={demo.end}"
        )
        lines.append(
            f"    {organisation.name}: {shown['met']}; answered in time: {share}; open "
            f"breaches: {shown['breaches']}; pack at {lead.workspace_url(pack)}"
        )
    return lines
