"""Every figure the dashboards (and reports) show, added up in SQL over the rollups.

Nothing here reads another organisation's schema: organisation figures come from the
public-schema rollups, filtered by organisation id; `author_marks` reads the hub's public
copies of responses, filtered the same way; only `recent_stories` reads the active
organisation's own stories, for the story swarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from dashboards.rollups.models import RESPONSE_BUCKET_FIELDS, ServiceDay, ServiceDayTag
from dashboards.statistics import median_hours, share
from feedback.choices import ChangeStatus, Criticality, TagGroup
from feedback.hub.models import PublicResponse, PublicStory, ServiceListing
from feedback.models import Story

CRITICAL = (Criticality.STRONGLY_CRITICAL.value, Criticality.SEVERELY_CRITICAL.value)
DAYS = ServiceDay._meta.db_table
TAGS = ServiceDayTag._meta.db_table
PUBLIC_RESPONSES = PublicResponse._meta.db_table
PUBLIC_STORIES = PublicStory._meta.db_table
PUBLIC_STORY_SERVICES = PublicStory.services.through._meta.db_table
LISTINGS = ServiceListing._meta.db_table
_BUCKET_SUMS = ", ".join(f"coalesce(sum({name}), 0)" for name in RESPONSE_BUCKET_FIELDS)


@dataclass(frozen=True)
class Scope:
    """Which rollups a figure is over: one organisation's, in a period, optionally only some
    services (a subtree, already expanded to ids) and criticalities."""

    organisation_id: int
    start: date
    end: date  # inclusive
    service_ids: tuple[int, ...] | None = None
    criticalities: tuple[str, ...] | None = None

    def where(self, *, dated: bool = True) -> tuple[str, dict[str, object]]:
        clauses = ["organisation_id = %(organisation)s"]
        params: dict[str, object] = {
            "organisation": self.organisation_id,
            "start": self.start,
            "end": self.end,
        }
        if dated:
            clauses.append("day BETWEEN %(start)s AND %(end)s")
        if self.service_ids is not None:
            clauses.append("service_id = ANY(%(services)s)")
            params["services"] = list(self.service_ids)
        if self.criticalities is not None:
            clauses.append("criticality = ANY(%(criticalities)s)")
            params["criticalities"] = list(self.criticalities)
        return " AND ".join(clauses), params


def _rows(sql: str, params: dict[str, object]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class Kpis:
    stories_week: int
    stories_previous_week: int
    stories_month: int
    stories_previous_month: int
    stories: int
    responded: int
    answered_late: int
    median_response_hours: float | None
    open_breaches: int
    changes_made: int
    changes_planned: int

    @property
    def share_responded(self) -> float | None:
        return share(self.responded, self.stories)

    @property
    def share_within_target(self) -> float | None:
        return share(self.responded - self.answered_late, self.responded)


def kpis(scope: Scope) -> Kpis:
    """Stories this week and month (the 7 and 30 days to the period's end) against the
    period before; responses, changes over the period; open breaches whenever published."""
    where, params = scope.where(dated=False)
    params["since"] = min(scope.start, scope.end - timedelta(days=59))
    (row,) = _rows(
        f"""
        SELECT
          coalesce(sum(stories) FILTER (WHERE day > %(end)s - 7 AND day <= %(end)s), 0),
          coalesce(sum(stories) FILTER (WHERE day > %(end)s - 14 AND day <= %(end)s - 7), 0),
          coalesce(sum(stories) FILTER (WHERE day > %(end)s - 30 AND day <= %(end)s), 0),
          coalesce(sum(stories) FILTER (WHERE day > %(end)s - 60 AND day <= %(end)s - 30), 0),
          coalesce(sum(stories) FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0),
          coalesce(sum(responded) FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0),
          coalesce(sum(breaches - breaches_open)
                   FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0),
          coalesce(sum(changes_made) FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0),
          coalesce(sum(changes_planned) FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0),
          {
            ", ".join(
                f"coalesce(sum({name}) FILTER (WHERE day BETWEEN %(start)s AND %(end)s), 0)"
                for name in RESPONSE_BUCKET_FIELDS
            )
        }
        FROM {DAYS}
        WHERE {where} AND day BETWEEN %(since)s AND %(end)s
        """,
        params,
    )
    (open_breaches,) = _rows(
        f"SELECT coalesce(sum(breaches_open), 0) FROM {DAYS} "
        f"WHERE {where} AND breaches_open > 0 AND day <= %(end)s",
        params,
    )[0]
    return Kpis(
        stories_week=row[0],
        stories_previous_week=row[1],
        stories_month=row[2],
        stories_previous_month=row[3],
        stories=row[4],
        responded=row[5],
        answered_late=row[6],
        changes_made=row[7],
        changes_planned=row[8],
        median_response_hours=median_hours(row[9:]),
        open_breaches=open_breaches,
    )


@dataclass(frozen=True)
class AuthorMarks:
    """What authors said of the responses published in the period to stories in scope,
    through their signed link (feedback/followup.py): each response could be marked
    helpful, and each one claiming a change (planned or made) confirmed or denied."""

    # Responses published in the period: the ones an author could mark.
    responses: int
    helpful: int
    # Of the responses, those claiming a change; and those whose author says it happened.
    changes_claimed: int
    changes_confirmed: int

    @property
    def share_helpful(self) -> float | None:
        return share(self.helpful, self.responses)

    @property
    def share_confirmed(self) -> float | None:
        return share(self.changes_confirmed, self.changes_claimed)


def author_marks(scope: Scope) -> AuthorMarks:
    """Responses marked helpful and changes confirmed by their authors, out of the responses
    published in the period (and the changes they claim), to stories about the scope's
    services and of its criticalities. Read from the hub's public copies by organisation id
    (through its organisation and published-at indexes), so no tenant schema is opened; a
    response counts once however many of the scope's services its story names."""
    params: dict[str, object] = {
        "organisation": scope.organisation_id,
        "from": _midnight(scope.start),
        "until": _midnight(scope.end + timedelta(days=1)),
        "none": ChangeStatus.NONE.value,
    }
    joins, clauses = "", []
    if scope.criticalities is not None:
        joins = f"JOIN {PUBLIC_STORIES} story ON story.id = response.public_story_id"
        clauses.append("story.criticality = ANY(%(criticalities)s)")
        params["criticalities"] = list(scope.criticalities)
    if scope.service_ids is not None:
        clauses.append(
            f"""EXISTS (
              SELECT 1 FROM {PUBLIC_STORY_SERVICES} named
              JOIN {LISTINGS} listing ON listing.id = named.servicelisting_id
              WHERE named.publicstory_id = response.public_story_id
                AND listing.organisation_id = %(organisation)s
                AND listing.service_id = ANY(%(services)s))"""
        )
        params["services"] = list(scope.service_ids)
    (row,) = _rows(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE response.author_found_helpful),
               count(*) FILTER (WHERE response.change_status <> %(none)s),
               count(*) FILTER (WHERE response.change_status <> %(none)s
                                  AND response.author_confirms_change)
        FROM {PUBLIC_RESPONSES} response {joins}
        WHERE response.organisation_id = %(organisation)s
          AND response.published_at >= %(from)s AND response.published_at < %(until)s
          {"".join(f" AND {clause}" for clause in clauses)}
        """,
        params,
    )
    return AuthorMarks(*row)


def granularity(scope: Scope) -> str:
    days = (scope.end - scope.start).days + 1
    if days <= 92:
        return "day"
    return "week" if days <= 731 else "month"


def stories_over_time(scope: Scope) -> list[tuple[date, str, int]]:
    """(period start, criticality, stories), by day, week or month as the period suits."""
    where, params = scope.where()
    params["unit"] = granularity(scope)
    return [
        (row[0], row[1], row[2])
        for row in _rows(
            f"""
            SELECT date_trunc(%(unit)s, day)::date AS period, criticality, sum(stories)
            FROM {DAYS} WHERE {where}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            params,
        )
    ]


def response_times(scope: Scope) -> list[int]:
    """Stories first answered within each of the response-time buckets."""
    where, params = scope.where()
    return list(_rows(f"SELECT {_BUCKET_SUMS} FROM {DAYS} WHERE {where}", params)[0])


@dataclass(frozen=True)
class ServiceFigures:
    service_id: int
    stories: int
    responded: int
    critical: int
    open_breaches: int
    changes_made: int
    median_response_hours: float | None

    @property
    def share_responded(self) -> float | None:
        return share(self.responded, self.stories)


def by_service(scope: Scope) -> list[ServiceFigures]:
    where, params = scope.where()
    params["critical"] = list(CRITICAL)
    return [
        ServiceFigures(
            service_id=row[0],
            stories=row[1],
            responded=row[2],
            critical=row[3],
            open_breaches=row[4],
            changes_made=row[5],
            median_response_hours=median_hours(row[6:]),
        )
        for row in _rows(
            f"""
            SELECT service_id, sum(stories), sum(responded),
                   coalesce(sum(stories) FILTER (WHERE criticality = ANY(%(critical)s)), 0),
                   sum(breaches_open), sum(changes_made), {_BUCKET_SUMS}
            FROM {DAYS} WHERE {where}
            GROUP BY service_id ORDER BY sum(stories) DESC, service_id
            """,
            params,
        )
    ]


@dataclass(frozen=True)
class TagCount:
    group: str
    name: str
    polarity: str
    stories: int


def top_tags(scope: Scope, *, per_group: int = 8) -> list[TagCount]:
    """The most given 'what was good' and 'what could be improved' tags."""
    where, params = scope.where()
    params["groups"] = [TagGroup.GOOD.value, TagGroup.IMPROVE.value]
    params["limit"] = per_group
    return [
        TagCount(*row)
        for row in _rows(
            f"""
            SELECT tag_group, tag_name, polarity, n FROM (
              SELECT tag_group, tag_name, polarity, sum(stories) AS n,
                     row_number() OVER (PARTITION BY tag_group
                                        ORDER BY sum(stories) DESC, tag_name) AS rank
              FROM {TAGS} WHERE {where} AND tag_group = ANY(%(groups)s)
              GROUP BY tag_group, tag_name, polarity
            ) ranked WHERE rank <= %(limit)s ORDER BY tag_group, n DESC, tag_name
            """,
            params,
        )
    ]


@dataclass(frozen=True)
class RecentStory:
    pk: int
    title: str
    published_at: object
    criticality: str
    progress: str


def recent_stories(scope: Scope, *, limit: int = 300) -> list[RecentStory]:
    """The active organisation's latest stories in scope, one dot each in the story swarm."""
    stories = Story.objects.filter(
        published_at__gte=_midnight(scope.start),
        published_at__lt=_midnight(scope.end + timedelta(days=1)),
    )
    if scope.service_ids is not None:
        stories = stories.filter(services__in=scope.service_ids)
    if scope.criticalities is not None:
        stories = stories.filter(criticality__in=scope.criticalities)
    return [
        RecentStory(*row)
        for row in stories.order_by("-published_at", "-pk")
        .values_list("pk", "title", "published_at", "criticality", "progress")
        .distinct()[:limit]
    ]


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- network comparison -----------------------------------------------------------------


@dataclass(frozen=True)
class ProviderFigures:
    organisation_id: int
    stories: int
    responded: int
    critical: int
    changes: int
    median_response_hours: float | None

    @property
    def share_responded(self) -> float | None:
        return share(self.responded, self.stories)

    @property
    def share_critical(self) -> float | None:
        return share(self.critical, self.stories)

    @property
    def changes_per_100(self) -> float | None:
        return 100 * self.changes / self.stories if self.stories else None


def provider_figures(
    organisation_ids: list[int], start: date, end: date
) -> dict[int, ProviderFigures]:
    """Each provider's figures for the period, from the public rollups alone."""
    if not organisation_ids:
        return {}
    rows = _rows(
        f"""
        SELECT organisation_id, sum(stories), sum(responded),
               coalesce(sum(stories) FILTER (WHERE criticality = ANY(%(critical)s)), 0),
               sum(changes_planned + changes_made), {_BUCKET_SUMS}
        FROM {DAYS}
        WHERE organisation_id = ANY(%(organisations)s) AND day BETWEEN %(start)s AND %(end)s
        GROUP BY organisation_id
        """,
        {
            "organisations": organisation_ids,
            "start": start,
            "end": end,
            "critical": list(CRITICAL),
        },
    )
    figures = {
        row[0]: ProviderFigures(
            organisation_id=row[0],
            stories=row[1],
            responded=row[2],
            critical=row[3],
            changes=row[4],
            median_response_hours=median_hours(row[5:]),
        )
        for row in rows
    }
    return {pk: figures.get(pk, ProviderFigures(pk, 0, 0, 0, 0, None)) for pk in organisation_ids}


@dataclass(frozen=True)
class TrendPoint:
    organisation_id: int
    month: date
    stories: int
    responded: int


def provider_trends(organisation_ids: list[int], start: date, end: date) -> list[TrendPoint]:
    if not organisation_ids:
        return []
    return [
        TrendPoint(*row)
        for row in _rows(
            f"""
            SELECT organisation_id, date_trunc('month', day)::date, sum(stories), sum(responded)
            FROM {DAYS}
            WHERE organisation_id = ANY(%(organisations)s) AND day BETWEEN %(start)s AND %(end)s
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            {"organisations": organisation_ids, "start": start, "end": end},
        )
    ]


# --- network standards ---------------------------------------------------------------------

PUBLIC_STORY_ORGANISATIONS = PublicStory.organisations.through._meta.db_table


@dataclass(frozen=True)
class PublishedStory:
    """A member's published story and its first public response from that member, if any."""

    organisation_id: int
    criticality: str
    published_at: datetime
    first_response_at: datetime | None


def first_responses(organisation_ids: list[int], start: date, end: date) -> list[PublishedStory]:
    """Each of these organisations' stories published in the period (UK days), with when that
    organisation first answered it in public. From the hub's public copies alone, by
    organisation id: a story naming two members counts for each, answered by its own."""
    if not organisation_ids:
        return []
    return [
        PublishedStory(*row)
        for row in _rows(
            f"""
            SELECT named.organisation_id, story.criticality, story.published_at,
                   (SELECT min(response.published_at) FROM {PUBLIC_RESPONSES} response
                    WHERE response.public_story_id = story.id
                      AND response.organisation_id = named.organisation_id)
            FROM {PUBLIC_STORY_ORGANISATIONS} named
            JOIN {PUBLIC_STORIES} story ON story.id = named.publicstory_id
            WHERE named.organisation_id = ANY(%(organisations)s)
              AND story.published_at >= %(from)s AND story.published_at < %(until)s
            """,
            {
                "organisations": organisation_ids,
                "from": _midnight(start),
                "until": _midnight(end + timedelta(days=1)),
            },
        )
    ]
