"""The network alerts part of the demo: the ICB's rules about its members' stories, and a few
members' stories published now that fired them (sent AlertDelivery rows, on the ICB's "Emails
sent" page), beside one at a member that does not consent and one at a member that left,
which did not.

Registered as the demo's "alerts.network" step (alerts/apps.py), after dashboards' (which
brings the rest of the network's members in, consenting or not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertDelivery, AlertRule, Frequency, Scope
from alerts.network_alerts import evaluate_network_story
from feedback.choices import (
    AgeGroup,
    AuthorRole,
    Criticality,
    ServiceType,
    SubmissionRoute,
)
from feedback.hub.models import PublicStory, ServiceListing
from feedback.publishing import StoryToPublish, import_published_stories
from feedback.rendering import compose_body
from tenants.accounts.models import Role, User
from tenants.demo_steps import DemoContext
from tenants.models import Organisation, OrganisationKind


@dataclass(frozen=True)
class DemoMemberStory:
    member_slug: str
    title: str
    improve: str
    criticality: str
    # Whether the ICB's rules may fire on it (the member is active and consents).
    fires: bool


STORIES = [
    DemoMemberStory(
        "northshire-hospitals",
        "Sent home without my medication",
        "My father was discharged late at night without his medication or a letter for his GP.",
        Criticality.STRONGLY_CRITICAL,
        True,
    ),
    DemoMemberStory(
        "eastfield-community",
        "Nobody came to change the dressing",
        "The district nurses missed two visits in a row and nobody rang to say why.",
        Criticality.SEVERELY_CRITICAL,
        True,
    ),
    DemoMemberStory(
        "westgate-care-home",
        "Mum's room was cold all week",
        "The heating in Mum's room was broken for a week before anyone fixed it.",
        Criticality.STRONGLY_CRITICAL,
        False,  # Westgate does not consent to being compared
    ),
    DemoMemberStory(
        "old-mill-hospice",
        "The day hospice closed without notice",
        "We turned up for the day hospice and found it closed; nobody had told us.",
        Criticality.STRONGLY_CRITICAL,
        False,  # Old Mill left the network
    ),
]


@dataclass(frozen=True)
class NetworkAlertsDemo:
    lead: Organisation
    rules: int
    sent: int


def seed_network_alerts_step(context: DemoContext) -> NetworkAlertsDemo:
    lead = next(o for o in context.organisations if o.kind == OrganisationKind.CCG_ICB)
    return seed_network_alerts_demo(lead)


def seed_network_alerts_demo(lead: Organisation) -> NetworkAlertsDemo:
    """Idempotent: a second run finds the rules and changes nothing."""
    with tenant_context(lead):
        if not AlertRule.objects.filter(scope=Scope.NETWORK).exists():
            _seed_rules()
            public_ids = _publish_member_stories()
            for public_id in public_ids:
                evaluate_network_story(public_id)
        return NetworkAlertsDemo(
            lead=lead,
            rules=AlertRule.objects.filter(scope=Scope.NETWORK).count(),
            sent=AlertDelivery.objects.filter(public_story_id__isnull=False, state="sent").count(),
        )


def _seed_rules() -> None:
    admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
    member = User.objects.filter(role=Role.MEMBER).order_by("pk").first() or admin
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        hospitals = Organisation.objects.filter(slug="northshire-hospitals").first()
    serious = AlertRule.objects.create(
        name="Serious stories at our providers",
        owner=admin,
        scope=Scope.NETWORK,
        min_criticality=Criticality.STRONGLY_CRITICAL,
        frequency=Frequency.INSTANT,
    )
    serious.recipients.add(admin, member)
    discharge = AlertRule.objects.create(
        name="Discharge at Northshire Hospitals",
        owner=admin,
        scope=Scope.NETWORK,
        network_members=[hospitals.pk] if hospitals else [],
        words="discharge, discharged, medication",
        frequency=Frequency.INSTANT,
    )
    discharge.recipients.add(admin)
    community = AlertRule.objects.create(
        name="Community and GP services, every morning",
        owner=member,
        scope=Scope.NETWORK,
        service_types=[ServiceType.COMMUNITY_TEAM, ServiceType.GENERAL_PRACTICE],
        frequency=Frequency.DAILY,
    )
    community.recipients.add(member)


def _publish_member_stories() -> list[int]:
    """The members' stories, published now (after every member joined), as the import path
    publishes them; returns their public ids."""
    stories = []
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for demo in STORIES:
            listing = (
                ServiceListing.objects.filter(organisation__slug=demo.member_slug)
                .order_by("pk")
                .first()
            )
            if listing is None:
                continue
            # Now: after the members joined (their stories count from then).
            published_at = timezone.now()
            stories.append(
                StoryToPublish(
                    title=demo.title,
                    body=compose_body(
                        {
                            "what_was_good": "",
                            "what_could_be_improved": demo.improve,
                            "how_it_felt": "Let down.",
                        }
                    ),
                    criticality=demo.criticality,
                    author_role=AuthorRole.RELATIVE,
                    author_age_group=AgeGroup.AGE_55_64,
                    submission_route=SubmissionRoute.WEB,
                    submitted_at=published_at - timedelta(hours=6),
                    published_at=published_at,
                    listings=[listing],
                    tag_keys=["what could be improved:communication"],
                )
            )
        import_published_stories(stories)
        return list(
            PublicStory.objects.filter(title__in=[s.title for s in stories])
            .order_by("published_at")
            .values_list("pk", flat=True)
        )


def describe_network_alerts_demo(context: DemoContext) -> list[str]:
    result: NetworkAlertsDemo | None = context.results.get("alerts.network")
    if result is None:
        return []
    return [
        f"\n  Network alerts: {result.rules} rules of the ICB about its members' stories; "
        f"{result.sent} alert emails sent (none for a member that does not consent or left) "
        f"at {result.lead.workspace_url('/alerts/sent/')}"
    ]
