"""Writing a published story: the organisation's Story (in each organisation the story names),
the hub's PublicStory read model, in the caller's transaction.

Used by moderation (one story at a time) and by `import_published_stories` (history brought
from paper, phone or another platform, and the demo)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django_tenants.utils import tenant_context

from feedback.hub.models import PublicStory, ServiceListing
from feedback.models import Service, Story, Tag
from feedback.taxonomy import DEFAULT_TAG_LOOKUP
from feedback.vocabulary import Polarity
from tenants.models import Organisation


@dataclass
class StoryToPublish:
    title: str
    body: str
    criticality: str
    author_role: str
    author_age_group: str
    submission_route: str
    submitted_at: datetime
    published_at: datetime
    listings: list[ServiceListing]
    # "group:name" keys from the public taxonomy.
    tag_keys: list[str] = field(default_factory=list)
    author_nickname: str = ""
    assisted_by: str = ""


@dataclass(frozen=True)
class Published:
    public_story: PublicStory
    # (schema_name, Story id) for each organisation the story was written to
    stories: list[tuple[str, int]]


class PublishingError(Exception):
    """The story cannot be published as given; the message says why."""


def public_tags(keys: list[str]) -> list[dict[str, str]]:
    tags = []
    for key in keys:
        if key not in DEFAULT_TAG_LOOKUP:
            raise PublishingError(f"Unknown tag {key!r}.")
        name, group, polarity = DEFAULT_TAG_LOOKUP[key]
        tags.append({"name": name, "group": str(group), "polarity": str(polarity)})
    return tags


def write_published_story(story: StoryToPublish) -> Published:
    """Write every copy of one published story. Call inside a transaction."""
    if not story.listings:
        raise PublishingError("A story must name at least one service.")
    tags = public_tags(story.tag_keys)
    public = PublicStory.objects.create(
        title=story.title,
        body=story.body,
        submitted_at=story.submitted_at,
        published_at=story.published_at,
        criticality=story.criticality,
        author_role=story.author_role,
        author_age_group=story.author_age_group,
        author_nickname=story.author_nickname,
        submission_route=story.submission_route,
        tags=tags,
    )
    public.services.set(story.listings)
    by_organisation: dict[int, list[ServiceListing]] = defaultdict(list)
    for listing in story.listings:
        by_organisation[listing.organisation_id].append(listing)
    organisations = list(Organisation.objects.filter(pk__in=by_organisation))
    public.organisations.set(organisations)
    PublicStory.objects.filter(pk=public.pk).update(search=story_search_vector())
    written = []
    for organisation in organisations:
        with tenant_context(organisation):
            written.append(
                (
                    organisation.schema_name,
                    _write_story(public, story, by_organisation[organisation.pk]),
                )
            )
    return Published(public_story=public, stories=written)


def story_search_vector() -> SearchVector:
    return SearchVector("title", weight="A", config="english") + SearchVector(
        "body", weight="B", config="english"
    )


def _write_story(public: PublicStory, story: StoryToPublish, listings: list[ServiceListing]) -> int:
    row = Story.objects.create(
        public_id=public.pk,
        title=story.title,
        body=story.body,
        criticality=story.criticality,
        author_role=story.author_role,
        author_age_group=story.author_age_group,
        author_nickname=story.author_nickname,
        submission_route=story.submission_route,
        assisted_by=story.assisted_by,
        submitted_at=story.submitted_at,
        published_at=story.published_at,
    )
    services = list(Service.objects.filter(pk__in=[listing.service_id for listing in listings]))
    if len(services) != len(listings):
        raise PublishingError("A chosen service no longer exists at its organisation.")
    row.services.set(services)
    row.tags.set(tenant_tags(story.tag_keys))
    return row.pk


def tenant_tags(keys: list[str]) -> list[Tag]:
    """The organisation's Tag rows for these public tags, made if the organisation lacks one."""
    tags = []
    for key in keys:
        name, group, polarity = DEFAULT_TAG_LOOKUP[key]
        tag, _ = Tag.objects.get_or_create(
            name=name, group=group, defaults={"polarity": polarity or Polarity.NEUTRAL}
        )
        tags.append(tag)
    return tags


def import_published_stories(stories: list[StoryToPublish], *, batch_size: int = 500) -> int:
    """Bring already-published stories in, in batches, each batch one transaction."""
    count = 0
    for start in range(0, len(stories), batch_size):
        with transaction.atomic():
            for story in stories[start : start + batch_size]:
                write_published_story(story)
                count += 1
    return count
