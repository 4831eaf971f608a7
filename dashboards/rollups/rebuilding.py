"""Recomputing an organisation's rollups from its stories, and marking missed targets.

`rebuild_rollups` is idempotent: run it twice and the rows are the same. It is what the
nightly repair and `manage.py rebuild_rollups` run; a test holds it equal to the
incremental updates."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.freshness import bump_data_version
from dashboards.rollups.models import RESPONSE_BUCKET_FIELDS, ServiceDay, ServiceDayTag
from dashboards.rollups.updating import BUCKET_BOUNDS_SECONDS, COUNTERS, hold_rollups, tracking
from feedback.models import Response, Story, Tag
from tenants.models import Organisation

MARK_BATCH = 2000


def mark_missed_targets(now: datetime | None = None) -> int:
    """Record the targets missed by now: stories still unanswered past their due time, and
    any answered late but not yet marked. Run in the organisation's schema."""
    now = now or timezone.now()
    late = Story.objects.filter(target_missed_at__isnull=True, due_at__lt=now).filter(
        Q(first_responded_at__isnull=True) | Q(first_responded_at__gt=F("due_at"))
    )
    marked = 0
    while True:
        # In batches, each its own transaction: a backlog (a first run after an import)
        # neither holds thousands of row locks nor one long transaction.
        with transaction.atomic():
            # A story being answered right now is skipped; its response marks it if late.
            ids = list(
                late.order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:MARK_BATCH]
            )
            if ids:
                with tracking(ids):
                    Story.objects.filter(pk__in=ids).update(target_missed_at=F("due_at"))
        marked += len(ids)
        if len(ids) < MARK_BATCH:
            return marked


def rebuild_rollups(organisation: Organisation, now: datetime | None = None) -> int:
    """Recompute `organisation`'s rollups from its stories. Returns ServiceDay rows."""
    with tenant_context(organisation):
        mark_missed_targets(now)
        with transaction.atomic():
            hold_rollups(organisation.pk, exclusive=True)
            ServiceDay.objects.filter(organisation=organisation).delete()
            ServiceDayTag.objects.filter(organisation=organisation).delete()
            with connection.cursor() as cursor:
                cursor.execute(_DAYS_SQL, _params(organisation))
                rows = cursor.rowcount
                cursor.execute(_TAGS_SQL, _params(organisation))
            bump_data_version(organisation.schema_name)
    return rows


def _params(organisation: Organisation) -> dict[str, object]:
    return {
        "organisation": organisation.pk,
        "tz": settings.TIME_ZONE,
        "bounds": list(BUCKET_BOUNDS_SECONDS),
    }


_story = Story._meta.db_table
_story_services = Story.services.through._meta.db_table
_story_tags = Story.tags.through._meta.db_table
_tag = Tag._meta.db_table
_response = Response._meta.db_table

_FIRST_SERVICES = f"""
    firsts AS (
        SELECT story_id, min(service_id) AS service_id FROM {_story_services} GROUP BY story_id
    )"""

_BUCKETS = ",\n".join(
    f"count(*) FILTER (WHERE width_bucket(secs, %(bounds)s::bigint[]) = {i})"
    for i in range(len(RESPONSE_BUCKET_FIELDS))
)

_DAYS_SQL = f"""
WITH {_FIRST_SERVICES},
    changes AS (
        SELECT story_id,
               max(CASE change_status WHEN 'made' THEN 2 WHEN 'planned' THEN 1 ELSE 0 END)
                   AS level
        FROM {_response} GROUP BY story_id
    ),
    tag_counts AS (
        SELECT st.story_id,
               count(*) FILTER (WHERE t.polarity = 'positive') AS positive,
               count(*) FILTER (WHERE t.polarity = 'negative') AS negative
        FROM {_story_tags} st JOIN {_tag} t ON t.id = st.tag_id
        WHERE NOT t.is_private GROUP BY st.story_id
    ),
    facts AS (
        SELECT f.service_id,
               (s.published_at AT TIME ZONE %(tz)s)::date AS day,
               s.criticality,
               CASE WHEN s.first_responded_at IS NULL THEN NULL
                    ELSE greatest(0, floor(extract(epoch FROM
                         s.first_responded_at - s.published_at)))::bigint END AS secs,
               s.target_missed_at IS NOT NULL AS missed,
               coalesce(c.level, 0) AS level,
               coalesce(tc.positive, 0) AS positive,
               coalesce(tc.negative, 0) AS negative
        FROM {_story} s
        JOIN firsts f ON f.story_id = s.id
        LEFT JOIN changes c ON c.story_id = s.id
        LEFT JOIN tag_counts tc ON tc.story_id = s.id
    )
INSERT INTO {ServiceDay._meta.db_table}
    (organisation_id, service_id, day, criticality, {", ".join(COUNTERS)})
SELECT %(organisation)s, service_id, day, criticality,
       count(*),
       count(secs),
       coalesce(sum(secs), 0),
       {_BUCKETS},
       count(*) FILTER (WHERE missed),
       count(*) FILTER (WHERE missed AND secs IS NULL),
       count(*) FILTER (WHERE level = 1),
       count(*) FILTER (WHERE level = 2),
       coalesce(sum(positive), 0),
       coalesce(sum(negative), 0)
FROM facts
GROUP BY service_id, day, criticality
"""

_TAGS_SQL = f"""
WITH {_FIRST_SERVICES}
INSERT INTO {ServiceDayTag._meta.db_table}
    (organisation_id, service_id, day, criticality, tag_group, tag_name, polarity, stories)
SELECT %(organisation)s, f.service_id, (s.published_at AT TIME ZONE %(tz)s)::date,
       s.criticality, t."group", t.name, t.polarity, count(*)
FROM {_story} s
JOIN firsts f ON f.story_id = s.id
JOIN {_story_tags} st ON st.story_id = s.id
JOIN {_tag} t ON t.id = st.tag_id AND NOT t.is_private
GROUP BY f.service_id, 3, s.criticality, t."group", t.name, t.polarity
"""
