"""Reading published stories on the hub: search, filters and organisation summaries.

Only public data is read here (PublicStory, ServiceListing), never a tenant's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, F, Q, QuerySet

from feedback.choices import Progress
from feedback.hub.models import PublicStory, PublicStoryOrganisation
from tenants.models import Organisation


def search_public_stories(
    *, q: str = "", organisation: str = "", service: str = "", tag: str = ""
) -> QuerySet[PublicStory]:
    """Published stories, newest first (best match first when searching text)."""
    stories = PublicStory.objects.only("id", "title", "body", "published_at", "tags")
    if organisation:
        stories = stories.filter(organisations__slug=organisation)
    if service.isdigit():
        stories = stories.filter(services__pk=int(service))
    if tag:
        stories = stories.filter(tags__contains=[{"name": tag}])
    if q:
        query = SearchQuery(q, search_type="websearch", config="english")
        return (
            stories.filter(search=query)
            .annotate(rank=SearchRank(F("search"), query))
            .order_by("-rank", "-published_at")
        )
    return stories.order_by("-published_at", "-id")


@dataclass(frozen=True)
class OrganisationSummary:
    stories: int
    responded: int
    changes: int

    @property
    def share_responded(self) -> int:
        return round(100 * self.responded / self.stories) if self.stories else 0


def organisation_summary(organisation: Organisation) -> OrganisationSummary:
    """Counted on the organisation's own progress on each story it is named in: a story
    another organisation answered is not answered by this one."""
    counts = PublicStoryOrganisation.objects.filter(organisation=organisation).aggregate(
        stories=Count("pk"),
        responded=Count("pk", filter=Q(progress__in=[Progress.RESPONDED, Progress.CHANGED])),
        changes=Count("pk", filter=Q(progress=Progress.CHANGED)),
    )
    return OrganisationSummary(**counts)
