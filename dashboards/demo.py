"""The dashboards part of the demo: more providers in the Northshire network, so its
comparison has a spread to show (one too small to compare, one that did not consent, one
that left), then rollups rebuilt so missed targets are counted, and some authors' marks on
responses (helpful or not, change happened or not), given through the author's own operations.

Registered as the demo's "dashboards" step (dashboards/apps.py), after feedback's: the
rebuilt rollups count the stories feedback's step made."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards.rollups.rebuilding import rebuild_rollups
from feedback.choices import ChangeStatus, Criticality, ServiceType
from feedback.demo import SORRY, SPECIFIC, THANKS, demo_story
from feedback.followup import confirm_change, mark_helpful
from feedback.hub.models import PublicResponse, ServiceListing
from feedback.models import Service, Story
from feedback.publishing import import_published_stories
from feedback.responding import Draft, ResponseToImport, import_responses
from feedback.sites_and_services import create_site, save_service
from tenants.accounts.models import User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.models import (
    MembershipStatus,
    Network,
    NetworkMembership,
    Organisation,
    OrganisationKind,
    Region,
)
from tenants.networks import (
    accept_invitation,
    invite_organisation,
    leave_network,
)
from tenants.provisioning import provision_organisation


@dataclass(frozen=True)
class Provider:
    slug: str
    name: str
    kind: str
    ods_code: str
    services: tuple[tuple[str, str], ...]
    stories: int
    # Share of stories answered, and how the provider stands in the network.
    answered: float
    membership: str = "consenting"  # or "no consent", "left"


PROVIDERS = [
    Provider(
        "eastfield-community",
        "Eastfield Community Health NHS Trust",
        OrganisationKind.COMMUNITY_TRUST,
        "R9C",
        (("District nursing", ServiceType.COMMUNITY_TEAM), ("Podiatry", ServiceType.CLINIC)),
        420,
        0.86,
    ),
    Provider(
        "coastal-ambulance",
        "Coastal Ambulance Service NHS Trust",
        OrganisationKind.AMBULANCE_TRUST,
        "R9D",
        (("Emergency response", ServiceType.AMBULANCE), ("NHS 111", ServiceType.OTHER)),
        640,
        0.48,
    ),
    Provider(
        "harbourside-hospice",
        "Harbourside Hospice",
        OrganisationKind.HOSPICE,
        "HSP9H",
        (("Inpatient unit", ServiceType.HOSPICE), ("Hospice at home", ServiceType.HOSPICE)),
        130,
        0.95,
    ),
    Provider(
        "riverbank-practice",
        "Riverbank Medical Practice",
        OrganisationKind.GP_PRACTICE,
        "Y99001",
        (("Riverbank Medical Practice", ServiceType.GENERAL_PRACTICE),),
        90,
        0.35,
    ),
    Provider(
        "millbrook-surgery",
        "Millbrook Surgery",
        OrganisationKind.GP_PRACTICE,
        "Y99002",
        (("Millbrook Surgery", ServiceType.GENERAL_PRACTICE),),
        5,
        1.0,
    ),
    Provider(
        "westgate-care-home",
        "Westgate Care Home",
        OrganisationKind.CARE_HOME,
        "CH9W1",
        (("Residential care", ServiceType.CARE_HOME),),
        60,
        0.7,
        membership="no consent",
    ),
    Provider(
        "old-mill-hospice",
        "Old Mill Hospice",
        OrganisationKind.HOSPICE,
        "HSP9M",
        (("Day hospice", ServiceType.HOSPICE),),
        70,
        0.9,
        membership="left",
    ),
]


def seed_dashboards_demo(network_name: str, *, scale: float = 1.0) -> list[Organisation]:
    """Add the demo's comparison providers to the network (idempotent), and rebuild every
    organisation's rollups. `scale` shrinks their stories (never below what keeps the small
    ones small and the others comparable). Returns the providers."""
    with schema_context("public"):
        network = Network.objects.get(name=network_name)
    providers = []
    for index, provider in enumerate(PROVIDERS):
        organisation, made = _provider(provider)
        if made:
            _seed_services(organisation, provider)
            count = (
                provider.stories
                if provider.stories < 8
                else max(12, round(provider.stories * scale))
            )
            _seed_stories(organisation, provider, count, random.Random(4242 + index))
            _join(network, organisation, provider)
        providers.append(organisation)
    with schema_context("public"):
        everyone = list(Organisation.objects.ready())
    for organisation in everyone:
        rebuild_rollups(organisation)
        _seed_author_marks(organisation)
    return providers


# The latest responses of each organisation whose authors may have said something of them.
MARKABLE_RESPONSES = 150


def _seed_author_marks(organisation: Organisation) -> None:
    """Some authors say whether a response helped and whether the change it claims happened.
    Each response's marks are drawn from its own id, so seeding again marks nothing new."""
    with schema_context("public"):
        responses = PublicResponse.objects.filter(organisation=organisation).select_related(
            "organisation"
        )
        for response in responses.order_by("-published_at", "-pk")[:MARKABLE_RESPONSES]:
            if response.author_found_helpful is not None:
                continue
            rng = random.Random(response.pk)
            if rng.random() < 0.5:
                mark_helpful(response, rng.random() < 0.7)
            claims_change = response.change_status != ChangeStatus.NONE
            if claims_change and response.author_confirms_change is None and rng.random() < 0.6:
                confirm_change(response, rng.random() < 0.8)


def seed_dashboards_step(context: DemoContext) -> list[Organisation]:
    return seed_dashboards_demo(NETWORK_NAME, scale=min(1.0, context.stories / 5000))


def describe_dashboards_demo(context: DemoContext) -> list[str]:
    """Where the live dashboard and the network comparison are."""
    providers: list[Organisation] = context.results["dashboards"]
    trust = context.organisations[0]
    lead = next(o for o in context.organisations if o.kind == OrganisationKind.CCG_ICB)
    return [
        f"\n  Dashboards: live at {trust.workspace_url('/dashboards/live/')}\n"
        f"    network comparison ({NETWORK_NAME}, {len(providers)} more providers) at "
        f"{lead.workspace_url('/dashboards/network/')}"
    ]


def _provider(provider: Provider) -> tuple[Organisation, bool]:
    with schema_context("public"):
        existing = Organisation.objects.filter(slug=provider.slug).first()
        if existing is not None:
            return existing, False
        return provision_organisation(
            name=provider.name,
            slug=provider.slug,
            kind=provider.kind,
            ods_code=provider.ods_code,
            region=Region.NORTH_EAST_AND_YORKSHIRE,
            admin_email=f"admin@{provider.slug}.example",
            admin_name="Jordan Lee",
            admin_password=None,
        ).organisation, True


def _seed_services(organisation: Organisation, provider: Provider) -> None:
    with tenant_context(organisation), transaction.atomic():
        site = create_site(name=provider.name, code="")
        for name, kind in provider.services:
            save_service(Service(site=site, name=name, code="", type=kind))


def _seed_stories(
    organisation: Organisation, provider: Provider, count: int, rng: random.Random
) -> None:
    with schema_context("public"):
        listings = list(ServiceListing.objects.filter(organisation=organisation).order_by("pk"))
    now = timezone.now()
    stories = []
    for _ in range(count):
        published_at = now - timedelta(
            days=500 * (1 - rng.random() ** 0.8), hours=rng.randint(0, 9)
        )
        stories.append(demo_story(rng, [rng.choice(listings)], published_at))
    with schema_context("public"):
        import_published_stories(stories)
    with tenant_context(organisation):
        responder = User.objects.order_by("pk").first()
        items = []
        for story in Story.objects.prefetch_related("services").order_by("published_at"):
            if rng.random() > provider.answered:
                continue
            critical = story.criticality not in (
                Criticality.NOT_CRITICAL,
                Criticality.MINIMALLY_CRITICAL,
            )
            at = story.published_at + timedelta(hours=rng.uniform(2, 30 if critical else 300))
            if at > now:
                continue
            service = story.services.all()[0].name
            opening = rng.choice(SORRY if critical else THANKS).format(service=service)
            body = f"{opening} {rng.choice(SPECIFIC)}\n\n{responder.full_name}, Patient Experience"
            items.append(ResponseToImport(story, responder, Draft(body), at))
        import_responses(items)


def _join(network: Network, organisation: Organisation, provider: Provider) -> None:
    with schema_context("public"):
        membership = NetworkMembership.objects.filter(
            network=network, organisation=organisation
        ).first() or invite_organisation(network, organisation)
        if membership.status != MembershipStatus.INVITED:
            return
        accept_invitation(membership, benchmarking_consent=provider.membership != "no consent")
        if provider.membership == "left":
            leave_network(membership)
