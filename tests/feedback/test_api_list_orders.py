"""Each API v2 list's default order and each filter, as the API's own description states the
contract (feedback/openapi.py; Care Opinion's documentation is not reachable here), where
tests/feedback/test_api.py, test_api_health_services_order.py and
tests/i18n/test_language_filters.py do not already hold them:

- /responses: published responses, the oldest first (ties by id), paged with skip and take;
- /opinions/{id}/responses: a story's responses, the oldest first;
- /opinions: dateofpublicationorder in any letter case; filters applied before paging in
  either order; a tag filter that needs a deep page still lists in publication order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback import api_paging
from feedback.apikeys import NewKey, create_api_key
from feedback.hub.models import PublicResponse
from feedback.public_cache import bump_public_version
from tests.conftest import Cast
from tests.feedback.test_api import at, call, ids, listed, publish

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 5, 1, 9, tzinfo=UTC)


@pytest.fixture
def key_a(cast: Cast) -> NewKey:
    return create_api_key(cast.org_a, name="Orders", actor=cast.admin_a)


def respond(cast: Cast, story: int, hours: float, organisation=None) -> int:  # noqa: ANN001
    response = PublicResponse.objects.create(
        public_story_id=story,
        organisation=organisation or cast.org_a,
        responder_name="Rita Responder",
        body=f"Reply at {hours} hours.",
        published_at=BASE + timedelta(hours=hours),
        updated_at=BASE + timedelta(hours=hours),
    )
    bump_public_version()
    return response.pk


def test_the_responses_list_is_oldest_first_with_ties_by_id(cast: Cast, key_a: NewKey) -> None:
    first = publish(cast, [cast.ward_a], title="First")
    second = publish(cast, [cast.clinic_a], title="Second")
    late = respond(cast, first, 5)
    early = respond(cast, second, 1)
    tie_a = respond(cast, first, 3)
    tie_b = respond(cast, second, 3)
    expected = [early, tie_a, tie_b, late]
    assert [r["id"] for r in listed(key_a, "responses")] == expected
    pages = [[r["id"] for r in listed(key_a, "responses", skip=skip, take=2)] for skip in (0, 2, 4)]
    assert pages == [expected[:2], expected[2:], []]
    assert [r["id"] for r in listed(key_a, "responses", skip=1, take=500)] == expected[1:]


def test_the_responses_list_holds_only_the_keys_readable_stories(cast: Cast, key_a: NewKey) -> None:
    mine = publish(cast, [cast.ward_a], title="Alpha's")
    theirs = publish(cast, [cast.ward_b], title="Beta's")
    respond(cast, theirs, 1, organisation=cast.org_b)
    own = respond(cast, mine, 2)
    assert [r["id"] for r in listed(key_a, "responses")] == [own]


def test_a_deep_page_of_responses_is_the_same_as_from_the_start(
    cast: Cast, key_a: NewKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    story = publish(cast, [cast.ward_a], title="Much answered")
    made = [respond(cast, story, hours) for hours in (9, 1, 4, 4, 7, 2, 8, 3, 6, 5, 0)]
    whole = [r["id"] for r in listed(key_a, "responses")]
    assert sorted(whole) == sorted(made) and len(whole) == 11
    monkeypatch.setattr(api_paging, "STRIDE", 3)
    for skip in range(13):
        assert [r["id"] for r in listed(key_a, "responses", skip=skip, take=4)] == whole[
            skip : skip + 4
        ]


def test_a_storys_responses_are_oldest_first(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a], title="Answered twice")
    later = respond(cast, story, 6)
    sooner = respond(cast, story, 2)
    assert [r["id"] for r in listed(key_a, f"opinions/{story}/responses")] == [sooner, later]


@pytest.mark.parametrize("value", ["Descending", "DESCENDING", " descending "])
def test_the_order_parameter_is_read_in_any_letter_case(
    cast: Cast, key_a: NewKey, value: str
) -> None:
    older = publish(cast, [cast.ward_a], title="Older", published_at=at("2025-02-01"))
    newer = publish(cast, [cast.ward_a], title="Newer", published_at=at("2025-02-02"))
    assert ids(key_a, dateofpublicationorder=value) == [newer, older]
    assert ids(key_a, dateofpublicationorder="Ascending") == [older, newer]


def test_a_filter_applies_before_paging_in_either_order(cast: Cast, key_a: NewKey) -> None:
    tags = ["what could be improved:waiting time"]
    waits = [
        publish(cast, [cast.ward_a], title=f"Wait {n}", tags=tags, published_at=at(f"2025-03-0{n}"))
        for n in range(1, 6)
    ]
    publish(cast, [cast.ward_a], title="Kind", published_at=at("2025-03-03", 13))
    assert ids(key_a, tag="waiting time", skip=1, take=2) == waits[1:3]
    assert ids(key_a, tag="waiting time", skip=1, take=2, dateofpublicationorder="descending") == [
        waits[3],
        waits[2],
    ]
    assert ids(key_a, tag="waiting time", skip=5) == []


def test_a_filtered_deep_page_keeps_publication_order(
    cast: Cast, key_a: NewKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_paging, "STRIDE", 2)
    tags = ["what was good:kind staff"]
    kind = [
        publish(
            cast, [cast.clinic_a], title=f"Kind {n}", tags=tags, published_at=at(f"2025-04-{n:02d}")
        )
        for n in (9, 3, 7, 1, 5)
    ]
    publish(cast, [cast.clinic_a], title="Other", tags=[], published_at=at("2025-04-04"))
    in_order = [kind[3], kind[1], kind[4], kind[2], kind[0]]
    assert ids(key_a, tag="kind staff", nacs="AEC", skip=3, take=2) == in_order[3:5]
    response = call(key_a, "opinions", {"tag": "kind staff", "skip": 5})
    assert response.status_code == 200 and response.content == b"[]"
