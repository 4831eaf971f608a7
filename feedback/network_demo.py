"""The network story log in the demo: the ICB's staff have followed three of its members'
stories up offline (the most critical ones), each logged through the product's own
operation. Made once: seeding the demo again adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from feedback.choices import Criticality
from feedback.hub.models import PublicStory
from feedback.models import NetworkFollowUp
from feedback.network_follow_ups import log_follow_up
from feedback.network_inbox import network_members
from tenants.accounts.models import User
from tenants.models import Organisation, OrganisationKind

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

# (who at the ICB, who they spoke to, the outcome), one per story.
FOLLOW_UPS = [
    (
        "admin",
        "Ward Manager and Matron, by phone",
        "Agreed the ward will review night staffing with the family's concerns in mind; the "
        "Matron will report back at the next quality meeting.",
    ),
    (
        "member",
        "Head of Patient Experience, by email",
        "The trust had already met the author through PALS. No further action for the ICB.",
    ),
    (
        "admin",
        "Service lead, community mental health team, at the contract review",
        "Waiting times raised with the provider; a recovery plan is due in six weeks.",
    ),
]


@dataclass(frozen=True)
class NetworkFollowUpDemo:
    lead: Organisation | None
    entries: int


def seed_network_follow_ups(organisations: list[Organisation]) -> NetworkFollowUpDemo:
    lead = next((o for o in organisations if o.kind == OrganisationKind.CCG_ICB), None)
    if lead is None:
        return NetworkFollowUpDemo(None, 0)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        members = network_members(lead)
        stories = list(
            PublicStory.objects.filter(
                publicstoryorganisation__organisation__in=members,
                criticality__in=[
                    Criticality.STRONGLY_CRITICAL,
                    Criticality.SEVERELY_CRITICAL,
                    Criticality.MODERATELY_CRITICAL,
                ],
            )
            .distinct()
            .order_by("-published_at", "-id")[: len(FOLLOW_UPS)]
        )
    with tenant_context(lead):
        if not NetworkFollowUp.objects.exists():
            for story, (who, spoke_with, outcome) in zip(stories, FOLLOW_UPS, strict=False):
                author = User.objects.get(email__startswith=f"{who}@")
                member_id = (
                    story.publicstoryorganisation_set.filter(organisation__in=members)
                    .order_by("organisation__name")
                    .values_list("organisation_id", flat=True)
                    .first()
                )
                log_follow_up(
                    lead,
                    story.pk,
                    member_id=member_id,
                    spoke_with=spoke_with,
                    outcome=outcome,
                    author=author,
                )
        return NetworkFollowUpDemo(lead, NetworkFollowUp.objects.count())


def seed_network_follow_ups_step(context: DemoContext) -> NetworkFollowUpDemo:
    return seed_network_follow_ups(context.organisations)


def describe_network_follow_ups(context: DemoContext) -> list[str]:
    demo: NetworkFollowUpDemo = context.results["feedback.network_follow_ups"]
    if demo.lead is None:
        return []
    return [
        f"\n  Network inbox: {demo.lead.name} reads its members' stories at "
        f"{demo.lead.workspace_url('/network/stories/')}",
        f"    its story log ({demo.entries} offline follow-ups, CSV export) at "
        f"{demo.lead.workspace_url('/network/log/')}",
    ]
