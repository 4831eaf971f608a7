"""The rollups hear of feedback's changes to stories by signal (feedback/signals.py), inside
the transaction making the change and in the organisation's schema, so the counts commit or
roll back with it. Connected in dashboards/apps.py.

A receiver that fails raises, and so undoes the publication, response or withdrawal that
sent it: a story is never published without being counted.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from dashboards.rollups.updating import (
    record_answering,
    record_new_stories,
    record_removed_stories,
)
from feedback.signals import StoryAnswered, WrittenStory


class WrongSchema(RuntimeError):
    """A signal arrived outside the schema it names: counting it would credit another
    organisation."""


def _check_schema(schema_name: str) -> None:
    if connection.schema_name != schema_name:
        raise WrongSchema(f"sent for {schema_name!r} while {connection.schema_name!r} is active")


def count_written_stories(
    sender: Any, *, schema_name: str, stories: list[WrittenStory], **kwargs: Any
) -> None:
    """`stories_written`: count the organisation's new stories."""
    _check_schema(schema_name)
    record_new_stories(story.story_id for story in stories)


def count_answering(
    sender: Any, *, schema_name: str, stories: list[StoryAnswered], **kwargs: Any
) -> None:
    """`responses_published` and `response_changed`: move each story to its new answering."""
    _check_schema(schema_name)
    record_answering(stories)


def subtract_withdrawing_stories(
    sender: Any, *, schema_name: str, story_ids: list[int], **kwargs: Any
) -> None:
    """`story_withdrawing`: take the stories out before they are deleted."""
    _check_schema(schema_name)
    record_removed_stories(story_ids)
