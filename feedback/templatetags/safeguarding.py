"""Template tags for safeguarding concerns on the moderation pages, which work from the
submission alone (the moderation views' context is not theirs to extend)."""

from __future__ import annotations

from django import template

from feedback import safeguarding
from feedback.hub.models import (
    ConcernCategory,
    SafeguardingConcern,
    Submission,
    SubmissionState,
)

register = template.Library()


@register.simple_tag
def concerns_for(submission: Submission) -> list[SafeguardingConcern]:
    """The concerns raised about this submission, one per organisation."""
    return list(
        SafeguardingConcern.objects.filter(submission_id=submission.pk)
        .select_related("organisation", "raised_by")
        .order_by("organisation__name")
    )


@register.simple_tag
def concerned_submission_ids() -> set[int]:
    """Pending submissions with a safeguarding concern, for the queue's badge (one query)."""
    return set(
        SafeguardingConcern.objects.filter(submission__state=SubmissionState.PENDING).values_list(
            "submission_id", flat=True
        )
    )


@register.simple_tag
def concern_categories() -> list[tuple[str, str]]:
    return list(ConcernCategory.choices)


@register.filter
def concern_time_left(concern: SafeguardingConcern) -> str:
    """Acknowledged, escalated, or the time until (or since) it escalates."""
    return safeguarding.time_left(concern).words
