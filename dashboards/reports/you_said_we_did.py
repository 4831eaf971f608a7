"""You said, we did: the changes an organisation's responses say it made, with the stories
that prompted them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboards.queries import Scope
from dashboards.reports.excerpts import excerpt, responses_in
from feedback.choices import ChangeStatus


@dataclass(frozen=True)
class ChangeMade:
    story_pk: int
    story_title: str
    story_excerpt: str
    change: str
    response_excerpt: str
    responded_at: datetime


def changes_made(scope: Scope) -> list[ChangeMade]:
    """Each response published in the period whose change is recorded as made, newest first.

    A change first planned and later marked made counts in the period its response was
    published, as the response is what tells the author."""
    rows = (
        responses_in(scope)
        .filter(change_status=ChangeStatus.MADE)
        .order_by("-published_at", "-pk")
        .values_list(
            "story_id",
            "story__title",
            "story__body",
            "change_description",
            "body",
            "published_at",
        )
        .distinct()
    )
    return [
        ChangeMade(
            story_pk=story_pk,
            story_title=title,
            story_excerpt=excerpt(story_body),
            change=change,
            response_excerpt=excerpt(body),
            responded_at=at,
        )
        for story_pk, title, story_body, change, body, at in rows
    ]
