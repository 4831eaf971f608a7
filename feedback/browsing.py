"""Reading published stories on the hub: search, filters and organisation summaries.

Only public data is read here (PublicStory, ServiceListing), never a tenant's schema.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, QuerySet

from feedback.hub.models import PublicStory
from feedback.vocabulary import Progress
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
    stories = PublicStory.objects.filter(organisations=organisation)
    return OrganisationSummary(
        stories=stories.count(),
        responded=stories.filter(progress__in=[Progress.RESPONDED, Progress.CHANGED]).count(),
        changes=stories.filter(progress=Progress.CHANGED).count(),
    )
