"""Deep pages of API v2's lists start from cached page boundaries (feedback/api_paging.py)
instead of an OFFSET over the whole list, and must give exactly the rows the plain ORM
OFFSET gives: the same rows in the same order for every skip and take, an empty array past
the end, take capped at 100, for every scope (an organisation's key, a network lead's) and
filter, and still after stories are published (also into the middle of the list),
withdrawn or have their ordering key edited.

STRIDE is made small here so that a few dozen stories have many boundaries.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import QuerySet

from feedback import api_paging
from feedback.api import OPINION_FIELDS
from feedback.api_paging import boundaries, page_of
from feedback.apikeys import NewKey, create_api_key
from feedback.hub.models import PublicResponse, PublicStory, Submission
from feedback.public_cache import bump_public_version
from feedback.publishing import StoryToPublish, import_published_stories
from feedback.withdrawal import withdraw_story
from tests.conftest import Cast, tell_and_publish
from tests.feedback.test_api import b_joins_as_network_member, call

pytestmark = pytest.mark.django_db

STRIDE = 4
TAKES = (1, 3, 4, 5, 9, 100)
GOOD = "what was good:kind staff"
WAIT = "what could be improved:waiting time"


@pytest.fixture(autouse=True)
def small_stride(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_paging, "STRIDE", STRIDE)


def import_stories(
    listings: list[Any], count: int, *, start: datetime, tags: list[str] | None = None, **extra: Any
) -> list[int]:
    """`count` stories published an hour apart from `start`, every third at the same moment
    as the one before (ties are ordered by id); returns their public ids."""
    stories = []
    moment = start
    for n in range(count):
        if n % 3 != 2:
            moment += timedelta(hours=1)
        stories.append(
            StoryToPublish(
                title=f"Story {n} from {start.isoformat()}",
                body="### What was good\n\nEveryone.",
                criticality="not critical",
                author_role="patient",
                author_age_group="not said",
                submission_route="paper",
                submitted_at=moment - timedelta(days=n % 5),
                published_at=moment,
                listings=listings,
                tag_keys=tags if tags is not None else ([GOOD] if n % 2 else [WAIT]),
                **extra,
            )
        )
    assert import_published_stories(stories) == count
    titles = [story.title for story in stories]
    return list(PublicStory.objects.filter(title__in=titles).values_list("pk", flat=True))


@pytest.fixture
def stories(cast: Cast) -> dict[str, list[int]]:
    """About 40 stories of A's (two services, two languages, two tags) and 10 of B's,
    published over each other's times."""
    return {
        "ward": import_stories([cast.ward_a], 16, start=datetime(2025, 1, 1, tzinfo=UTC)),
        "clinic": import_stories([cast.clinic_a], 9, start=datetime(2025, 1, 1, 7, tzinfo=UTC)),
        "both": import_stories(
            [cast.ward_a, cast.clinic_a], 6, start=datetime(2025, 1, 2, tzinfo=UTC)
        ),
        "welsh": import_stories(
            [cast.ward_a], 7, start=datetime(2025, 1, 1, 3, tzinfo=UTC), language="cy"
        ),
        "beta": import_stories([cast.ward_b], 10, start=datetime(2025, 1, 1, 2, tzinfo=UTC)),
    }


def readable(*organisations: Any) -> QuerySet[PublicStory]:
    links = PublicStory.organisations.through.objects.filter(
        organisation_id__in=[o.pk for o in organisations]
    ).values("publicstory_id")
    return PublicStory.objects.filter(pk__in=links)


def scopes(cast: Cast) -> Iterator[tuple[str, QuerySet[PublicStory]]]:
    a = readable(cast.org_a)
    yield "A", a
    yield "A and B", readable(cast.org_a, cast.org_b)
    yield "B", readable(cast.org_b)
    yield "A, tag", a.filter(tags__contains=[{"name": "waiting time"}])
    yield "A, Welsh", a.filter(language="cy")
    yield "A, service", a.filter(services=cast.clinic_a)
    yield "A, published after", a.filter(published_at__gt=datetime(2025, 1, 1, 9, tzinfo=UTC))
    yield "A, sent on or after", a.filter(submitted_at__gte=datetime(2024, 12, 31, tzinfo=UTC))
    yield "nothing", a.filter(language="xx")


def assert_pages_match(queryset: QuerySet[Any], label: str = "") -> int:
    """Every skip (to past the end) and take, both orders: page_of gives the ORM's page."""
    rows = queryset.values(*OPINION_FIELDS) if queryset.model is PublicStory else queryset
    total = queryset.count()
    for descending in (False, True):
        sign = "-" if descending else ""
        every = list(rows.order_by(f"{sign}published_at", f"{sign}pk"))
        for take in TAKES:
            for skip in range(total + STRIDE + 2):
                fast = page_of(
                    rows, order_field="published_at", descending=descending, skip=skip, take=take
                )
                assert fast == every[skip : skip + take], (label, descending, skip, take)
    return total


def test_every_page_of_every_scope_and_filter_is_the_orms_page(
    cast: Cast, stories: dict[str, list[int]]
) -> None:
    counted = {label: assert_pages_match(rows, label) for label, rows in scopes(cast)}
    assert counted["A"] == 38 and counted["A and B"] == 48 and counted["nothing"] == 0
    assert 0 < counted["A, tag"] < counted["A"]


def test_deep_pages_read_from_boundaries_not_from_the_start(
    cast: Cast, stories: dict[str, list[int]], django_assert_max_num_queries: Any
) -> None:
    rows = readable(cast.org_a).values(*OPINION_FIELDS)
    bounds = boundaries(rows, order_field="published_at", descending=False)
    assert bounds.total == 38
    assert len(bounds.keys) == 10  # rows 0, 4, ..., 36
    ordered = list(rows.order_by("published_at", "pk"))
    assert [key for key in bounds.keys] == [
        (row["published_at"], row["id"]) for row in ordered[::STRIDE]
    ]
    # Boundaries are cached: a deep page is one query; past the end, none.
    with django_assert_max_num_queries(1):
        page_of(rows, order_field="published_at", descending=False, skip=30, take=5)
    with django_assert_max_num_queries(0):
        assert page_of(rows, order_field="published_at", descending=False, skip=38, take=5) == []


def test_the_responses_list_pages_like_the_orm(cast: Cast, stories: dict[str, list[int]]) -> None:
    base = datetime(2025, 3, 1, tzinfo=UTC)
    PublicResponse.objects.bulk_create(
        PublicResponse(
            public_story_id=story,
            organisation=cast.org_a,
            responder_name="Rita Responder",
            body="Thank you.",
            published_at=base + timedelta(hours=n // 2),  # pairs at the same moment
            updated_at=base,
        )
        for n, story in enumerate(stories["ward"] + stories["clinic"])
    )
    bump_public_version()
    assert assert_pages_match(PublicResponse.objects.all()) == 25


@pytest.fixture
def key_a(cast: Cast) -> NewKey:
    return create_api_key(cast.org_a, name="Deep pages", actor=cast.admin_a)


def api_ids(key: NewKey, **params: Any) -> list[int]:
    response = call(key, "opinions", params)
    assert response.status_code == 200, response.content[:300]
    return [opinion["id"] for opinion in response.json()]


def orm_ids(queryset: QuerySet[PublicStory], skip: int, take: int, order: str = "") -> list[int]:
    sign = "-" if order == "descending" else ""
    ordered = queryset.order_by(f"{sign}published_at", f"{sign}pk")
    return list(ordered.values_list("pk", flat=True)[skip : skip + min(take, 100)])


def assert_api_matches(key: NewKey, queryset: QuerySet[PublicStory], **params: Any) -> None:
    total = queryset.count()
    skips = sorted({1, total - 1, total, total + 1, *range(0, total, 3)})
    for order in ("", "descending"):
        extra = {**params, **({"dateofpublicationorder": order} if order else {})}
        for take in (5, 250):
            for skip in skips:
                assert api_ids(key, skip=skip, take=take, **extra) == orm_ids(
                    queryset, skip, take, order
                ), (params, order, skip, take)


def test_the_api_gives_the_orms_pages_for_each_filter(
    cast: Cast, stories: dict[str, list[int]], key_a: NewKey
) -> None:
    a = readable(cast.org_a)
    assert_api_matches(key_a, a)
    assert_api_matches(key_a, a.filter(tags__contains=[{"name": "kind staff"}]), tag="kind staff")
    assert_api_matches(key_a, a.filter(language="cy"), language="cy")
    assert_api_matches(key_a, a.filter(services=cast.ward_a), nacs="AW1")
    after = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert_api_matches(
        key_a, a.filter(published_at__gt=after), publishedafter="2025-01-01T12:00:00"
    )


def test_a_network_leads_deep_pages_hold_its_members_stories_and_no_one_elses(
    cast: Cast, stories: dict[str, list[int]], key_a: NewKey
) -> None:
    key_b = create_api_key(cast.org_b, name="Beta deep pages", actor=cast.admin_b)
    # The lead's boundaries are cached first; B's key must not be given them.
    assert_api_matches(key_a, readable(cast.org_a))
    assert_api_matches(key_b, readable(cast.org_b))
    b_joins_as_network_member(cast)
    assert_api_matches(key_a, readable(cast.org_a, cast.org_b))
    assert set(api_ids(key_b, skip=5, take=100)) <= set(stories["beta"])
    assert_api_matches(key_b, readable(cast.org_b))


def test_pages_stay_exact_after_publication_withdrawal_and_reordering(
    cast: Cast, stories: dict[str, list[int]], key_a: NewKey
) -> None:
    a = readable(cast.org_a)
    assert_pages_match(a)  # boundaries cached
    # Published into the middle of the list (an import of older stories) and at its end.
    import_stories([cast.ward_a], 5, start=datetime(2025, 1, 1, 4, 30, tzinfo=UTC))
    told = [tell_and_publish(cast, [cast.ward_a], title=f"New {n}") for n in range(2)]
    assert_pages_match(a)
    # Withdrawn at the author's request: the rest close up.
    withdrawn = told[0].public_story.pk
    withdraw_story(
        Submission.objects.get(public_story_id=withdrawn).pk, moderator=cast.moderator, note="ok"
    )
    assert not PublicStory.objects.filter(pk=withdrawn).exists()
    assert_pages_match(a)
    # An edit that moves a story within the order (any such edit bumps the public version).
    moved = stories["ward"][3]
    PublicStory.objects.filter(pk=moved).update(published_at=datetime(2025, 1, 2, 5, tzinfo=UTC))
    bump_public_version()
    assert_pages_match(a)
    assert_api_matches(key_a, a)


def test_a_deep_page_past_the_end_is_an_empty_array_and_take_is_capped(
    cast: Cast, stories: dict[str, list[int]], key_a: NewKey
) -> None:
    for skip in (38, 39, 1000, 1_000_000_000):
        response = call(key_a, "opinions", {"skip": skip, "take": 50})
        assert response.status_code == 200 and response.content == b"[]"
    import_stories([cast.ward_a], 110, start=datetime(2024, 6, 1, tzinfo=UTC))
    assert len(api_ids(key_a, skip=10, take=500)) == 100
    assert api_ids(key_a, skip=47, take=101) == orm_ids(readable(cast.org_a), 47, 100)


def test_filters_differing_only_after_forty_characters_do_not_share_boundaries(
    cast: Cast, stories: dict[str, list[int]]
) -> None:
    # psycopg's repr of a JSON parameter stops after 40 characters; the cache key must not.
    long = "a tag name long enough to outrun any repr of it, "
    first = stories["ward"][0]
    PublicStory.objects.filter(pk=first).update(
        tags=[{"name": f"{long}one", "group": "what was good", "polarity": "positive"}]
    )
    bump_public_version()
    a = readable(cast.org_a).values(*OPINION_FIELDS)
    one = a.filter(tags__contains=[{"name": f"{long}one"}])
    two = a.filter(tags__contains=[{"name": f"{long}two"}])
    assert boundaries(one, order_field="published_at", descending=False).total == 1
    assert boundaries(two, order_field="published_at", descending=False).total == 0
