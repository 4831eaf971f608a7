"""The committee pack's fuller sections, from a provider's published copies only (PublicStory,
PublicResponse in the public schema; the provider's own schema is never read):

- recurring themes: the stories summary's tag pairs and phrases (`themes.py`), counted over the
  provider's published stories and their public tags;
- response quality: the quality check each response had when it was written
  (`feedback.quality`), run again on the published text, added up as the stories summary does
  (`response_quality.py`);
- changes made: You said, we did, the published responses whose change is made.

Each figure is suppressed by the committee pack (`committee.CommitteePack`), which also shows
none of them when the provider has fewer than 8 stories in the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from dashboards.reports import themes
from dashboards.reports.excerpts import excerpt
from dashboards.reports.response_quality import ResponseQuality, summarise
from dashboards.statistics import suppressed
from feedback import quality, topics
from feedback.choices import POSITIVE_CRITICALITIES, ChangeStatus
from feedback.hub.models import PublicResponse, PublicStory
from feedback.models import topic_label
from tenants.models import Organisation

# The responses whose quality is checked again: the latest in the period (each check reads
# up to RECENT of the provider's earlier published replies, for copy-and-paste).
MAX_RESPONSES = 500
RECENT = 50
POSITIVE = POSITIVE_CRITICALITIES


@dataclass(frozen=True)
class ChangeMade:
    story_title: str
    story_excerpt: str
    change: str
    responded_at: datetime


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _in_period(start: date, end: date, field: str = "published_at") -> dict:
    return {f"{field}__gte": _midnight(start), f"{field}__lt": _midnight(end + timedelta(days=1))}


def public_themes(provider: Organisation, start: date, end: date) -> themes.Themes:
    """The recurring tag pairs and phrases of the provider's stories published in the period
    (the latest MAX_STORIES), only those in at least 8 stories: a theme of fewer could point
    to its authors."""
    recent = list(
        PublicStory.objects.filter(organisations=provider, **_in_period(start, end))
        .order_by("-published_at", "-pk")
        .values_list("pk", "title", "body", "tags")[: themes.MAX_STORIES + 1]
    )
    is_capped = len(recent) > themes.MAX_STORIES
    recent = recent[: themes.MAX_STORIES]
    titles = {pk: title for pk, title, _, _ in recent}
    tag_names = {
        pk: {tag["name"] for tag in tags or () if isinstance(tag, dict) and tag.get("name")}
        for pk, _, _, tags in recent
    }
    pairs = themes.tag_pairs_of([pk for pk, _, _, _ in recent], tag_names, titles)
    phrases = themes.phrases([(pk, body) for pk, _, body, _ in recent], titles)
    return themes.Themes(
        stories_read=len(recent),
        is_capped=is_capped,
        tag_pairs=[p for p in pairs if not suppressed(p.stories)],
        phrases=[p for p in phrases if not suppressed(p.stories)],
    )


# The latest of the provider's stories in the period that its learned themes are found in.
LEARN_FROM = 2_000


@dataclass(frozen=True)
class LearnedInPack:
    label: str
    stories: int
    # (public id, title) of the stories most about it.
    examples: list[tuple[int, str]]


def public_learned_themes(provider: Organisation, start: date, end: date) -> list[LearnedInPack]:
    """Themes learned from the provider's stories published in the period, by the method of
    its own learned themes (feedback/topics.py), but fitted here on the published copies:
    the pack never reads the provider's schema, where its own themes and their names are
    kept. Named by their words; only themes of at least 8 stories."""
    recent = list(
        PublicStory.objects.filter(organisations=provider, **_in_period(start, end))
        .order_by("-published_at", "-pk")
        .values_list("pk", "title", "body")[:LEARN_FROM]
    )
    if len(recent) < topics.MIN_STORIES:
        return []
    terms, placed = topics.learn([topics.story_text(title, body) for _, title, body in recent])
    members: dict[int, list[tuple[float, int, str]]] = {}
    for (pk, title, _), found in zip(recent, placed, strict=True):
        if found is not None:
            members.setdefault(found[0], []).append((found[1], pk, title))
    learned = [
        LearnedInPack(
            topic_label("", terms[number]),
            len(stories),
            [(pk, title) for _, pk, title in sorted(stories, reverse=True)[:2]],
        )
        for number, stories in members.items()
        if not suppressed(len(stories))
    ]
    return sorted(learned, key=lambda t: (-t.stories, t.label))


def _facts(story: PublicStory) -> quality.StoryFacts:
    return quality.StoryFacts(
        title=story.title,
        body=story.body,
        service_names=[listing.name for listing in story.services.all()],
        is_positive=story.criticality in POSITIVE,
        is_critical=story.criticality not in POSITIVE,
    )


def public_response_quality(provider: Organisation, start: date, end: date) -> ResponseQuality:
    """The quality check run again on each of the provider's responses published in the
    period (the latest MAX_RESPONSES), against its story and the provider's RECENT published
    replies before it, as when it was written."""
    responses = list(
        PublicResponse.objects.filter(organisation=provider, **_in_period(start, end))
        .select_related("public_story")
        .prefetch_related("public_story__services")
        .order_by("-published_at", "-pk")[:MAX_RESPONSES]
    )
    earlier = list(
        PublicResponse.objects.filter(
            organisation=provider, published_at__lt=_midnight(end + timedelta(days=1))
        )
        .order_by("-published_at", "-pk")
        .values_list("pk", "public_story_id", "body", "published_at")[: MAX_RESPONSES + RECENT]
    )
    verdicts = []
    for response in responses:
        recent = [
            body
            for pk, story_id, body, at in earlier
            if at <= response.published_at
            and pk != response.pk
            and story_id != response.public_story_id
        ][:RECENT]
        verdict = quality.assess_response(
            response.body,
            _facts(response.public_story),
            responder_name=response.responder_name,
            recent_responses=recent,
        )
        verdicts.append(verdict.to_json())
    return summarise(verdicts)


def public_changes_made(provider: Organisation, start: date, end: date) -> list[ChangeMade]:
    """You said, we did: each of the provider's responses published in the period whose
    change is made, with what the story said, newest first."""
    rows = (
        PublicResponse.objects.filter(
            organisation=provider, change_status=ChangeStatus.MADE, **_in_period(start, end)
        )
        .order_by("-published_at", "-pk")
        .values_list(
            "public_story__title", "public_story__body", "change_description", "published_at"
        )
    )
    return [ChangeMade(title, excerpt(body), change, at) for title, body, change, at in rows]
