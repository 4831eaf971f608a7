"""The network's shared discussion: a lead and one member talk about one of the member's
published stories, and a lead refers a story to another member ("this concerns you").

Who sees what (issue #17, the consent rules of tenants/networks.py):
- A thread is (network, published story, member). Its notes are seen by the staff of the
  network's lead and of that member only: never in public, never by another member.
- The lead sees and writes in a thread only while the member is an ACTIVE member that
  CONSENTS (`NetworkMembership.is_comparable`) and the story is published naming it. A
  member that leaves or withdraws its consent takes the thread out of the lead's sight: the
  lead can neither read nor add to it. The member still reads its past thread (read-only,
  since the lead would not see a new note); it can write again once it consents again.
- Each note is audited in the writer's own schema and alerts the other organisation's
  administrators and responders through the outbox (`enqueue_email` in the note's
  transaction, keyed by note and recipient, so each is sent once). The email names the story
  and links to the discussion; it carries no author contact details (staff never have them).
- A referral goes to an active, consenting member the story does not name yet. Publishing
  the story under that member's services stays a moderator's decision: the member asks for
  it (`ask_to_add_services`), which is recorded, audited and emailed to platform staff; the
  story itself is not changed here.

Everything is stored in the public schema (feedback/hub/models.py), as networks are. The
reads behind workspace pages run in the request's schema: the public schema's tables are on
every organisation's search path, so the story page and the inbox pay no extra
`SET search_path` (the routing target). Writes name their schemas.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import (
    NetworkDiscussionNote,
    PublicStory,
    PublicStoryOrganisation,
    ServiceListing,
    StoryReferral,
)
from feedback.models import Story
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.messages import enqueue_email
from tenants.models import MembershipStatus, Network, NetworkMembership, Organisation, public_url

MAX_NOTE_LENGTH = 5000
# Who hears of a note at the other organisation (feedback imports no alerts, and no alert
# rule covers network notes): its active administrators and responders.
ALERTED_ROLES = (Role.ADMINISTRATOR, Role.RESPONDER)


class DiscussionError(Exception):
    """The note or referral is not allowed; the message says why."""


@dataclass(frozen=True)
class Thread:
    """One discussion as one organisation sees it."""

    network: Network
    member: Organisation
    public_story: PublicStory
    notes: list[NetworkDiscussionNote]
    # Whether the lead sees it now (active, consenting member); the member's own view of a
    # thread the lead no longer sees is read-only.
    is_open: bool


def _names_member(public_story_id: int, member: Organisation) -> bool:
    return PublicStoryOrganisation.objects.filter(
        publicstory_id=public_story_id, organisation=member
    ).exists()


def _thread_notes(network: Network, public_story: PublicStory, member: Organisation) -> list:
    return list(
        NetworkDiscussionNote.objects.filter(
            network=network, public_story=public_story, member=member
        ).select_related("written_by_organisation")
    )


def lead_threads(lead: Organisation, public_story_id: int) -> list[Thread]:
    """The threads `lead`'s staff may see on a published story: one per network it leads
    and per member the story names that is active and consents. Empty when there is none
    (the page answers 404: the story is not one the lead may discuss)."""
    story = PublicStory.objects.filter(pk=public_story_id).first()
    if story is None:
        return []
    memberships = (
        NetworkMembership.objects.filter(
            network__lead=lead,
            status=MembershipStatus.ACTIVE,
            benchmarking_consent=True,
            organisation__in=story.organisations.all(),
        )
        .exclude(organisation=lead)
        .select_related("network", "organisation")
        .order_by("network__name", "organisation__name")
    )
    return [
        Thread(
            m.network,
            m.organisation,
            story,
            _thread_notes(m.network, story, m.organisation),
            True,
        )
        for m in memberships
    ]


def member_threads(member: Organisation, public_story_id: int) -> list[Thread]:
    """The threads `member`'s staff see on its own published story: one per network it is an
    active, consenting member of (open), and any past thread of a network it left or stopped
    consenting to (read-only)."""
    memberships = list(
        NetworkMembership.objects.filter(organisation=member)
        .exclude(network__lead=member)
        .select_related("network", "network__lead")
        .order_by("network__name")
    )
    if not memberships:
        return []
    story = PublicStory.objects.filter(pk=public_story_id).first()
    if story is None or not _names_member(story.pk, member):
        return []
    threads = []
    for membership in memberships:
        notes = _thread_notes(membership.network, story, member)
        if membership.is_comparable or notes:
            threads.append(
                Thread(membership.network, member, story, notes, membership.is_comparable)
            )
    return threads


def _open_membership(network: Network, member: Organisation) -> NetworkMembership | None:
    return (
        NetworkMembership.objects.select_for_update()
        .filter(
            network=network,
            organisation=member,
            status=MembershipStatus.ACTIVE,
            benchmarking_consent=True,
        )
        .first()
    )


def _clean(text: str, *, what: str) -> str:
    text = text.strip()
    if not text:
        raise DiscussionError(f"Write something in the {what}.")
    if len(text) > MAX_NOTE_LENGTH:
        raise DiscussionError(f"Keep the {what} under 5,000 characters.")
    return text


@transaction.atomic
def write_note(
    *,
    network: Network,
    public_story_id: int,
    member: Organisation,
    writer_organisation: Organisation,
    writer: User,
    text: str,
    request=None,  # noqa: ANN001 - an HttpRequest, for the audit row's address
) -> NetworkDiscussionNote:
    """Add a note to the (network, story, member) thread, by the lead's or the member's
    staff (`writer`, an account of `writer_organisation`'s schema, which must be active).
    Audited there; the other organisation's administrators and responders are emailed."""
    text = _clean(text, what="note")
    if writer_organisation not in (network.lead, member) or member == network.lead:
        raise DiscussionError("Only the network's lead and that member discuss its story.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        if _open_membership(network, member) is None:
            raise DiscussionError(
                f"{member.name} is not an active member of {network.name} that agreed to "
                "share with it, so this discussion is closed."
            )
        story = PublicStory.objects.filter(pk=public_story_id).first()
        if story is None or not _names_member(story.pk, member):
            raise DiscussionError("That story is not one of the member's published stories.")
        note = NetworkDiscussionNote.objects.create(
            network=network,
            public_story=story,
            member=member,
            written_by_organisation=writer_organisation,
            written_by_name=writer.full_name or "A member of staff",
            written_by_job_title=writer.job_title,
            body=text,
        )
    with tenant_context(writer_organisation):
        record_audit(
            "network.discussion_noted",
            actor=writer,
            target=note,
            summary=f"Wrote in the {network.name} discussion of story {story.pk} ({member.name})",
            detail={"network": network.pk, "public_story": story.pk, "member": member.pk},
            request=request,
        )
    other = member if writer_organisation == network.lead else network.lead
    _alert_other_side(note, other)
    return note


def discussion_url(organisation: Organisation, network: Network, public_id: int) -> str:
    """Where `organisation`'s staff read the discussion: the lead's page per story, or the
    member's own story page (its "Network discussion" panel)."""
    if organisation == network.lead:
        return organisation.workspace_url(f"/network/stories/{public_id}/discussion/")
    with tenant_context(organisation):
        story_pk = Story.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
    if story_pk is None:
        return organisation.workspace_url("/stories/")
    return organisation.workspace_url(f"/stories/{story_pk}/#network-discussion")


def staff_to_alert(organisation: Organisation) -> list[tuple[int, str]]:
    with tenant_context(organisation):
        return list(
            # Not staff limited to some services (feedback/service_limits.py): the network's
            # discussion is the organisation's as a whole.
            User.objects.filter(is_active=True, role__in=ALERTED_ROLES, service_limit__isnull=True)
            .order_by("pk")
            .values_list("pk", "email")
        )


def _alert_other_side(note: NetworkDiscussionNote, other: Organisation) -> int:
    """One email per administrator and responder of `other`, keyed by note and recipient."""
    network = note.network
    story = note.public_story
    context = {
        "note": note,
        "network": network,
        "story": story,
        "writer_organisation": note.written_by_organisation,
        "member": note.member,
        "url": discussion_url(other, network, story.pk),
        "public_url": public_url(settings.BASE_DOMAIN, f"/stories/{story.pk}/"),
    }
    subject = f"{note.written_by_organisation.name} wrote about the story “{story.title}”"
    text_body = render_to_string("feedback/email/network_discussion_note.txt", context)
    recipients = staff_to_alert(other)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for account_id, address in recipients:
            enqueue_email(
                kind="feedback.network_discussion_note",
                key=f"feedback.network_discussion_note:{note.pk}:{other.pk}:{account_id}",
                recipient=address,
                subject=subject,
                text_body=text_body,
                organisation=other,
            )
    return len(recipients)


# --- referrals ------------------------------------------------------------------------------


def referral_targets(lead: Organisation, public_story_id: int) -> list[NetworkMembership]:
    """The members `lead` may refer a story to: active, consenting members of a network it
    leads whose story it may discuss, other than the organisations the story names."""
    threads = lead_threads(lead, public_story_id)
    if not threads:
        return []
    named = PublicStoryOrganisation.objects.filter(publicstory_id=public_story_id).values(
        "organisation_id"
    )
    return list(
        NetworkMembership.objects.filter(
            network__in=[t.network for t in threads],
            status=MembershipStatus.ACTIVE,
            benchmarking_consent=True,
        )
        .exclude(organisation_id__in=named)
        .exclude(organisation=lead)
        .select_related("network", "organisation")
        .order_by("organisation__name")
    )


@transaction.atomic
def refer_story(
    *,
    lead: Organisation,
    public_story_id: int,
    membership: NetworkMembership,
    referrer: User,
    note: str,
    request=None,  # noqa: ANN001
) -> StoryReferral:
    """The lead tells another member "this concerns you". Audited in the lead's schema; the
    referred member's administrators and responders are emailed."""
    note = _clean(note, what="note to the member")
    allowed = {m.pk for m in referral_targets(lead, public_story_id)}
    if membership.pk not in allowed:
        raise DiscussionError(
            "You can refer a story you may discuss to another active member that agreed to "
            "share with the network, and that the story does not name already."
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        story = PublicStory.objects.get(pk=public_story_id)
        referral, created = StoryReferral.objects.get_or_create(
            network=membership.network,
            public_story=story,
            referred_to=membership.organisation,
            defaults={"referred_by_name": referrer.full_name, "note": note},
        )
        if not created:
            raise DiscussionError(
                f"This story was referred to {membership.organisation.name} already."
            )
    with tenant_context(lead):
        record_audit(
            "network.story_referred",
            actor=referrer,
            target=referral,
            summary=f"Referred story {story.pk} to {membership.organisation.name}",
            detail={"network": membership.network.pk, "public_story": story.pk},
            request=request,
        )
    context = {
        "referral": referral,
        "story": story,
        "lead": lead,
        "url": membership.organisation.workspace_url(f"/network/referrals/{referral.pk}/"),
    }
    text_body = render_to_string("feedback/email/network_referral.txt", context)
    recipients = staff_to_alert(membership.organisation)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for account_id, address in recipients:
            enqueue_email(
                kind="feedback.network_referral",
                key=f"feedback.network_referral:{referral.pk}:{account_id}",
                recipient=address,
                subject=f"{lead.name} referred a story to you: “{story.title}”",
                text_body=text_body,
                organisation=membership.organisation,
            )
    return referral


def referrals_for(organisation: Organisation) -> list[StoryReferral]:
    """The stories referred to `organisation`, newest first, from networks it is still an
    active member of."""
    active = NetworkMembership.objects.filter(
        organisation=organisation, status=MembershipStatus.ACTIVE
    ).values("network_id")
    referred = StoryReferral.objects.filter(referred_to=organisation, network_id__in=active)
    # Shown on every inbox page, and most organisations have none: asked first in the
    # cheapest way, without the joins.
    if not referred.exists():
        return []
    return list(
        referred.select_related("network", "network__lead", "public_story").prefetch_related(
            "requested_services"
        )
    )


def referral_for(organisation: Organisation, referral_id: int) -> StoryReferral | None:
    return next((r for r in referrals_for(organisation) if r.pk == referral_id), None)


@transaction.atomic
def ask_to_add_services(
    referral: StoryReferral,
    *,
    organisation: Organisation,
    services: list[ServiceListing],
    asker: User,
    request=None,  # noqa: ANN001
) -> StoryReferral:
    """The referred member asks the moderators to publish the story under some of its
    services too. Recorded on the referral, audited, and emailed to platform staff; the
    public story changes only when a moderator does it."""
    if referral.referred_to_id != organisation.pk:
        raise DiscussionError("That story was not referred to you.")
    if not services or any(s.organisation_id != organisation.pk for s in services):
        raise DiscussionError("Choose at least one of your own services.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        referral = StoryReferral.objects.select_for_update().get(pk=referral.pk)
        if referral.service_request_at is not None:
            raise DiscussionError("You have asked the moderators already.")
        referral.service_request_at = timezone.now()
        referral.service_request_by_name = asker.full_name
        referral.save(update_fields=["service_request_at", "service_request_by_name"])
        referral.requested_services.set(services)
    with tenant_context(organisation):
        record_audit(
            "network.referral_services_requested",
            actor=asker,
            target=referral,
            summary=f"Asked the moderators to add {len(services)} service(s) to story "
            f"{referral.public_story_id}",
            detail={"services": [s.pk for s in services]},
            request=request,
        )
    from feedback.emails import platform_staff

    context = {
        "referral": referral,
        "organisation": organisation,
        "services": services,
        "story_url": public_url(settings.BASE_DOMAIN, f"/stories/{referral.public_story_id}/"),
    }
    text_body = render_to_string("feedback/email/network_referral_services.txt", context)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for account_id, address in platform_staff():
            enqueue_email(
                kind="feedback.network_referral_services",
                key=f"feedback.network_referral_services:{referral.pk}:{account_id}",
                recipient=address,
                subject=f"{organisation.name} asks to add its services to story "
                f"{referral.public_story_id}",
                text_body=text_body,
                organisation=organisation,
            )
    return referral
