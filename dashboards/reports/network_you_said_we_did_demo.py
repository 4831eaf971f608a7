"""The network You said, we did part of the demo: the ICB lists its own website as a site
allowed to show its widget and embeds (tenants/embedding.py, as its administrator would on
the Widget page), so the network's You said, we did can be framed there; the step prints the
public page, the embed and the workspace page with the snippets.

Registered as the demo's "reports.network_you_said_we_did" step (dashboards/apps.py), after
billing has given the ICB its plan (the page is public while the plan includes network
comparison). Seeding again changes nothing: a host already listed is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards.reports.network_you_said_we_did import default_period, network_changes_made
from tenants.accounts.models import Role, User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.embedding import set_embed_hosts
from tenants.models import Network, Organisation, public_url

ICB_WEBSITE = "www.northshire-icb.example"


@dataclass(frozen=True)
class NetworkYouSaidWeDidDemo:
    network: Network
    embed_hosts: list[str]
    # Members shown, and how many changes made they have in the last two months.
    members: list[tuple[str, int]]


def seed_network_you_said_we_did_demo(
    network_name: str = NETWORK_NAME,
) -> NetworkYouSaidWeDidDemo:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        network = Network.objects.select_related("lead").get(name=network_name)
    lead: Organisation = network.lead
    if ICB_WEBSITE not in lead.embed_hosts:
        with tenant_context(lead):
            admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
            lead = set_embed_hosts(lead, [*lead.embed_hosts, ICB_WEBSITE], actor=admin)
        network.lead = lead
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        start, end = default_period(timezone.localdate())
        members = [
            (m.organisation.name, len(m.changes) + m.more)
            for m in network_changes_made(network, start, end)
        ]
    return NetworkYouSaidWeDidDemo(network, list(lead.embed_hosts), members)


def seed_network_you_said_we_did_step(context: DemoContext) -> NetworkYouSaidWeDidDemo:
    return seed_network_you_said_we_did_demo()


def _hub(name: str, slug: str) -> str:
    path = reverse(name, args=[slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return public_url(settings.BASE_DOMAIN, path)


def describe_network_you_said_we_did_demo(context: DemoContext) -> list[str]:
    demo: NetworkYouSaidWeDidDemo = context.results["reports.network_you_said_we_did"]
    slug = demo.network.slug
    with_changes = sum(1 for _, count in demo.members if count)
    return [
        f"\n  Network You said, we did ({demo.network.name}, {with_changes} of "
        f"{len(demo.members)} consenting members with changes made in the last two months): "
        f"{_hub('hub:network_you_said_we_did', slug)}",
        f"    embed (framed only by {', '.join(demo.embed_hosts)}): "
        f"{_hub('hub:network_you_said_we_did_embed', slug)}",
        f"    snippets: {demo.network.lead.workspace_url('/reports/network-you-said-we-did/')}",
    ]
