"""Themes that recur across stories: the tags most often given together to one story, and
the phrases most authors use, each with a few of the stories behind it.

Both read the organisation's published stories from its own schema: the moderated public
text, which never holds an author's contact details. They look only at the latest
MAX_STORIES (2,000) stories in scope, so a report over years stays quick; every count is of
those stories, and `Themes.is_capped` says when there were more. Tag pairs are counted by
the database (private tags, the staff's own, are left out as in the rollups); phrases are
found in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, F

from dashboards.queries import Scope
from dashboards.reports.excerpts import stories_in
from feedback.models import Story, Tag
from feedback.phrases import PHRASE_LENGTHS, phrases_of

MAX_STORIES = 2000
TOP = 5
EXAMPLES = 3
# A phrase or tag pair in fewer stories than this is one author's, not a theme.
MIN_STORIES = 2


@dataclass(frozen=True)
class StoryRef:
    pk: int
    title: str


@dataclass(frozen=True)
class TagPair:
    first: str
    second: str
    stories: int
    examples: list[StoryRef]

    @property
    def label(self) -> str:
        return f"{self.first} + {self.second}"


@dataclass(frozen=True)
class Phrase:
    text: str
    stories: int
    examples: list[StoryRef]


@dataclass(frozen=True)
class Themes:
    # How many stories were read: all in scope, or the latest MAX_STORIES.
    stories_read: int
    is_capped: bool
    tag_pairs: list[TagPair]
    phrases: list[Phrase]


def recurring_themes(scope: Scope) -> Themes:
    """The most frequent tag pairs and phrases of the latest MAX_STORIES stories in scope."""
    # `stories_in` joins through services, so pick each story once, newest first.
    recent = list(
        Story.objects.filter(pk__in=stories_in(scope).values("pk"))
        .order_by("-published_at", "-pk")
        .values_list("pk", "title", "body")[: MAX_STORIES + 1]
    )
    is_capped = len(recent) > MAX_STORIES
    recent = recent[:MAX_STORIES]
    titles = {pk: title for pk, title, _ in recent}
    return Themes(
        stories_read=len(recent),
        is_capped=is_capped,
        tag_pairs=tag_pairs([pk for pk, _, _ in recent], titles),
        phrases=phrases([(pk, body) for pk, _, body in recent], titles),
    )


def tag_pairs(story_ids: list[int], titles: dict[int, str]) -> list[TagPair]:
    """The TOP pairs of public tags given together to the most of these stories (listed
    newest first), at least MIN_STORIES, each with up to EXAMPLES of its stories, newest
    first."""
    if not story_ids:
        return []
    # Each row of the story-tag table, joined to its story's other tags: one row per pair.
    given = Story.tags.through.objects
    counted = list(
        given.filter(
            story_id__in=story_ids,
            tag__is_private=False,
            story__tags__is_private=False,
            tag_id__lt=F("story__tags__id"),
        )
        .values("tag_id", "story__tags__id")
        .annotate(stories=Count("story_id", distinct=True))
        .filter(stories__gte=MIN_STORIES)
        .order_by("-stories", "tag_id", "story__tags__id")[:TOP]
    )
    if not counted:
        return []
    wanted = {row["tag_id"] for row in counted} | {row["story__tags__id"] for row in counted}
    names = dict(Tag.objects.filter(pk__in=wanted).values_list("pk", "name"))
    tags_of: dict[int, set[int]] = {}
    for story_id, tag_id in given.filter(story_id__in=story_ids, tag_id__in=wanted).values_list(
        "story_id", "tag_id"
    ):
        tags_of.setdefault(story_id, set()).add(tag_id)
    pairs = []
    for row in counted:
        both = {row["tag_id"], row["story__tags__id"]}
        behind = [pk for pk in story_ids if both <= tags_of.get(pk, set())][:EXAMPLES]
        first, second = sorted(names[pk] for pk in both)
        pairs.append(
            TagPair(
                first=first,
                second=second,
                stories=row["stories"],
                examples=[StoryRef(pk, titles[pk]) for pk in behind],
            )
        )
    return sorted(pairs, key=lambda pair: (-pair.stories, pair.label))


def tag_pairs_of(
    story_ids: list[int], tag_names: dict[int, set[str]], titles: dict[int, str]
) -> list[TagPair]:
    """As `tag_pairs`, from tags already read (a published copy's public tag names): the TOP
    pairs given together to the most of these stories (listed newest first), at least
    MIN_STORIES, each with up to EXAMPLES of its stories, newest first."""
    behind: dict[tuple[str, str], list[int]] = {}
    for pk in story_ids:
        names = sorted(tag_names.get(pk, ()))
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                behind.setdefault((first, second), []).append(pk)
    ranked = sorted(
        (pair for pair, pks in behind.items() if len(pks) >= MIN_STORIES),
        key=lambda pair: (-len(behind[pair]), f"{pair[0]} + {pair[1]}"),
    )
    return [
        TagPair(
            first=first,
            second=second,
            stories=len(behind[first, second]),
            examples=[StoryRef(pk, titles[pk]) for pk in behind[first, second][:EXAMPLES]],
        )
        for first, second in ranked[:TOP]
    ]


def phrases(stories: list[tuple[int, str]], titles: dict[int, str]) -> list[Phrase]:
    """The TOP phrases in the most of these (id, body) stories, listed newest first. A
    phrase counts once per story and needs MIN_STORIES; a phrase inside a longer one found
    in the very same stories is left out for the longer one."""
    found = {pk: phrases_of(body) for pk, body in stories}
    counts = Counter(phrase for each in found.values() for phrase in each)
    behind: dict[str, list[int]] = {
        phrase: [] for phrase, count in counts.items() if count >= MIN_STORIES
    }
    for pk, _ in stories:
        for phrase in found[pk]:
            if phrase in behind:
                behind[phrase].append(pk)
    covered = set()
    for phrase, pks in behind.items():
        words = phrase.split()
        if len(words) <= min(PHRASE_LENGTHS):
            continue
        for shorter in (" ".join(words[:-1]), " ".join(words[1:])):
            if behind.get(shorter) == pks:
                covered.add(shorter)
    ranked = sorted(
        (phrase for phrase in behind if phrase not in covered),
        key=lambda phrase: (-len(behind[phrase]), -len(phrase.split()), phrase),
    )
    return [
        Phrase(
            text=phrase,
            stories=len(behind[phrase]),
            examples=[StoryRef(pk, titles[pk]) for pk in behind[phrase][:EXAMPLES]],
        )
        for phrase in ranked[:TOP]
    ]
