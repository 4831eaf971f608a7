"""The staff inbox at scale (feedback/inbox.py, benchmarks/inbox.py): the text search reads
each story's stored words through their GIN index, the service and tag filters list a story
once without DISTINCT, and the numbers beside the filters come from one grouped query and
agree with the filters themselves."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from feedback.inbox import InboxFilters, counts, filtered_stories
from feedback.models import Service, Story
from feedback.responding import Draft, publish_response
from feedback.sites_and_services import save_service
from tests.conftest import Cast, tell_and_publish
from tests.feedback.test_responding import GOOD_REPLY, responder_client

pytestmark = pytest.mark.django_db


def story_of_a(cast: Cast, title: str, listings: list[Any] | None = None, **extra: Any) -> Story:
    published = tell_and_publish(cast, listings or [cast.ward_a], title=title, **extra)
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def answer(cast: Cast, story: Story) -> None:
    with tenant_context(cast.org_a):
        publish_response(
            story, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )


def test_the_search_reads_the_stored_words_through_their_index(cast: Cast) -> None:
    story_of_a(cast, "Parking was a nightmare", what_could_be_improved="Nowhere to park.")
    story_of_a(cast, "Kind nurses")
    with tenant_context(cast.org_a):
        stored = Story.objects.get(title="Parking was a nightmare").search_document
        assert "park" in stored and "nightmar" in stored
        rows = filtered_stories(InboxFilters(q="nightmare"), user_id=0)
        assert [s.title for s in rows] == ["Parking was a nightmare"]
        # The search alone, unordered: with two stories the planner may prefer a scan of
        # another index for the order, or of the table; forbid those to see the search's own.
        sql, params = rows.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "story_search" in plan, plan
    assert "to_tsvector" not in plan, "the words must be read, not worked out per story"


def test_a_search_with_progress_and_criticality_is_one_index_condition(cast: Cast) -> None:
    """The search index also holds progress and criticality (migration feedback 0011), so
    the stories matching all three are found in the index, before any is visited."""
    story_of_a(cast, "Parking was a nightmare", what_could_be_improved="Nowhere to park.")
    with tenant_context(cast.org_a):
        filters = InboxFilters(q="nightmare", progress="unheard", criticality="not critical")
        sql, params = filtered_stories(filters, user_id=0).order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
    condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "story_search" in plan, plan
    assert "search_document" in condition and "progress" in condition, plan
    assert "criticality" in condition, plan


def test_the_service_filter_can_read_the_links_from_their_index_alone(cast: Cast) -> None:
    """The stories of a service and its children come from (service_id, story_id) in one
    index (migration feedback 0010), so the links' rows need not be visited: the index is
    there, in that order, in each organisation's schema, and the planner can use it so."""
    story_of_a(cast, "Seen on the ward")
    with tenant_context(cast.org_a):
        ward = Service.objects.get(name="Alpha Ward One")
        sql, params = (
            filtered_stories(InboxFilters(service=ward.pk), user_id=0)
            .order_by()
            .values("pk")
            .query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname = 'feedback_story_services_by_service'"
            )
            (definition,) = cursor.fetchone()
            # Only this index can answer by service alone: the plain one on service_id is
            # dropped for the rest of the test's transaction, which is rolled back.
            cursor.execute("DROP INDEX feedback_story_services_service_id_e74eb03f")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(line for (line,) in cursor.fetchall())
    assert definition.endswith("(service_id, story_id)"), definition
    assert "Index Only Scan using feedback_story_services_by_service" in plan, plan


def test_an_edited_story_is_found_by_its_new_words(cast: Cast) -> None:
    story = story_of_a(cast, "Kind nurses")
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=story.pk).update(title="Wonderful physiotherapy")
        found = filtered_stories(InboxFilters(q="physiotherapy"), user_id=0)
        assert [s.pk for s in found] == [story.pk]


def test_a_story_about_a_service_and_its_ward_is_listed_and_counted_once(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        ward = Service.objects.get(name="Alpha Ward One")
        clinic = Service.objects.get(name="Alpha Eye Clinic")
        clinic.parent = ward
        save_service(clinic)
    both = story_of_a(cast, "Seen on the ward and in clinic", [cast.ward_a, cast.clinic_a])
    story_of_a(cast, "Clinic only", [cast.clinic_a])
    with tenant_context(cast.org_a):
        rows = filtered_stories(InboxFilters(service=ward.pk, q="ward clinic"), user_id=0)
        assert [s.pk for s in rows] == [both.pk]
        assert counts(rows)["total"] == 1
        subtree = filtered_stories(InboxFilters(service=ward.pk), user_id=0)
        assert subtree.count() == 2 and counts(subtree)["total"] == 2


def test_the_counts_are_one_query_and_agree_with_each_filter(
    cast: Cast, django_assert_num_queries: Any
) -> None:
    stories = [
        story_of_a(cast, "Parking again", criticality="strongly critical"),
        story_of_a(cast, "Parking fine", criticality="not critical"),
        story_of_a(cast, "Parking slow", criticality="strongly critical", tags=[]),
        story_of_a(cast, "Kind nurses", criticality="strongly critical"),
    ]
    answer(cast, stories[0])
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=stories[2].pk).update(due_at="2020-01-01T00:00:00Z")
        filters = InboxFilters(q="parking", criticality="strongly critical")
        rows = filtered_stories(filters, user_id=0)
        with django_assert_num_queries(1):
            numbers = counts(rows)
        assert numbers["total"] == 2
        by_criticality = dict((c.value, n) for c, n in numbers["criticality"])
        assert by_criticality["strongly critical"] == 2 and by_criticality["not critical"] == 0
        # Each number is what its filter then lists.
        for responded, expected in (("yes", numbers["responded"]), ("no", 1)):
            listed = filtered_stories(
                InboxFilters(q="parking", criticality="strongly critical", responded=responded),
                user_id=0,
            )
            assert listed.count() == expected
        overdue = filtered_stories(
            InboxFilters(q="parking", criticality="strongly critical", overdue=True), user_id=0
        )
        assert [s.pk for s in overdue] == [stories[2].pk] and numbers["overdue"] == 1
        by_progress = dict((p.value, n) for p, n in numbers["progress"])
        for progress, n in by_progress.items():
            assert n == rows.filter(progress=progress).count()


def test_the_inbox_page_counts_once_and_pages_by_that_count(cast: Cast) -> None:
    for n in range(27):
        story_of_a(cast, f"Parking story {n}")
    story_of_a(cast, "Kind nurses")
    body = responder_client(cast).get("/stories/?q=parking").content.decode()
    assert "<strong>27</strong> stories" in body
    assert "Page 1 of 2" in body and "Kind nurses" not in body


def test_one_organisations_search_never_finds_anothers_stories(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_b], title="Beta parking nightmare")
    story_of_a(cast, "Alpha parking")
    body = responder_client(cast).get("/stories/?q=parking+nightmare").content.decode()
    assert "Beta parking nightmare" not in body and "<strong>0</strong> stories" in body
    body = responder_client(cast).get("/stories/?q=parking").content.decode()
    assert "Alpha parking" in body and "Beta parking" not in body
