"""The network inbox: a network lead's staff read the published stories of its members.

Only members that are active and agreed to comparison are in scope
(tenants.networks.comparable_members, for every network the organisation leads), and only
public data is read: PublicStory, each member's own progress on it
(PublicStoryOrganisation), the members' PublicResponses and ServiceListings. A member's
schema is never opened, and an author's contact details (the hub's Submission) never read.

A story about a member and an organisation outside the network is shown, with the member's
progress, services and responses only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, Exists, OuterRef, QuerySet

from feedback.choices import Criticality, Progress
from feedback.default_tags import parse_tag_key
from feedback.hub.models import (
    PublicResponse,
    PublicStory,
    PublicStoryOrganisation,
    ServiceListing,
)
from feedback.inbox import start_of
from feedback.models import NetworkFollowUp
from tenants.models import Organisation
from tenants.networks import comparable_members


def network_members(lead: Organisation) -> list[Organisation]:
    """The organisations whose stories `lead`'s staff may read: active, consenting members
    of any network it leads, by name. Empty for an organisation that leads none."""
    members: dict[int, Organisation] = {}
    for network in lead.led_networks.all():
        for organisation in comparable_members(network):
            members[organisation.pk] = organisation
    return sorted(members.values(), key=lambda o: (o.name, o.pk))


def leads_a_network(organisation: Organisation) -> bool:
    return organisation.led_networks.exists()


@dataclass
class NetworkInboxFilters:
    member: int | None = None
    # A ServiceListing id: that service and the services within it.
    service: int | None = None
    criticality: str = ""
    # The member's own progress on the story.
    progress: str = ""
    # A public tag as `group:name` (feedback.default_tags.tag_key).
    tag: str = ""
    since: date | None = None
    until: date | None = None
    responded: str = ""  # "yes", "no" or "": by a member in scope
    q: str = ""


def _scope_ids(filters: NetworkInboxFilters, members: list[Organisation]) -> list[int]:
    ids = [m.pk for m in members]
    if filters.member is not None:
        ids = [pk for pk in ids if pk == filters.member]
    return ids


def filtered_network_stories(
    filters: NetworkInboxFilters, members: list[Organisation]
) -> QuerySet[PublicStory]:
    """Published stories naming a member in scope (or the chosen member), filtered as the
    staff inbox filters, newest first."""
    scope = _scope_ids(filters, members)
    at_member = PublicStoryOrganisation.objects.filter(
        publicstory=OuterRef("pk"), organisation_id__in=scope
    )
    if filters.progress in Progress.values:
        at_member = at_member.filter(progress=filters.progress)
    stories = PublicStory.objects.filter(Exists(at_member)).annotate(
        has_response=Exists(
            PublicResponse.objects.filter(public_story=OuterRef("pk"), organisation_id__in=scope)
        )
    )
    if filters.service is not None:
        stories = stories.filter(services__in=_listing_subtree(filters.service, scope))
    if filters.criticality in Criticality.values:
        stories = stories.filter(criticality=filters.criticality)
    if filters.tag:
        name, group = parse_tag_key(filters.tag)
        stories = stories.filter(tags__contains=[{"name": name, "group": group}])
    if filters.since:
        stories = stories.filter(published_at__gte=start_of(filters.since))
    if filters.until:
        stories = stories.filter(published_at__lt=start_of(filters.until, next_day=True))
    if filters.responded == "yes":
        stories = stories.filter(has_response=True)
    elif filters.responded == "no":
        stories = stories.filter(has_response=False)
    if filters.q:
        stories = stories.filter(
            search=SearchQuery(filters.q, search_type="websearch", config="english")
        )
    return stories.distinct().order_by("-published_at", "-id")


def _listing_subtree(listing_id: int, scope: list[int]) -> list[int]:
    """The listing and every listing within it, at a member in scope ([] otherwise)."""
    listing = ServiceListing.objects.filter(pk=listing_id, organisation_id__in=scope).first()
    if listing is None:
        return []
    children: dict[int | None, list[ServiceListing]] = defaultdict(list)
    for other in ServiceListing.objects.filter(organisation_id=listing.organisation_id):
        children[other.parent_service_id].append(other)
    found, queue = [], [listing]
    while queue:
        current = queue.pop()
        found.append(current.pk)
        queue.extend(children[current.service_id])
    return found


def network_counts(stories: QuerySet[PublicStory]) -> dict[str, object]:
    """How many of the filtered stories there are, by criticality, and how many a member in
    scope has responded to: the numbers beside the filters."""
    base = PublicStory.objects.filter(pk__in=stories.values("pk"))
    by_criticality = dict(base.values_list("criticality").annotate(n=Count("pk")))
    return {
        "criticality": [(c, by_criticality.get(c.value, 0)) for c in Criticality],
        "total": sum(by_criticality.values()),
        "responded": stories.filter(has_response=True).count(),
    }


def member_services(members: list[Organisation]) -> QuerySet[ServiceListing]:
    """The members' services, for the service filter."""
    return ServiceListing.objects.filter(organisation__in=members, is_active=True).select_related(
        "organisation"
    )


@dataclass
class AtMember:
    """One member a story is about, as the lead sees it."""

    organisation: Organisation
    progress: str
    services: list[ServiceListing] = field(default_factory=list)
    responses: list[PublicResponse] = field(default_factory=list)

    @property
    def progress_label(self) -> str:
        return Progress(self.progress).label


@dataclass
class NetworkStory:
    story: PublicStory
    at_members: list[AtMember]
    follow_ups: int = 0

    @property
    def members(self) -> list[Organisation]:
        return [m.organisation for m in self.at_members]

    @property
    def responses(self) -> list[PublicResponse]:
        return sorted(
            (r for m in self.at_members for r in m.responses), key=lambda r: (r.published_at, r.pk)
        )


def network_stories(stories: list[PublicStory], members: list[Organisation]) -> list[NetworkStory]:
    """Each story with the members in scope it names: their progress, services and public
    responses (nobody else's), and how many follow-ups the lead has logged on it. Reads the
    follow-ups from the active schema, the lead's."""
    by_id = {m.pk: m for m in members}
    ids = [s.pk for s in stories]
    at: dict[int, dict[int, AtMember]] = defaultdict(dict)
    for row in PublicStoryOrganisation.objects.filter(
        publicstory_id__in=ids, organisation_id__in=by_id
    ).order_by("organisation__name", "organisation_id"):
        at[row.publicstory_id][row.organisation_id] = AtMember(
            by_id[row.organisation_id], row.progress
        )
    through = PublicStory.services.through
    for link in through.objects.filter(
        publicstory_id__in=ids, servicelisting__organisation_id__in=by_id
    ).select_related("servicelisting"):
        listing = link.servicelisting
        if listing.organisation_id in at[link.publicstory_id]:
            at[link.publicstory_id][listing.organisation_id].services.append(listing)
    for response in PublicResponse.objects.filter(
        public_story_id__in=ids, organisation_id__in=by_id
    ):
        if response.organisation_id in at[response.public_story_id]:
            at[response.public_story_id][response.organisation_id].responses.append(response)
    logged = dict(
        NetworkFollowUp.objects.filter(public_story_id__in=ids)
        .values_list("public_story_id")
        .annotate(n=Count("pk"))
    )
    return [
        NetworkStory(story, list(at[story.pk].values()), logged.get(story.pk, 0))
        for story in stories
    ]


def network_story(public_id: int, members: list[Organisation]) -> NetworkStory | None:
    """One published story naming a member in scope, or None (never published, withdrawn,
    or about nobody in scope)."""
    story = (
        PublicStory.objects.filter(
            pk=public_id,
            publicstoryorganisation__organisation_id__in=[m.pk for m in members],
        )
        .distinct()
        .first()
    )
    return None if story is None else network_stories([story], members)[0]


def stories_by_id(public_ids: list[int], members: list[Organisation]) -> dict[int, PublicStory]:
    """Among these ids, the stories still published about a member in scope (titles for the
    log): a story withdrawn, or of a member that has left or stopped sharing, is left out."""
    stories = PublicStory.objects.filter(
        pk__in=public_ids,
        publicstoryorganisation__organisation_id__in=[m.pk for m in members],
    )
    return {s.pk: s for s in stories.distinct().only("id", "title")}
