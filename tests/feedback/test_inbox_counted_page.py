"""With a text search, the inbox's numbers and its page come from one pass over the
matching stories (feedback/inbox.py, counted_page): the same numbers, the same stories in
the same order and the same paging as counting and listing apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.inbox import InboxFilters, counted_page, counts, filtered_stories
from feedback.models import Story
from tests.conftest import Cast
from tests.feedback.test_inbox_at_scale import answer, story_of_a

pytestmark = pytest.mark.django_db


@pytest.fixture
def searched(cast: Cast) -> list[Story]:
    """Seven stories about the car park, published a minute apart (two at the same moment),
    two answered, one overdue; and one about something else."""
    made = [story_of_a(cast, f"Car park story {n}") for n in range(7)]
    story_of_a(cast, "Kind nurses")
    answer(cast, made[1])
    answer(cast, made[4])
    with tenant_context(cast.org_a):
        start = timezone.now() - timedelta(days=3)
        for n, story in enumerate(made):
            Story.objects.filter(pk=story.pk).update(
                published_at=start + timedelta(minutes=min(n, 5)),
                due_at=timezone.now() - timedelta(hours=1) if n == 2 else None,
            )
    return made


def apart(filters: InboxFilters, number: object, per_page: int) -> tuple[dict, list[int], int]:
    rows = filtered_stories(filters, user_id=0)
    numbers = counts(rows)
    paginator = Paginator(rows, per_page)
    page = paginator.get_page(number)
    return numbers, [s.pk for s in page], page.number


@pytest.mark.parametrize("number", [1, 2, 3, 4, 99, "nonsense", None, 0, -1])
@pytest.mark.parametrize(
    "filters",
    [
        InboxFilters(q="car park"),
        InboxFilters(q="car park", responded="no"),
        InboxFilters(q="car park", overdue=True),
        InboxFilters(q="nothing matches this"),
    ],
    ids=["search", "search-unanswered", "search-overdue", "no-match"],
)
def test_one_pass_agrees_with_counting_and_listing_apart(
    cast: Cast, searched: list[Story], filters: InboxFilters, number: object
) -> None:
    with tenant_context(cast.org_a):
        numbers, ids, page_number = apart(filters, number, per_page=3)
        together, page = counted_page(
            filtered_stories(filters, user_id=0), number=number, per_page=3
        )
        assert together == numbers
        assert [s.pk for s in page] == ids
        assert page.number == page_number
        assert page.paginator.num_pages == max(1, -(-numbers["total"] // 3))


def test_the_page_carries_what_the_inbox_shows(cast: Cast, searched: list[Story]) -> None:
    with tenant_context(cast.org_a):
        numbers, page = counted_page(
            filtered_stories(InboxFilters(q="car park"), user_id=0), number=1, per_page=10
        )
        assert numbers["total"] == 7 and numbers["responded"] == 2 and numbers["overdue"] == 1
        with CaptureQueriesContext(connection) as captured:
            shown = [(s.has_response, [svc.name for svc in s.services.all()]) for s in page]
        assert captured.captured_queries == []  # services were fetched with the page
        assert sum(answered for answered, _ in shown) == 2
        assert all(len(names) == 1 for _, names in shown)


def test_a_searched_inbox_reads_the_matching_stories_once(
    cast: Cast, searched: list[Story]
) -> None:
    with tenant_context(cast.org_a), CaptureQueriesContext(connection) as captured:
        counted_page(filtered_stories(InboxFilters(q="car park"), user_id=0), number=1, per_page=25)
    searches = [q["sql"] for q in captured if "@@" in q["sql"]]
    assert len(searches) == 1, searches
