"""Keeping ServiceDay rollups in step with stories, in the same transaction as the change.

A story's contribution to the rollups is a function of its current state (`read_facts`). A
change to stories applies the difference between their contributions before and after it,
so publication, responses, edits, changes recorded and missed targets all go through one
path. Run inside the organisation's schema, inside the transaction making the change.

Feedback's changes arrive by signal, in that transaction (dashboards/rollups/receivers.py):
new stories (`record_new_stories`), answering before and after a response
(`record_answering`), stories about to be withdrawn (`record_removed_stories`). Dashboards'
own changes (missed targets, rebuilding.py) use `tracking`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db import connection
from django.utils import timezone

from dashboards.freshness import bump_data_version
from dashboards.rollups.models import RESPONSE_BUCKET_FIELDS, RESPONSE_BUCKET_HOURS
from feedback.choices import ChangeStatus, Polarity
from feedback.models import Response, Story, Tag
from feedback.signals import Answering, StoryAnswered

BUCKET_BOUNDS_SECONDS: tuple[int, ...] = tuple(int(h * 3600) for h in RESPONSE_BUCKET_HOURS)
COUNTERS: tuple[str, ...] = (
    "stories",
    "responded",
    "response_seconds",
    *RESPONSE_BUCKET_FIELDS,
    "breaches",
    "breaches_open",
    "changes_planned",
    "changes_made",
    "positive_tags",
    "negative_tags",
)


@dataclass(frozen=True)
class StoryFacts:
    """What the rollups know of one story."""

    service_id: int
    day: date
    criticality: str
    # Seconds from publication to first response; None while unanswered.
    response_seconds: int | None
    target_missed: bool
    change: str
    # (group, name, polarity) of each public tag.
    tags: tuple[tuple[str, str, str], ...]

    def counters(self) -> dict[str, int]:
        answered = self.response_seconds is not None
        counts = dict.fromkeys(COUNTERS, 0)
        counts["stories"] = 1
        if answered:
            counts["responded"] = 1
            counts["response_seconds"] = self.response_seconds
            counts[bucket_field(self.response_seconds)] = 1
        counts["breaches"] = int(self.target_missed)
        counts["breaches_open"] = int(self.target_missed and not answered)
        counts["changes_planned"] = int(self.change == ChangeStatus.PLANNED)
        counts["changes_made"] = int(self.change == ChangeStatus.MADE)
        counts["positive_tags"] = sum(1 for *_, p in self.tags if p == Polarity.POSITIVE)
        counts["negative_tags"] = sum(1 for *_, p in self.tags if p == Polarity.NEGATIVE)
        return counts


def bucket_field(seconds: int) -> str:
    return RESPONSE_BUCKET_FIELDS[bisect_right(BUCKET_BOUNDS_SECONDS, seconds)]


def uk_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


_STORY = Story._meta.db_table
_STORY_SERVICES = Story.services.through._meta.db_table
_STORY_TAGS = Story.tags.through._meta.db_table
_TAG = Tag._meta.db_table
_RESPONSE = Response._meta.db_table


def _fetch(sql: str, ids: list[int]) -> list[tuple]:
    # The ids travel as one array parameter: a list of thousands of placeholders costs more
    # to build on the client than the query costs the server.
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])
        return cursor.fetchall()


def read_facts(story_ids: Iterable[int]) -> dict[int, StoryFacts]:
    """The rollup facts of these stories as they stand (four queries)."""
    ids = list(story_ids)
    if not ids:
        return {}
    first_service = dict(
        _fetch(
            f"SELECT story_id, min(service_id) FROM {_STORY_SERVICES} "
            "WHERE story_id = ANY(%s) GROUP BY story_id",
            ids,
        )
    )
    tags: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for story_id, group, name, polarity in _fetch(
        f'SELECT st.story_id, t."group", t.name, t.polarity FROM {_STORY_TAGS} st '
        f"JOIN {_TAG} t ON t.id = st.tag_id WHERE st.story_id = ANY(%s) AND NOT t.is_private",
        ids,
    ):
        tags[story_id].append((group, name, polarity))
    changes: dict[int, str] = {}
    for story_id, status in _fetch(
        f"SELECT story_id, change_status FROM {_RESPONSE} "
        "WHERE story_id = ANY(%s) AND change_status IN ('planned', 'made')",
        ids,
    ):
        if changes.get(story_id) != ChangeStatus.MADE:
            changes[story_id] = status
    facts = {}
    for pk, published_at, criticality, first_responded_at, missed in _fetch(
        f"SELECT id, published_at, criticality, first_responded_at, target_missed_at "
        f"FROM {_STORY} WHERE id = ANY(%s)",
        ids,
    ):
        if pk not in first_service:
            continue  # not yet linked to a service: contributes nothing until it is
        facts[pk] = StoryFacts(
            service_id=first_service[pk],
            day=uk_day(published_at),
            criticality=criticality,
            response_seconds=response_seconds(published_at, first_responded_at),
            target_missed=missed is not None,
            change=changes.get(pk, ChangeStatus.NONE),
            tags=tuple(sorted(tags[pk])),
        )
    return facts


def response_seconds(published_at: datetime, first_responded_at: datetime | None) -> int | None:
    if first_responded_at is None:
        return None
    return max(0, int((first_responded_at - published_at).total_seconds()))


def apply_difference(before: dict[int, StoryFacts], after: dict[int, StoryFacts]) -> int:
    """Add (after - before) to this organisation's rollups. Returns rows touched."""
    days: dict[tuple, Counter] = defaultdict(Counter)
    day_tags: Counter = Counter()
    for facts, sign in ((before, -1), (after, 1)):
        for f in facts.values():
            key = (f.service_id, f.day, f.criticality)
            for name, value in f.counters().items():
                days[key][name] += sign * value
            for group, tag, polarity in f.tags:
                day_tags[(*key, group, tag, polarity)] += sign
    organisation_id = connection.tenant.pk
    # Sorted, so concurrent transactions lock rows in the same order and cannot deadlock.
    day_rows = [
        (organisation_id, *key, *(delta[name] for name in COUNTERS))
        for key, delta in sorted(days.items())
        if any(delta.values())
    ]
    tag_rows = [(organisation_id, *key, n) for key, n in sorted(day_tags.items()) if n]
    if not day_rows and not tag_rows:
        return 0
    hold_rollups(organisation_id, exclusive=False)
    _upsert_days(day_rows)
    _upsert_tags(tag_rows)
    bump_data_version(connection.schema_name)
    return len(day_rows) + len(tag_rows)


# An advisory lock namespace of our own; the key is the organisation id.
ROLLUP_LOCK = 7_301


def hold_rollups(organisation_id: int, *, exclusive: bool) -> None:
    """Until this transaction ends: shared for incremental updates (which don't block each
    other), exclusive for a rebuild (which waits for them, and they for it)."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [ROLLUP_LOCK, organisation_id])


def record_new_stories(story_ids: Iterable[int]) -> int:
    """Count stories just published."""
    return apply_difference({}, read_facts(story_ids))


def record_answering(changes: list[StoryAnswered]) -> int:
    """Move answered stories from where they stood to where they stand, both as the
    response signals carry them; the rest of each story's facts are read (a response
    changes neither its service, day, criticality nor tags)."""
    facts = read_facts(change.story_id for change in changes)
    before: dict[int, StoryFacts] = {}
    after: dict[int, StoryFacts] = {}
    for change in changes:
        if change.story_id in facts:
            current = facts[change.story_id]
            before[change.story_id] = _answered(current, change.published_at, change.before)
            after[change.story_id] = _answered(current, change.published_at, change.after)
    return apply_difference(before, after)


def _answered(facts: StoryFacts, published_at: datetime, answering: Answering) -> StoryFacts:
    return replace(
        facts,
        response_seconds=response_seconds(published_at, answering.first_responded_at),
        target_missed=answering.target_missed_at is not None,
        change=answering.change_status,
    )


def record_removed_stories(story_ids: Iterable[int]) -> int:
    """Take out stories about to be deleted (while they can still be read)."""
    return apply_difference(read_facts(story_ids), {})


@contextmanager
def tracking(story_ids: Iterable[int]) -> Iterator[None]:
    """Apply to the rollups whatever the body changes about these stories."""
    ids = list(story_ids)
    before = read_facts(ids)
    yield
    apply_difference(before, read_facts(ids))


def _upsert_days(rows: list[tuple]) -> None:
    columns = {
        "organisation_id": "bigint",
        "service_id": "bigint",
        "day": "date",
        "criticality": "text",
        **{name: "bigint" if name == "response_seconds" else "integer" for name in COUNTERS},
    }
    updates = ", ".join(f"{c} = rollups_serviceday.{c} + EXCLUDED.{c}" for c in COUNTERS)
    _upsert(
        "rollups_serviceday",
        columns,
        rows,
        "(organisation_id, service_id, day, criticality)",
        updates,
    )


def _upsert_tags(rows: list[tuple]) -> None:
    columns = {
        "organisation_id": "bigint",
        "service_id": "bigint",
        "day": "date",
        "criticality": "text",
        "tag_group": "text",
        "tag_name": "text",
        "polarity": "text",
        "stories": "integer",
    }
    _upsert(
        "rollups_servicedaytag",
        columns,
        rows,
        "(organisation_id, service_id, day, criticality, tag_group, tag_name)",
        "stories = rollups_servicedaytag.stories + EXCLUDED.stories",
    )


def _upsert(table: str, columns: dict[str, str], rows: list[tuple], key: str, updates: str) -> None:
    """One statement, whatever the number of rows: each column travels as one array."""
    if not rows:
        return
    arrays = [list(values) for values in zip(*rows, strict=True)]
    unnest = ", ".join(f"%s::{kind}[]" for kind in columns.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({unnest}) "
            f"ON CONFLICT {key} DO UPDATE SET {updates}",
            arrays,
        )
