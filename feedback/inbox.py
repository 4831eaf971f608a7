"""The staff inbox: an organisation's stories, filtered, searched and counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from feedback.choices import Criticality, Progress
from feedback.languages import StoryLanguage
from feedback.models import Response, Service, Story


@dataclass
class InboxFilters:
    service: int | None = None
    criticality: str = ""
    progress: str = ""
    tag: int | None = None
    since: date | None = None
    until: date | None = None
    responded: str = ""  # "yes", "no" or ""
    overdue: bool = False
    q: str = ""
    assigned_to_me: bool = False
    language: str = ""  # "en", "cy" or "": the language the story was told in


def filtered_stories(filters: InboxFilters, *, user_id: int) -> QuerySet[Story]:
    stories = Story.objects.annotate(
        has_response=Exists(Response.objects.filter(story=OuterRef("pk")))
    )
    if filters.service is not None:
        service = Service.objects.filter(pk=filters.service).first()
        ids = service.subtree_ids() if service else []
        stories = stories.filter(services__in=ids)
    if filters.criticality in Criticality.values:
        stories = stories.filter(criticality=filters.criticality)
    if filters.progress in Progress.values:
        stories = stories.filter(progress=filters.progress)
    if filters.tag is not None:
        stories = stories.filter(tags__pk=filters.tag)
    if filters.since:
        stories = stories.filter(published_at__gte=_start_of(filters.since))
    if filters.until:
        stories = stories.filter(published_at__lt=_start_of(filters.until, next_day=True))
    if filters.responded == "yes":
        stories = stories.filter(has_response=True)
    elif filters.responded == "no":
        stories = stories.filter(has_response=False)
    if filters.overdue:
        stories = stories.filter(has_response=False, due_at__lt=timezone.now())
    if filters.assigned_to_me:
        stories = stories.filter(assigned_to_id=user_id)
    if filters.language in StoryLanguage.values:
        stories = stories.filter(language=filters.language)
    if filters.q:
        query = SearchQuery(filters.q, search_type="websearch", config="english")
        stories = stories.annotate(document=SearchVector("title", "body", config="english")).filter(
            document=query
        )
    return stories.distinct().order_by("-published_at", "-id")


def counts(stories: QuerySet[Story]) -> dict[str, object]:
    """How many of the filtered stories fall in each criticality and progress, and how many
    are responded to or overdue: the numbers beside each filter."""
    ids = stories.values("pk")
    base = Story.objects.filter(pk__in=ids)
    by_criticality = dict(base.values_list("criticality").annotate(n=Count("pk")))
    by_progress = dict(base.values_list("progress").annotate(n=Count("pk")))
    totals = base.aggregate(
        total=Count("pk"),
        responded=Count("pk", filter=Q(first_responded_at__isnull=False)),
        overdue=Count("pk", filter=Q(first_responded_at__isnull=True, due_at__lt=timezone.now())),
    )
    return {
        "criticality": [(c, by_criticality.get(c.value, 0)) for c in Criticality],
        "progress": [(p, by_progress.get(p.value, 0)) for p in Progress],
        **totals,
    }


def _start_of(day: date, *, next_day: bool = False) -> datetime:
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timedelta(days=1) if next_day else moment
