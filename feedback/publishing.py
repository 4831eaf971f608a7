"""Writing a published story: the organisation's Story (in each organisation the story names),
the hub's PublicStory read model, in the caller's transaction. Each organisation's copies
are announced with `stories_written` (feedback/signals.py) in that transaction: alerts sets
their due times and dashboards counts them, committing or rolling back with the story.

Used by moderation (one story at a time) and by `import_published_stories` (history brought
from paper, phone or another platform, and the demo).

Outside the hub a story keeps only the day it was sent (`day_only`): with the route, the
second would let an organisation match it against its own web-server or kiosk logs."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from feedback.choices import Polarity, Progress
from feedback.default_tags import DEFAULT_TAG_LOOKUP
from feedback.hub.models import (
    PublicStory,
    PublicStoryOrganisation,
    ServiceListing,
    Submission,
)
from feedback.models import Service, Story, Tag
from feedback.public_cache import bump_public_version
from feedback.signals import WrittenStory, stories_written
from tenants.citus.base import is_citus
from tenants.models import Organisation

UK = ZoneInfo("Europe/London")


def day_only(moment: datetime) -> datetime:
    """Midnight, UK time, of the UK day ``moment`` falls on: all an organisation is told of
    when a story was sent (feedback/migrations/0005 cut older stories the same way)."""
    return datetime.combine(moment.astimezone(UK).date(), time(), tzinfo=UK)


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
    # The organisation whose own staff entered it for its author (feedback/entering.py):
    # its copy is marked staff-entered; any other organisation's copy is not.
    staff_entered_by: int | None = None
    # The language it was told in (feedback/languages.py): the published copies keep it.
    language: str = "en"


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
    return write_published_stories([story])[0]


def write_published_stories(stories: list[StoryToPublish]) -> list[Published]:
    """Write every copy of several published stories with a handful of queries per
    organisation, whatever their number. Call inside a transaction."""
    for story in stories:
        if not story.listings:
            raise PublishingError("A story must name at least one service.")
    publics = PublicStory.objects.bulk_create([_public_row(story) for story in stories])
    PublicStory.services.through.objects.bulk_create(
        PublicStory.services.through(publicstory_id=public.pk, servicelisting_id=listing.pk)
        for public, story in zip(publics, stories, strict=True)
        for listing in _unique(story.listings)
    )
    organisation_ids = {listing.organisation_id for s in stories for listing in s.listings}
    organisations = {o.pk: o for o in Organisation.objects.filter(pk__in=organisation_ids)}
    # Each organisation's own progress on the story starts here, in the same transaction.
    PublicStoryOrganisation.objects.bulk_create(
        PublicStoryOrganisation(
            publicstory_id=public.pk, organisation_id=org_id, progress=Progress.UNHEARD
        )
        for public, story in zip(publics, stories, strict=True)
        for org_id in sorted({listing.organisation_id for listing in story.listings})
    )
    PublicStory.objects.filter(pk__in=[p.pk for p in publics]).update(search=story_search_vector())
    bump_public_version()
    written: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for organisation in organisations.values():
        mine = [
            (public, story, [x for x in story.listings if x.organisation_id == organisation.pk])
            for public, story in zip(publics, stories, strict=True)
        ]
        mine = [item for item in mine if item[2]]
        with tenant_context(organisation):
            for public, story_id in _write_stories(mine):
                written[public.pk].append((organisation.schema_name, story_id))
    return [Published(public_story=public, stories=written[public.pk]) for public in publics]


def add_organisations(public: PublicStory, listings: list[ServiceListing]) -> list[tuple[str, int]]:
    """Publish a story already published under more organisations' services (a moderator's
    decision on a network referral, feedback/referral_moderation.py): the hub's links, each
    organisation's progress row and its own copy, announced like any other copy, in the
    caller's transaction. Returns (schema, Story id) for each organisation's new copy. An
    organisation the story already names is refused: its copy would need re-counting."""
    listings = _unique(listings)
    if not listings:
        raise PublishingError("Choose at least one service to add.")
    named = set(
        PublicStoryOrganisation.objects.filter(publicstory=public).values_list(
            "organisation_id", flat=True
        )
    )
    by_organisation: dict[int, list[ServiceListing]] = defaultdict(list)
    for listing in listings:
        if listing.organisation_id in named:
            raise PublishingError(f"The story already names {listing.organisation.name}.")
        by_organisation[listing.organisation_id].append(listing)
    PublicStory.services.through.objects.bulk_create(
        PublicStory.services.through(publicstory_id=public.pk, servicelisting_id=listing.pk)
        for listing in listings
    )
    PublicStoryOrganisation.objects.bulk_create(
        PublicStoryOrganisation(
            publicstory_id=public.pk, organisation_id=org_id, progress=Progress.UNHEARD
        )
        for org_id in sorted(by_organisation)
    )
    bump_public_version()
    story = story_to_publish(public)
    written: list[tuple[str, int]] = []
    for organisation in Organisation.objects.filter(pk__in=by_organisation).order_by("pk"):
        mine = by_organisation[organisation.pk]
        with tenant_context(organisation):
            for _, story_id in _write_stories([(public, replace(story, listings=mine), mine)]):
                written.append((organisation.schema_name, story_id))
    return written


# Public tags are kept by name and group; organisations' copies by key.
_TAG_KEYS = {(name, str(group)): key for key, (name, group, _) in DEFAULT_TAG_LOOKUP.items()}


def story_to_publish(public: PublicStory) -> StoryToPublish:
    """What a published story is, read back from the hub's row (without its services)."""
    submission = (
        Submission.objects.filter(public_story=public)
        .only("assisted_by", "staff_entered", "entered_by_organisation_id")
        .first()
    )
    return StoryToPublish(
        title=public.title,
        body=public.body,
        criticality=public.criticality,
        author_role=public.author_role,
        author_age_group=public.author_age_group,
        submission_route=public.submission_route,
        submitted_at=public.submitted_at,
        published_at=public.published_at,
        listings=[],
        tag_keys=[
            _TAG_KEYS[(tag["name"], tag["group"])]
            for tag in public.tags
            if (tag.get("name"), tag.get("group")) in _TAG_KEYS
        ],
        author_nickname=public.author_nickname,
        language=public.language,
        assisted_by=submission.assisted_by if submission else "",
        staff_entered_by=submission.entered_by_organisation_id
        if submission and submission.staff_entered
        else None,
    )


def _unique(listings: list[ServiceListing]) -> list[ServiceListing]:
    return list({listing.pk: listing for listing in listings}.values())


def _public_row(story: StoryToPublish) -> PublicStory:
    return PublicStory(
        title=story.title,
        body=story.body,
        submitted_at=story.submitted_at,
        published_at=story.published_at,
        criticality=story.criticality,
        author_role=story.author_role,
        author_age_group=story.author_age_group,
        author_nickname=story.author_nickname,
        submission_route=story.submission_route,
        language=story.language,
        tags=public_tags(story.tag_keys),
    )


def story_search_vector() -> SearchVector:
    return SearchVector("title", weight="A", config="english") + SearchVector(
        "body", weight="B", config="english"
    )


def _write_stories(
    items: list[tuple[PublicStory, StoryToPublish, list[ServiceListing]]],
) -> list[tuple[PublicStory, int]]:
    """This organisation's Story rows, service links and tags (in its schema)."""
    service_ids = {listing.service_id for _, _, listings in items for listing in listings}
    services = set(Service.objects.filter(pk__in=service_ids).values_list("pk", flat=True))
    if services != service_ids:
        raise PublishingError("A chosen service no longer exists at its organisation.")
    tags = tenant_tags({key for _, story, _ in items for key in story.tag_keys})
    rows = Story.objects.bulk_create(
        Story(
            public_id=public.pk,
            title=story.title,
            body=story.body,
            criticality=story.criticality,
            author_role=story.author_role,
            author_age_group=story.author_age_group,
            author_nickname=story.author_nickname,
            submission_route=story.submission_route,
            language=story.language,
            assisted_by=story.assisted_by,
            staff_entered=story.staff_entered_by is not None
            and story.staff_entered_by == getattr(connection.tenant, "pk", None),
            submitted_at=day_only(story.submitted_at),
            published_at=story.published_at,
        )
        for public, story, _ in items
    )
    Story.services.through.objects.bulk_create(
        Story.services.through(story_id=row.pk, service_id=service_id)
        for row, (_, _, listings) in zip(rows, items, strict=True)
        for service_id in sorted({listing.service_id for listing in listings})
    )
    Story.tags.through.objects.bulk_create(
        Story.tags.through(story_id=row.pk, tag_id=tags[key].pk)
        for row, (_, story, _) in zip(rows, items, strict=True)
        for key in dict.fromkeys(story.tag_keys)
    )
    # Alerts set each story's due time, dashboards count it: in this transaction and schema.
    stories_written.send(
        sender=Story,
        schema_name=connection.schema_name,
        stories=[
            WrittenStory(
                story_id=row.pk,
                public_story_id=public.pk,
                criticality=story.criticality,
                published_at=story.published_at,
                service_ids=tuple(sorted({listing.service_id for listing in listings})),
            )
            for row, (public, story, listings) in zip(rows, items, strict=True)
        ],
    )
    return [(public, row.pk) for row, (public, _, _) in zip(rows, items, strict=True)]


def tenant_tags(keys: set[str]) -> dict[str, Tag]:
    """The organisation's Tag rows for these public tags, made if the organisation lacks one."""
    wanted = {key: DEFAULT_TAG_LOOKUP[key] for key in keys}
    existing = {
        (tag.group, tag.name): tag
        for tag in Tag.objects.filter(name__in={name for name, _, _ in wanted.values()})
    }
    tags = {}
    for key, (name, group, polarity) in wanted.items():
        tag = existing.get((group, name))
        if tag is None:
            tag = Tag.objects.create(name=name, group=group, polarity=polarity or Polarity.NEUTRAL)
        tags[key] = tag
    return tags


def import_published_stories(stories: list[StoryToPublish], *, batch_size: int = 500) -> int:
    """Bring already-published stories in (from paper, phone or another platform), in
    batches, each batch one transaction."""
    for start in range(0, len(stories), batch_size):
        with transaction.atomic():
            write_published_stories(stories[start : start + batch_size])
    # TRICKY: Citus refuses ANALYZE of a hub table inside a transaction that has read it;
    # there, inside a caller's transaction, the statistics wait for autovacuum.
    if stories and not (connection.in_atomic_block and is_citus(connection)):
        # Fresh planner statistics after a bulk load: without them the API's list query
        # reads every story instead of walking the publication-date index.
        with connection.cursor() as cursor:
            for table in (
                "hub_publicstory",
                "hub_publicstory_services",
                "hub_publicstory_organisations",
            ):
                cursor.execute(f"ANALYZE {table}")
    return len(stories)
