"""The staff inbox: an organisation's stories, filtered, searched and counted.

At 200,000 stories (benchmarks/inbox.py) the inbox stays quick because:
- the text search reads the words each story keeps (`Story.search_document`, a stored
  generated column with a GIN index, migration feedback 0009_inbox_search_index) instead of
  working out every story's words on every search;
- whether a story is answered is its `first_responded_at`, not a search of its responses;
- the service and tag filters are semi-joins (`pk IN (...)`), so no story is repeated and
  the list needs no DISTINCT: the newest page comes straight off the published_at index;
- the numbers beside the filters come from one grouped pass over the filtered stories;
- with a text search, that same pass also picks the page (`counted_page`): a search's
  matches are found once, not once for the numbers and again for the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.postgres.search import SearchQuery
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from feedback.choices import Criticality, Progress
from feedback.languages import StoryLanguage
from feedback.models import Service, Story

# The text search's language: the stories' stored words (Story.search_document) are English.
SEARCH_CONFIG = "english"


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
    # The only services (subtrees expanded) whose stories may be listed: a person limited to
    # some services (feedback/service_limits.py); None: every service. Never from the form.
    within: list[int] | None = None


def with_response_flag(stories: QuerySet[Story]) -> QuerySet[Story]:
    # Answered in public: a story's first response time is kept as responses are published
    # (feedback/responding.py), so no response needs looking for, and the filters agree
    # with the counts beside them, which read the same column.
    return stories.annotate(
        has_response=ExpressionWrapper(
            Q(first_responded_at__isnull=False), output_field=BooleanField()
        )
    )


def filtered_stories(filters: InboxFilters, *, user_id: int) -> QuerySet[Story]:
    stories = with_response_flag(Story.objects.all())
    if filters.within is not None:
        stories = stories.filter(
            pk__in=Story.services.through.objects.filter(service_id__in=filters.within).values(
                "story_id"
            )
        )
    if filters.service is not None:
        service = Service.objects.filter(pk=filters.service).first()
        ids = service.subtree_ids() if service else []
        stories = stories.filter(
            pk__in=Story.services.through.objects.filter(service_id__in=ids).values("story_id")
        )
    if filters.criticality in Criticality.values:
        stories = stories.filter(criticality=filters.criticality)
    if filters.progress in Progress.values:
        stories = stories.filter(progress=filters.progress)
    if filters.tag is not None:
        stories = stories.filter(
            pk__in=Story.tags.through.objects.filter(tag_id=filters.tag).values("story_id")
        )
    if filters.since:
        stories = stories.filter(published_at__gte=start_of(filters.since))
    if filters.until:
        stories = stories.filter(published_at__lt=start_of(filters.until, next_day=True))
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
        query = SearchQuery(filters.q, search_type="websearch", config=SEARCH_CONFIG)
        stories = stories.filter(search_document=query)
    return stories.order_by("-published_at", "-id")


def counts(stories: QuerySet[Story]) -> dict[str, object]:
    """How many of the filtered stories fall in each criticality and progress, and how many
    are responded to or overdue: the numbers beside each filter. One query: the stories
    grouped by criticality and progress (at most 30 groups), added up here."""
    groups = (
        stories.order_by()
        .values("criticality", "progress")
        .annotate(
            n=Count("pk"),
            responded=Count("pk", filter=Q(first_responded_at__isnull=False)),
            overdue=Count(
                "pk", filter=Q(first_responded_at__isnull=True, due_at__lt=timezone.now())
            ),
        )
    )
    return _added_up(groups)


def _added_up(groups: Iterable[dict[str, Any]]) -> dict[str, object]:
    by_criticality: dict[str, int] = {}
    by_progress: dict[str, int] = {}
    totals = {"total": 0, "responded": 0, "overdue": 0}
    for group in groups:
        by_criticality[group["criticality"]] = (
            by_criticality.get(group["criticality"], 0) + group["n"]
        )
        by_progress[group["progress"]] = by_progress.get(group["progress"], 0) + group["n"]
        totals["total"] += group["n"]
        totals["responded"] += group["responded"]
        totals["overdue"] += group["overdue"]
    return {
        "criticality": [(c, by_criticality.get(c.value, 0)) for c in Criticality],
        "progress": [(p, by_progress.get(p.value, 0)) for p in Progress],
        **totals,
    }


COUNTED_PAGE_SQL = """
WITH matched (id, published_at, criticality, progress, first_responded_at, due_at)
    AS MATERIALIZED ({matched})
SELECT criticality, progress, count(*),
       count(*) FILTER (WHERE first_responded_at IS NOT NULL),
       count(*) FILTER (WHERE first_responded_at IS NULL AND due_at < %s),
       NULL::bigint[]
FROM matched GROUP BY criticality, progress
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL,
       (SELECT coalesce(array_agg(id ORDER BY published_at DESC, id DESC), '{{}}')
        FROM (SELECT id, published_at FROM matched
              ORDER BY published_at DESC, id DESC LIMIT %s OFFSET %s) AS page)
"""


def counted_page(
    stories: QuerySet[Story], *, number: object, per_page: int
) -> tuple[dict[str, object], Page]:
    """The numbers beside the filters and the page asked for (a page number as typed: not a
    number, the first page; out of range, the last), newest first, from one pass over the
    filtered stories. For a text search that pass is most of the work: every match must be
    visited to be counted, and a rare word's matches are spread over the whole table, so
    finding them twice, for the numbers and then for the list, cost twice as much."""
    matched = stories.order_by().values_list(
        "id", "published_at", "criticality", "progress", "first_responded_at", "due_at"
    )
    inner, params = matched.query.sql_with_params()
    statement = COUNTED_PAGE_SQL.format(matched=inner)
    # As Paginator.get_page reads it: not a number, the first page; out of range, the last.
    try:
        wanted = int(str(number))
    except ValueError:
        wanted = 1
    last_page = wanted < 1
    wanted = max(wanted, 1)
    now = timezone.now()

    def run(page_number: int) -> tuple[list[tuple], list[int]]:
        with connection.cursor() as cursor:
            cursor.execute(statement, [*params, now, per_page, (page_number - 1) * per_page])
            rows = cursor.fetchall()
        # The groups' rows have no ids; the one page row has (an empty array at least).
        groups = [row for row in rows if row[5] is None]
        return groups, next(row[5] for row in rows if row[5] is not None)

    groups, ids = run(wanted)
    numbers = _added_up(
        {"criticality": c, "progress": p, "n": n, "responded": r, "overdue": o}
        for c, p, n, r, o, _ in groups
    )
    paginator = Paginator(stories, per_page)
    paginator.count = numbers["total"]
    if (last_page or wanted > paginator.num_pages) and wanted != paginator.num_pages:
        wanted = paginator.num_pages
        _, ids = run(wanted)
    found = {
        story.pk: story
        for story in with_response_flag(Story.objects.filter(pk__in=ids)).prefetch_related(
            "services"
        )
    }
    return numbers, Page([found[pk] for pk in ids if pk in found], wanted, paginator)


def start_of(day: date, *, next_day: bool = False) -> datetime:
    """The first moment of `day` (or of the day after) in the UK: a "from" or "to" date
    filter's bound, shared by every inbox-like list."""
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timedelta(days=1) if next_day else moment
