"""The demo's network discussion (demo step "feedback.network_discussion"): the ICB asks a
provider about one of its published stories and the provider replies, and the ICB refers
another of that provider's stories to a second provider, "this concerns you". Seeding twice
changes nothing."""

from __future__ import annotations

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import NetworkDiscussionNote, PublicStory, ServiceListing, StoryReferral
from feedback.network_discussion import ask_to_add_services, refer_story, write_note
from tenants.accounts.models import Role, User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.models import (
    MembershipStatus,
    Network,
    NetworkMembership,
    Organisation,
    OrganisationKind,
    public_url,
)

LEAD_NOTE = (
    "We have seen this story at the quality committee. Has the discharge delay been raised "
    "with the ward team, and is there a date for the new discharge lounge?"
)
PROVIDER_REPLY = (
    "Yes: the ward manager has met the pharmacy team and medicines to take home are now "
    "prepared the evening before. The discharge lounge opens next month; we will post the "
    "change on the story."
)
REFERRAL_NOTE = (
    "This concerns you: the author describes the handover to the community mental health "
    "team after discharge. Could your team look at it with the hospital?"
)


def _first_staff(organisation: Organisation, role: Role) -> User:
    with tenant_context(organisation):
        return User.objects.filter(is_active=True, role=role).order_by("pk").first()


def _stories_of(organisation: Organisation, *, not_naming: Organisation) -> list[PublicStory]:
    return list(
        PublicStory.objects.filter(organisations=organisation)
        .exclude(organisations=not_naming)
        .order_by("published_at", "pk")[:2]
    )


def seed_network_discussion_step(context: DemoContext) -> dict | None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        network = (
            Network.objects.filter(name=NETWORK_NAME, lead__kind=OrganisationKind.CCG_ICB)
            .select_related("lead")
            .first()
        )
        if network is None:
            return None
        members = [
            m.organisation
            for m in NetworkMembership.objects.filter(
                network=network,
                status=MembershipStatus.ACTIVE,
                benchmarking_consent=True,
                organisation__in=context.organisations,
            ).select_related("organisation")
        ]
        if len(members) < 2:
            return None
        provider, other = members[0], members[1]
        stories = _stories_of(provider, not_naming=other)
        if len(stories) < 2:
            return None
        discussed, referred = stories
    lead = network.lead
    if not NetworkDiscussionNote.objects.filter(network=network).exists():
        write_note(
            network=network,
            public_story_id=discussed.pk,
            member=provider,
            writer_organisation=lead,
            writer=_first_staff(lead, Role.ADMINISTRATOR),
            text=LEAD_NOTE,
        )
        write_note(
            network=network,
            public_story_id=discussed.pk,
            member=provider,
            writer_organisation=provider,
            writer=_first_staff(provider, Role.RESPONDER),
            text=PROVIDER_REPLY,
        )
    if not StoryReferral.objects.filter(network=network).exists():
        refer_story(
            lead=lead,
            public_story_id=referred.pk,
            membership=NetworkMembership.objects.get(network=network, organisation=other),
            referrer=_first_staff(lead, Role.ADMINISTRATOR),
            note=REFERRAL_NOTE,
        )
    waiting = StoryReferral.objects.filter(network=network, service_request_at__isnull=True)
    for asked in waiting.select_related("referred_to"):
        # The referred member asks the moderators to add one of its services: the request
        # waits on the hub's "Network referrals" page.
        listing = (
            ServiceListing.objects.filter(organisation=asked.referred_to, is_active=True)
            .order_by("pk")
            .first()
        )
        if listing is not None:
            ask_to_add_services(
                asked,
                organisation=asked.referred_to,
                services=[listing],
                asker=_first_staff(asked.referred_to, Role.RESPONDER),
            )
    thread = NetworkDiscussionNote.objects.filter(network=network).order_by("pk").first()
    referral = StoryReferral.objects.filter(network=network).select_related(
        "referred_to", "public_story"
    )
    referral = referral.first()
    return {
        "lead": lead,
        "provider": thread.member if thread else provider,
        "discussed": thread.public_story if thread else discussed,
        "referral": referral,
    }


def describe_network_discussion(context: DemoContext) -> list[str]:
    seeded = context.results.get("feedback.network_discussion")
    if not seeded:
        return []
    lead, provider, story = seeded["lead"], seeded["provider"], seeded["discussed"]
    lines = [
        f"  Network discussion: {lead.name} and {provider.name} on “{story.title}”: "
        f"{lead.workspace_url(f'/network/stories/{story.pk}/discussion/')} (the provider "
        "sees it on its own story page)",
    ]
    referral = seeded["referral"]
    if referral is not None:
        lines.append(
            f"  Referred story: “{referral.public_story.title}” referred to "
            f"{referral.referred_to.name}, in its Stories inbox: "
            f"{referral.referred_to.workspace_url(f'/network/referrals/{referral.pk}/')}"
        )
        if referral.service_request_at is not None:
            lines.append(
                "  It asks the moderators to publish it under its services too: waiting on "
                f"{public_url(settings.BASE_DOMAIN, '/moderation/referrals/')}"
            )
    return lines
