"""Public copies of stories and first responses written straight into the hub's tables, at
exact instants: for measuring deadlines to the microsecond, which publishing through the
product (at the time it runs) cannot do."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from feedback.hub.models import PublicResponse, PublicStory, PublicStoryOrganisation
from tenants.models import Organisation


def write_public_stories(
    rows: Iterable[tuple[Organisation, str, datetime, datetime | None]],
) -> int:
    """(organisation, criticality, published_at, first response at or None) each: one public
    story naming the organisation, answered by it then (its response, and the time on its
    link to the story, as publishing a response writes them). Returns how many."""
    rows = list(rows)
    stories = PublicStory.objects.bulk_create(
        PublicStory(
            title="Measured",
            body="A story measured against the network's standards.",
            submitted_at=published_at,
            published_at=published_at,
            criticality=criticality,
            author_role="patient",
            author_age_group="35-44",
            submission_route="web",
        )
        for _, criticality, published_at, _ in rows
    )
    PublicStoryOrganisation.objects.bulk_create(
        PublicStoryOrganisation(
            publicstory=story, organisation=organisation, first_responded_at=answered_at
        )
        for story, (organisation, _, _, answered_at) in zip(stories, rows, strict=True)
    )
    PublicResponse.objects.bulk_create(
        PublicResponse(
            public_story=story,
            organisation=organisation,
            responder_name="Sam Responder",
            body="Thank you for telling us.",
            published_at=answered_at,
            updated_at=answered_at,
        )
        for story, (organisation, _, _, answered_at) in zip(stories, rows, strict=True)
        if answered_at is not None
    )
    return len(stories)
