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
from django.db.models import Count, Q
from django.utils import timezone

from alerts.working_time import WorkingCalendar
from dashboards.rollups.models import RESPONSE_BUCKET_FIELDS, ServiceDay, ServiceDayTag
from dashboards.statistics import median_hours, share
from feedback.choices import POSITIVE_CRITICALITIES as POSITIVE
from feedback.choices import ChangeStatus, Criticality, TagGroup
from feedback.hub.models import PublicResponse, PublicStory, ServiceListing
from feedback.models import Story, StoryTopic

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


@dataclass(frozen=True)
class TopicCount:
    label: str
    stories: int
    critical: int


def learned_topics(scope: Scope, *, limit: int = 12) -> list[TopicCount]:
    """The active organisation's learned themes (feedback/topics.py) among its stories in
    scope: how many stories each holds, and how many of those are critical."""
    stories = Story.objects.filter(
        published_at__gte=_midnight(scope.start),
        published_at__lt=_midnight(scope.end + timedelta(days=1)),
    )
    if scope.service_ids is not None:
        stories = stories.filter(
            pk__in=Story.services.through.objects.filter(service_id__in=scope.service_ids).values(
                "story_id"
            )
        )
    if scope.criticalities is not None:
        stories = stories.filter(criticality__in=scope.criticalities)
    counted = (
        StoryTopic.objects.filter(story__in=stories)
        .values("topic_id", "topic__name", "topic__terms")
        .annotate(
            n=Count("pk"),
            critical=Count("pk", filter=~Q(story__criticality__in=list(POSITIVE))),
        )
        .order_by("-n", "topic_id")[:limit]
    )
    return [
        TopicCount(
            row["topic__name"] or ", ".join(row["topic__terms"][:3]), row["n"], row["critical"]
        )
        for row in counted
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
class Standard:
    """One criticality's network standard, in the terms the SQL deadline works with: `kind`
    is "same day" (amount unused), "days" (that many calendar days, same clock time) or
    "hours" (that many working hours)."""

    criticality: str
    kind: str
    amount: float


@dataclass(frozen=True)
class ComplianceCounts:
    """One member's stories measured against the standards (see dashboards/compliance.py)."""

    organisation_id: int
    in_time: int
    late: int
    open_breaches: int
    median_response_hours: float | None


# The compliance table's SQL. Each measured story's deadline is worked out in SQL exactly as
# alerts/working_time.py's `due_at` works it out on a calendar without bank holidays whose
# working day starts after the clock changes (so every working day is as long as the next):
# the same instant, to the microsecond (tests/dashboards/test_compliance_deadlines.py
# compares the two). A year of fifty members' stories is ~75,000 rows, so the arithmetic is
# done in whole microseconds of wall-clock time (bigint), with one time-zone conversion in
# and one out, and each step is a subquery that is not flattened (OFFSET 0), so what it
# works out is worked out once per story rather than again in every expression using it.
#
# Steps, from the inside out:
# 1. the measured stories, with their standard and when their organisation first answered
#    them in public (kept on its link to the story as responses are published), and
#    `wall`: the publication's wall clock in the calendar's zone, in microseconds since
#    1970-01-01 00:00 on that clock;
# 2. `day` (days since 1970-01-01, a Thursday), `secs` (microseconds since midnight), `dow`
#    (ISO: Monday 1);
# 3. `next_day`, the next working day, and where working hours start counting: `start_day`,
#    `in_day` microseconds after it opens (the next working day's opening when published
#    after hours or on a day off);
# 4. the deadline on the wall clock. "same day": the end of the working day it was published
#    in, or of the next one when published after hours or on a day off. "hours": within the
#    first day, or else `beyond` (what does not fit in the first day) reaches `whole` more
#    working days on, `beyond - (whole - 1) * length` into the last of them. "days": the same
#    wall-clock time N days on;
# 5. the deadline as an instant. Only "days" lands outside working hours, so only it can
#    meet a clock change: a time the autumn change makes twice is the first of the two, as
#    Python's fold=0 reads it (PostgreSQL reads the second); one the spring change skips is
#    read with the offset before it (as both do).
_DAY = 86_400_000_000
_BEYOND = "(span - (%(length)s - in_day))"
_WHOLE = f"(({_BEYOND} + %(length)s - 1) / %(length)s)"
# The deadline as an instant (step 5), in one of two branches that never both run.
_DUE = """(
    CASE WHEN kind <> 'days' THEN due_wall AT TIME ZONE %(tz)s
         WHEN (due_wall AT TIME ZONE %(tz)s - interval '1 hour') AT TIME ZONE %(tz)s = due_wall
         THEN due_wall AT TIME ZONE %(tz)s - interval '1 hour'
         ELSE due_wall AT TIME ZONE %(tz)s
    END
)"""
_COMPLIANCE_SQL = f"""
WITH standard(criticality, kind, amount) AS (
    SELECT * FROM unnest(%(criticalities)s::text[], %(kinds)s::text[], %(amounts)s::float8[])
)
SELECT organisation_id,
       count(*) FILTER (WHERE status = 'in time'),
       count(*) FILTER (WHERE status = 'late'),
       count(*) FILTER (WHERE status = 'breach'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited)
FROM (
    SELECT organisation_id,
        extract(epoch FROM answered_at - published_at) / 3600 AS waited,
        CASE WHEN answered_at IS NULL
             THEN CASE WHEN {_DUE} <= %(now)s THEN 'breach' END
             WHEN answered_at <= {_DUE} THEN 'in time'
             ELSE 'late'
        END AS status
    FROM (
        SELECT organisation_id, published_at, answered_at, kind,
            timestamp 'epoch' + interval '1 microsecond' * CASE kind
            WHEN 'days' THEN wall + days * {_DAY}
            WHEN 'same day' THEN
                CASE WHEN dow <= 5 AND secs <= %(closes)s THEN day ELSE next_day END * {_DAY}
                + %(closes)s
            ELSE CASE
                WHEN {_BEYOND} <= 0 THEN start_day * {_DAY} + %(opens)s + in_day + span
                ELSE (start_day + 7 * ({_WHOLE} / 5) + {_WHOLE} %% 5
                      + CASE WHEN (start_day + 3) %% 7 + 1 + {_WHOLE} %% 5 > 5 THEN 2 ELSE 0 END
                     ) * {_DAY} + %(opens)s + {_BEYOND} - ({_WHOLE} - 1) * %(length)s
                END
            END AS due_wall
        FROM (
            SELECT organisation_id, published_at, answered_at, kind, span, days, wall, day,
                secs, dow, next_day,
                CASE WHEN dow > 5 OR secs >= %(closes)s THEN next_day ELSE day END
                    AS start_day,
                CASE WHEN dow > 5 OR secs >= %(closes)s THEN 0
                     ELSE greatest(secs - %(opens)s, 0) END AS in_day
            FROM (
                SELECT *, day + CASE dow WHEN 5 THEN 3 WHEN 6 THEN 2 ELSE 1 END AS next_day
                FROM (
                    SELECT *, wall / {_DAY} AS day, wall %% {_DAY} AS secs,
                           (wall / {_DAY} + 3) %% 7 + 1 AS dow
                    FROM (
                        SELECT named.organisation_id, story.published_at,
                            named.first_responded_at AS answered_at, standard.kind,
                            round(standard.amount * 3600000000)::bigint AS span,
                            standard.amount::int AS days,
                            round(date_part(
                                'epoch', story.published_at AT TIME ZONE %(tz)s
                            ) * 1000000)::bigint AS wall
                        FROM {PUBLIC_STORY_ORGANISATIONS} named
                        JOIN {PUBLIC_STORIES} story ON story.id = named.publicstory_id
                        JOIN standard ON standard.criticality = story.criticality
                        WHERE named.organisation_id = ANY(%(organisations)s)
                          AND story.published_at >= %(from)s
                          AND story.published_at < %(until)s
                        OFFSET 0
                    ) AS stories OFFSET 0
                ) AS dated OFFSET 0
            ) AS rolled OFFSET 0
        ) AS started OFFSET 0
    ) AS deadlines OFFSET 0
) AS measured
GROUP BY organisation_id
"""


def _microseconds(clock: time) -> int:
    """Microseconds since midnight on the wall clock."""
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 10**6 + clock.microsecond


def compliance_counts(
    organisation_ids: list[int],
    start: date,
    end: date,
    standards: list[Standard],
    calendar: WorkingCalendar,
    now: datetime,
) -> list[ComplianceCounts]:
    """Each of these organisations' stories published in the period (UK days) of a
    criticality the standards measure, counted against their deadlines on `calendar`: in
    time (first public response from that organisation by the deadline), late, and open
    breaches (none yet, deadline passed by `now`), with the median hours to a first response
    of those answered. From the hub's public copies alone, by organisation id: a story
    naming two members counts for each, answered by its own. Organisations with no such
    stories are left out."""
    if calendar.holidays or calendar.day_starts < time(3, 0):
        # Every working day the same length is what lets the SQL count whole days.
        raise ValueError("The deadline SQL takes a calendar without holidays, opening after 3am.")
    if not organisation_ids or not standards:
        return []
    opens, closes = _microseconds(calendar.day_starts), _microseconds(calendar.day_ends)
    rows = _rows(
        _COMPLIANCE_SQL,
        {
            "organisations": organisation_ids,
            "from": _midnight(start),
            "until": _midnight(end + timedelta(days=1)),
            "criticalities": [s.criticality for s in standards],
            "kinds": [s.kind for s in standards],
            "amounts": [float(s.amount) for s in standards],
            "tz": calendar.tz.key,
            "opens": opens,
            "closes": closes,
            "length": closes - opens,
            "now": now,
        },
    )
    return [
        ComplianceCounts(pk, in_time, late, breaches, None if median is None else float(median))
        for pk, in_time, late, breaches, median in rows
    ]
