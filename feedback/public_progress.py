"""Each organisation's progress on a published story, carried to the hub.

A story can name several organisations. Each has its own progress on it
(`PublicStoryOrganisation.progress`), which its public summary and its API answers read;
`PublicStory.progress` is the story's overall progress, the furthest any organisation has
taken it. Both only ever move forward. So does `PublicStoryOrganisation.first_responded_at`,
when the organisation first answered the story in public (`note_first_responses`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from feedback.hub.models import PublicStory, PublicStoryOrganisation
from feedback.models import PROGRESS_ORDER


def advance_public_progress(organisation_id: int, progress: dict[int, str]) -> None:
    """Carry an organisation's progress on stories (by public id) to the hub, never backwards:
    to its own row for each story, which its public summary and API answers read, and to
    each story's overall progress, the furthest any organisation has taken it. Two queries
    to read and two to write, whatever the number of stories. Run in the public schema."""
    links = PublicStoryOrganisation.objects.select_for_update().filter(
        organisation_id=organisation_id, publicstory_id__in=progress
    )
    PublicStoryOrganisation.objects.bulk_update(
        _advanced(links, progress, lambda link: link.publicstory_id), ["progress"]
    )
    stories = PublicStory.objects.select_for_update().filter(pk__in=progress).only("progress")
    PublicStory.objects.bulk_update(
        _advanced(stories, progress, lambda story: story.pk), ["progress"]
    )


def _advanced(rows, wanted: dict[int, str], key) -> list:  # noqa: ANN001
    """The rows whose progress `wanted[key(row)]` moves forward, moved."""
    moved = []
    for row in rows:
        to = wanted[key(row)]
        if PROGRESS_ORDER.index(to) > PROGRESS_ORDER.index(row.progress):
            row.progress = to
            moved.append(row)
    return moved


def note_first_responses(organisation_id: int, answered: dict[int, datetime]) -> int:
    """Record, on the organisation's own row for each story (by public id), when it first
    answered in public: `answered[public id]`, unless an earlier answer is recorded. One
    query, whatever the number of stories. Run in the public schema, beside the
    PublicResponse rows it tells of. Returns how many rows changed."""
    if not answered:
        return 0
    table = PublicStoryOrganisation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} link SET first_responded_at = answered.at
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS answered(story, at)
            WHERE link.organisation_id = %s AND link.publicstory_id = answered.story
              AND (link.first_responded_at IS NULL OR link.first_responded_at > answered.at)
            """,
            [list(answered), list(answered.values()), organisation_id],
        )
        return cursor.rowcount
