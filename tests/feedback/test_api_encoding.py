"""The opinions list's JSON is built by PostgreSQL (feedback/api_encoding.py); it must be the
very answer `feedback.api.opinions_from` gives, opinion by opinion and key by key: dates in
UTC and the UK day of sending, a service without a code given ours, services in the order
of their organisation, site and name, responses counted, each reader's own progress."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from feedback.api import GENERATED_PREFIX, OPINION_FIELDS, opinions_from
from feedback.api_encoding import opinions_json
from feedback.apikeys import create_api_key
from feedback.hub.models import OpinionText, PublicResponse, PublicStory
from feedback.models import Service
from feedback.public_progress import advance_public_progress
from feedback.sites_and_services import save_service
from tenants.models import Organisation
from tests.conftest import Cast
from tests.feedback.test_api import b_joins_as_network_member, call, publish, service_of

pytestmark = pytest.mark.django_db

BASE = "http://localhost/"


def python_answer(ids: list[int], readers: list[int], base: str = BASE) -> list[dict[str, Any]]:
    found = {
        row["id"]: row for row in PublicStory.objects.filter(pk__in=ids).values(*OPINION_FIELDS)
    }
    return opinions_from([found[pk] for pk in ids if pk in found], base, readers)


def sql_answer(ids: list[int], readers: list[int], base: str = BASE) -> list[dict[str, Any]]:
    return json.loads(opinions_json(ids, base, readers))


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
    assert any(link["id"].startswith(GENERATED_PREFIX) for link in opinion[varied[1]]["links"])
    assert opinion[varied[0]]["responseCount"] == 2 and opinion[varied[0]]["hasResponse"]
    assert opinion[varied[0]]["dateOfLastResponse"] == "2025-08-09T00:00:00Z"
    assert opinion[varied[2]]["progress"] == "read"  # A's own, not B's "changed"
    assert {o["id"]: o for o in sql_answer(varied, both)}[varied[2]]["progress"] == "changed"


def test_an_address_with_characters_json_escapes_is_put_in_every_link(
    cast: Cast, varied: list[int]
) -> None:
    readers = [cast.org_a.pk, cast.org_b.pk]
    for base in ('https://api.example/"odd"\\path/', "https://café.example/"):
        assert sql_answer(varied, readers, base) == python_answer(varied, readers, base), base


def same_answers(cast: Cast, ids: list[int]) -> list[dict[str, Any]]:
    readers = [cast.org_a.pk, cast.org_b.pk]
    answer = sql_answer(ids, readers)
    assert answer == python_answer(ids, readers)
    return answer


def test_the_kept_text_follows_every_change_an_opinion_shows(cast: Cast, varied: list[int]) -> None:
    """The text is kept by database triggers (migration hub 0014_opinion_text): after each
    kind of change the kept answer is still the one worked out from the rows."""
    plain, three, two_trusts, _ = varied
    same_answers(cast, varied)

    # The story itself, as a correction or a republication would change it.
    PublicStory.objects.filter(pk=plain).update(
        title="Plain, corrected", body="New words", criticality="", author_nickname="Jo"
    )
    PublicStory.objects.filter(pk=three).update(
        published_at=datetime(2025, 9, 1, 8, 0, 1, tzinfo=UTC)
    )
    answer = {o["id"]: o for o in same_answers(cast, varied)}
    assert answer[plain]["title"] == "Plain, corrected" and answer[plain]["author"] == "Jo"
    assert answer[three]["dateOfPublication"] == "2025-09-01T08:00:01Z"

    # Responses published, moved to another story and withdrawn.
    response = PublicResponse.objects.filter(public_story_id=plain).earliest("published_at")
    PublicResponse.objects.filter(pk=response.pk).update(public_story_id=three)
    assert {o["id"]: o for o in same_answers(cast, varied)}[three]["responseCount"] == 1
    PublicResponse.objects.filter(public_story_id__in=[plain, three]).delete()
    answer = {o["id"]: o for o in same_answers(cast, varied)}
    assert answer[plain]["responseCount"] == 0 and answer[plain]["dateOfLastResponse"] is None

    # A service added to a story and another taken off.
    story = PublicStory.objects.get(pk=plain)
    story.services.add(cast.clinic_a)
    story.services.remove(cast.ward_a)
    healthservices = [
        link["id"]
        for link in {o["id"]: o for o in same_answers(cast, varied)}[plain]["links"]
        if link["relation"] == "healthservice"
    ]
    assert healthservices == [cast.clinic_a.code]

    # A listing's code and name, as the organisation's admins change them.
    with tenant_context(cast.org_a):
        service = Service.objects.get(pk=cast.ward_a.service_id)
        service.code = "AW9"
        service.name = "Zulu Ward"
        save_service(service)
    assert "AW9" in json.dumps(same_answers(cast, varied))

    # An organisation's new name re-orders the services of the stories that name it.
    before = [link["id"] for link in same_answers(cast, [two_trusts])[0]["links"]]
    Organisation.objects.filter(pk=cast.org_b.pk).update(name="Aardvark Health")
    after = [link["id"] for link in same_answers(cast, [two_trusts])[0]["links"]]
    assert sorted(before) == sorted(after) and before != after

    # A story removed takes its text with it.
    PublicStory.objects.filter(pk=plain).delete()
    assert not OpinionText.objects.filter(story_id=plain).exists()
    assert [o["id"] for o in same_answers(cast, varied)] == [three, two_trusts, varied[3]]


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
