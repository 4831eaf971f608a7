"""The opinions list's JSON is built by PostgreSQL (feedback/api_encoding.py); it must be the
very answer `feedback.api.opinions_from` gives, opinion by opinion and key by key: dates in
UTC and the UK day of sending, a service without a code given ours, services in the order
of their organisation, site and name, responses counted, each reader's own progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from feedback.api import GENERATED_PREFIX, OPINION_FIELDS, opinions_from
from feedback.api_encoding import opinions_json
from feedback.apikeys import create_api_key
from feedback.hub.models import PublicResponse, PublicStory
from feedback.public_progress import advance_public_progress
from tests.conftest import Cast
from tests.feedback.test_api import b_joins_as_network_member, call, publish, service_of

pytestmark = pytest.mark.django_db

BASE = "http://localhost/"


def python_answer(ids: list[int], readers: list[int]) -> list[dict[str, Any]]:
    found = {
        row["id"]: row for row in PublicStory.objects.filter(pk__in=ids).values(*OPINION_FIELDS)
    }
    return opinions_from([found[pk] for pk in ids if pk in found], BASE, readers)


def sql_answer(ids: list[int], readers: list[int]) -> list[dict[str, Any]]:
    return json.loads(opinions_json(ids, BASE, readers, generated_prefix=GENERATED_PREFIX))


@pytest.fixture
def varied(cast: Cast) -> list[int]:
    """Stories with everything an opinion can carry, and without."""
    codeless = service_of(cast.org_a, "Alpha Day Unit", code="")
    twin = service_of(cast.org_b, "Beta Ward One", code="AW1", kind="ward")
    stories = [
        publish(
            cast, [cast.ward_a], title="Plain", published_at=datetime(2025, 1, 5, 9, tzinfo=UTC)
        ),
        # Sent late on a summer evening in the UK: the UK day is the next UTC day.
        publish(
            cast,
            [cast.clinic_a, codeless, cast.ward_a],
            title="Three services, one without a code",
            submitted_at=datetime(2025, 7, 1, 23, 30, tzinfo=UTC),
            published_at=datetime(2025, 7, 3, 10, 15, 42, 123456, tzinfo=UTC),
            nickname="",
        ),
        publish(cast, [cast.ward_a, twin], title='Two trusts, "quoted" \\ and ünïcode ✓'),
        publish(cast, [cast.ward_b], title="Beta only", criticality="severely critical"),
    ]
    base = datetime(2025, 8, 1, tzinfo=UTC)
    PublicResponse.objects.bulk_create(
        PublicResponse(
            public_story_id=stories[i],
            organisation=cast.org_a,
            responder_name="Rita Responder",
            body="Thank you.",
            published_at=base.replace(day=day),
            updated_at=base,
        )
        for i, day in ((0, 2), (0, 9), (2, 4))
    )
    advance_public_progress(cast.org_a.pk, {stories[0]: "responded", stories[2]: "read"})
    advance_public_progress(cast.org_b.pk, {stories[2]: "changed", stories[3]: "heard"})
    return stories


def test_postgresql_builds_exactly_the_python_answer(cast: Cast, varied: list[int]) -> None:
    a, both = [cast.org_a.pk], [cast.org_a.pk, cast.org_b.pk]
    for readers in (a, both, [cast.org_b.pk]):
        for ids in (varied, list(reversed(varied)), varied[1:3], [], [varied[0], 999_999]):
            assert sql_answer(ids, readers) == python_answer(ids, readers), (readers, ids)
    # The values this test is about are there to be compared.
    opinion = {o["id"]: o for o in sql_answer(varied, a)}
    assert opinion[varied[1]]["dateOfSubmission"] == "2025-07-02T00:00:00Z"
    assert opinion[varied[1]]["dateOfPublication"] == "2025-07-03T10:15:42Z"
    assert any(link["id"].startswith("CV") for link in opinion[varied[1]]["links"])
    assert opinion[varied[0]]["responseCount"] == 2 and opinion[varied[0]]["hasResponse"]
    assert opinion[varied[0]]["dateOfLastResponse"] == "2025-08-09T00:00:00Z"
    assert opinion[varied[2]]["progress"] == "read"  # A's own, not B's "changed"
    assert {o["id"]: o for o in sql_answer(varied, both)}[varied[2]]["progress"] == "changed"


def test_the_api_answers_json_from_postgresql_and_xml_from_python(
    cast: Cast, varied: list[int]
) -> None:
    key = create_api_key(cast.org_a, name="Encoding", actor=cast.admin_a)
    b_joins_as_network_member(cast)
    readers = [cast.org_a.pk, cast.org_b.pk]
    listed = call(key, "opinions", {"take": 100})
    assert listed["Content-Type"].startswith("application/json")
    ids = [o["id"] for o in listed.json()]
    assert sorted(ids) == sorted(varied)
    assert listed.json() == python_answer(ids, readers)
    xml = call(key, "opinions", {"take": 100, "format": "xml"})
    assert xml["Content-Type"].startswith("application/xml")
    assert b"Three services, one without a code" in xml.content


def test_a_page_query_placed_inside_the_encoding_query_keeps_its_parameters_in_order() -> None:
    from feedback.api_encoding import _named_parameters

    named, params = _named_parameters("a = %s AND b LIKE '%%x' AND c = %s", ("one", 2))
    assert named == "a = %(page_0)s AND b LIKE '%%x' AND c = %(page_1)s"
    assert params == {"page_0": "one", "page_1": 2}
    with pytest.raises(ValueError, match="more parameters"):
        _named_parameters("a = %s", ("one", "two"))
