"""Which of the organisation's own stories a report may quote, read from its own schema."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from dashboards.queries import Scope
from feedback.models import Response, Story

EXCERPT_CHARS = 300


def excerpt(text: str) -> str:
    """The first 300 characters of the plain text (Markdown headings left out, spaces
    collapsed), with an ellipsis when there was more."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rstrip() + "…"


def _midnight(day: date) -> datetime:
    # The rollups count a story under its UK day, so the period's edges are UK midnights.
    return timezone.make_aware(datetime.combine(day, time.min))


def stories_in(scope: Scope) -> QuerySet[Story]:
    """The stories published in the period, about the scope's services and of its
    criticalities. Joined through services, so a story may appear more than once."""
    stories = Story.objects.filter(
        published_at__gte=_midnight(scope.start),
        published_at__lt=_midnight(scope.end + timedelta(days=1)),
    )
    if scope.service_ids is not None:
        stories = stories.filter(services__in=scope.service_ids)
    if scope.criticalities is not None:
        stories = stories.filter(criticality__in=scope.criticalities)
    return stories


def responses_in(scope: Scope) -> QuerySet[Response]:
    """The responses published in the period, to stories about the scope's services and of
    its criticalities (the story may be older). May repeat a response, as `stories_in`."""
    responses = Response.objects.filter(
        published_at__gte=_midnight(scope.start),
        published_at__lt=_midnight(scope.end + timedelta(days=1)),
    )
    if scope.service_ids is not None:
        responses = responses.filter(story__services__in=scope.service_ids)
    if scope.criticalities is not None:
        responses = responses.filter(story__criticality__in=scope.criticalities)
    return responses
