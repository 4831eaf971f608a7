"""The read API, held to Care Opinion's API v2: bare arrays paged with skip/take, the filters,
subscription keys (an organisation's and a network lead's), the rate limit, JSON and XML,
the 16-key opinion, its sub-collections, the service directory, and no author contact details.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from django.http import HttpResponse
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback import api
from feedback.apikeys import NewKey, create_api_key, revoke_api_key
from feedback.hub.models import ApiKey, ServiceListing, Submission
from feedback.models import Service
from feedback.moderation import Decision, publish_submission
from feedback.publishing import StoryToPublish, import_published_stories
from feedback.sites_and_services import create_site, save_service, set_service_active
from tenants import ratelimit
from tenants.models import NetworkMembership, Organisation
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, client_for, tell, tell_and_publish

pytestmark = pytest.mark.django_db

OPINION_KEYS = {
    "id",
    "title",
    "body",
    "dateOfSubmission",
    "dateOfPublication",
    "criticality",
    "progress",
    "authorRole",
    "authorAgeGroup",
    "submissionRoute",
    "language",
    "author",
    "responseCount",
    "hasResponse",
    "dateOfLastResponse",
    "links",
}
HEALTHSERVICE_KEYS = {"nacs", "name", "type", "organisation", "siteNacs"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def at(day: str, hour: int = 12) -> datetime:
    """Noon (or `hour`) UTC on an ISO date."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


# --- keys and requests -----------------------------------------------------------------------


@pytest.fixture
def key_a(cast: Cast) -> NewKey:
    return create_api_key(cast.org_a, name="Alpha analysts", actor=cast.admin_a)


@pytest.fixture
def key_b(cast: Cast) -> NewKey:
    return create_api_key(cast.org_b, name="Beta analysts", actor=cast.admin_b)


def call(
    key: NewKey | str | None,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    raise_errors: bool = True,
    **headers: str,
) -> HttpResponse:
    """GET /api/v2/<path> on the hub, the key in the Authorization header.

    Each call with a made key starts that key's rate-limit window afresh, so tests that need
    many requests are not throttled; the rate-limit tests use the client directly.
    """
    if isinstance(key, NewKey):
        ratelimit.reset(api.API_RATE, str(key.api_key.pk))
        headers.setdefault("HTTP_AUTHORIZATION", f"SUBSCRIPTION_KEY {key.secret}")
    elif key is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"SUBSCRIPTION_KEY {key}")
    client = client_for(None, raise_request_exception=raise_errors)
    return client.get(f"/api/v2/{path}", params or {}, **headers)


def listed(key: NewKey, path: str = "opinions", **params: Any) -> list[dict[str, Any]]:
    response = call(key, path, params)
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list), "lists are bare JSON arrays"
    return body


def ids(key: NewKey, **params: Any) -> list[int]:
    return [item["id"] for item in listed(key, **params)]


def assert_json_error(response: HttpResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content.decode()[:500]
    assert response["Content-Type"].startswith("application/json")
    assert "Location" not in response, "an API error is never a redirect"
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- stories ---------------------------------------------------------------------------------


def publish(
    cast: Cast,
    listings: list[ServiceListing],
    *,
    title: str = "Kind nurses on the ward",
    published_at: datetime | None = None,
    submitted_at: datetime | None = None,
    criticality: str = "mildly critical",
    tags: list[str] | None = None,
    **overrides: object,
) -> int:
    """Tell a story and publish it (at `published_at`); returns the public story id."""
    submission_id = tell(listings, title=title, **overrides)
    if submitted_at is not None:
        # Time travel for the test: the author sent it on that day.
        Submission.objects.filter(pk=submission_id).update(created_at=submitted_at)
    published = publish_submission(
        submission_id,
        moderator=cast.moderator,
        decision=Decision(
            criticality=criticality,
            tag_keys=tags if tags is not None else ["what was good:kind staff"],
            listings=listings,
        ),
        published_at=published_at,
    )
    return published.public_story.pk


def service_of(
    organisation: Organisation, name: str, code: str, kind: str = "clinic"
) -> ServiceListing:
    """A new service of `organisation`, added the way its admins add one."""
    with tenant_context(organisation):
        site = create_site(name=f"{name} site")
        service = save_service(Service(site=site, name=name, code=code, type=kind))
        return ServiceListing.objects.get(organisation=organisation, service_id=service.pk)


def service_of_a(cast: Cast, name: str, code: str, kind: str = "clinic") -> ServiceListing:
    return service_of(cast.org_a, name, code, kind)


# --- the description -------------------------------------------------------------------------


def test_openapi_description_needs_no_key_and_lists_every_path() -> None:
    response = client_for(None).get("/api/v2/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    description = json.loads(response.content)
    assert description["openapi"].startswith("3.")
    assert set(description["paths"]) == {
        "/api/v2/opinions",
        "/api/v2/opinions/{id}",
        "/api/v2/opinions/{id}/tags",
        "/api/v2/opinions/{id}/responses",
        "/api/v2/opinions/{id}/healthservices",
        "/api/v2/responses",
        "/api/v2/responses/{id}",
        "/api/v2/healthservices",
        "/api/v2/healthservices/{nacs}",
    }
    assert description["servers"] == [{"url": "http://localhost"}]
    parameter_names = {p["name"] for p in description["components"]["parameters"].values()}
    assert {
        "skip",
        "take",
        "submittedonafter",
        "publishedafter",
        "tag",
        "nacs",
        "dateofpublicationorder",
        "name",
        "type",
        "addedAfter",
    } <= parameter_names
    opinion = description["components"]["schemas"]["Opinion"]["properties"]
    assert set(opinion) == OPINION_KEYS


def test_the_description_says_ids_are_whole_numbers(cast: Cast, key_a: NewKey) -> None:
    # Found by tests/fuzz: the document called {id} any string, but only digits reach the
    # API; a client generated from it sent other strings and met the HTML "page not found".
    description = client_for(None).get("/api/v2/openapi.json").json()
    id_schema = description["components"]["parameters"]["id"]["schema"]
    assert id_schema == {"type": "integer", "minimum": 0}
    story = publish(cast, [cast.ward_a])
    assert call(key_a, f"opinions/{story}").json()["id"] == story


# --- authentication --------------------------------------------------------------------------

ENDPOINTS = [
    "opinions",
    "opinions/1",
    "opinions/1/tags",
    "opinions/1/responses",
    "opinions/1/healthservices",
    "responses",
    "responses/1",
    "healthservices",
    "healthservices/AW1",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_refuses_a_missing_key_with_json_401(cast: Cast, path: str) -> None:
    response = call(None, path)
    assert_json_error(response, 401)
    assert response["WWW-Authenticate"] == "SUBSCRIPTION_KEY"


@pytest.mark.parametrize(
    "header",
    [
        "SUBSCRIPTION_KEY",
        "SUBSCRIPTION_KEY ",
        "SUBSCRIPTION_KEY cv_not-a-key-anyone-made",
        "SUBSCRIPTION_KEY not-even-the-right-shape",
        "Bearer {secret}",
        "Basic {secret}",
        "{secret}",
        "SUBSCRIPTION_KEY {secret}x",
        "SUBSCRIPTION_KEY {hash}",
        "\u00e9\u00e9\u00e9 \u2603",
    ],
)
def test_a_garbage_authorization_header_is_refused(key_a: NewKey, header: str) -> None:
    value = header.format(secret=key_a.secret, hash=key_a.api_key.key_hash)
    response = call(None, "opinions", HTTP_AUTHORIZATION=value)
    assert_json_error(response, 401)


def test_the_key_in_the_authorization_header_is_accepted(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a])
    assert ids(key_a) == [story]


def test_the_key_can_be_given_in_the_query_string(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a])
    response = call(None, "opinions", {"key": key_a.secret})
    assert response.status_code == 200
    assert [o["id"] for o in response.json()] == [story]
    assert_json_error(call(None, "opinions", {"key": key_a.secret + "x"}), 401)


def test_a_revoked_key_is_refused(cast: Cast, key_a: NewKey) -> None:
    assert call(key_a, "opinions").status_code == 200
    revoke_api_key(cast.org_a, key_a.api_key.pk, actor=cast.admin_a)
    assert_json_error(call(key_a, "opinions"), 401)
    assert_json_error(call(None, "opinions", {"key": key_a.secret}), 401)


def test_revoking_one_key_leaves_the_organisations_other_keys_working(
    cast: Cast, key_a: NewKey
) -> None:
    other = create_api_key(cast.org_a, name="Dashboard")
    revoke_api_key(cast.org_a, key_a.api_key.pk)
    assert call(other, "opinions").status_code == 200
    assert call(key_a, "opinions").status_code == 401


def test_an_organisation_cannot_revoke_another_organisations_key(cast: Cast, key_a: NewKey) -> None:
    with pytest.raises(ApiKey.DoesNotExist):
        revoke_api_key(cast.org_b, key_a.api_key.pk)
    assert call(key_a, "opinions").status_code == 200


def test_only_a_hash_of_the_key_is_stored(key_a: NewKey) -> None:
    stored = ApiKey.objects.get(pk=key_a.api_key.pk)
    assert key_a.secret not in {stored.key_hash, stored.prefix, stored.name}
    assert key_a.secret.startswith(stored.prefix)


def test_a_key_records_when_it_was_last_used(key_a: NewKey) -> None:
    assert ApiKey.objects.get(pk=key_a.api_key.pk).last_used_at is None
    before = timezone.now()
    assert call(key_a, "opinions").status_code == 200
    last_used = ApiKey.objects.get(pk=key_a.api_key.pk).last_used_at
    assert last_used is not None and last_used >= before


def test_the_api_only_answers_get(key_a: NewKey) -> None:
    client = client_for(None)
    auth = {"HTTP_AUTHORIZATION": f"SUBSCRIPTION_KEY {key_a.secret}"}
    assert client.post("/api/v2/opinions", {}, **auth).status_code == 405
    assert client.delete("/api/v2/opinions/1", **auth).status_code == 405


# --- rate limit ------------------------------------------------------------------------------


def test_a_sixth_request_in_a_second_is_refused_with_json_429(key_a: NewKey) -> None:
    client = client_for(None, HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key_a.secret}")
    responses = [client.get("/api/v2/opinions") for _ in range(6)]
    statuses = [r.status_code for r in responses]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429, statuses
    refused = assert_json_error(responses[5], 429)
    assert "5" in refused["message"]
    assert responses[5]["Retry-After"] == "1"


def test_the_rate_limit_is_counted_per_key(cast: Cast, key_a: NewKey) -> None:
    client = client_for(None)
    busy = {"HTTP_AUTHORIZATION": f"SUBSCRIPTION_KEY {key_a.secret}"}
    statuses = [client.get("/api/v2/opinions", **busy).status_code for _ in range(6)]
    assert 429 in statuses
    other = create_api_key(cast.org_a, name="Another script")
    quiet = {"HTTP_AUTHORIZATION": f"SUBSCRIPTION_KEY {other.secret}"}
    assert client.get("/api/v2/opinions", **quiet).status_code == 200


def test_the_rate_limit_applies_to_the_query_string_key_too(key_a: NewKey) -> None:
    client = client_for(None)
    statuses = [
        client.get("/api/v2/healthservices", {"key": key_a.secret}).status_code for _ in range(6)
    ]
    assert 429 in statuses


# --- whose stories a key reads ---------------------------------------------------------------


def test_a_key_lists_only_its_organisations_stories(
    cast: Cast, key_a: NewKey, key_b: NewKey
) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    assert ids(key_a) == [story_a]
    assert ids(key_b) == [story_b]


@pytest.mark.parametrize("suffix", ["", "/tags", "/healthservices", "/responses"])
def test_a_key_cannot_fetch_another_organisations_story_by_id(
    cast: Cast, key_a: NewKey, suffix: str
) -> None:
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    assert_json_error(call(key_a, f"opinions/{story_b}{suffix}"), 404)


def test_a_story_about_both_organisations_is_readable_with_either_key(
    cast: Cast, key_a: NewKey, key_b: NewKey
) -> None:
    shared = publish(cast, [cast.ward_a, cast.ward_b], title="Moved between trusts")
    assert ids(key_a) == [shared]
    assert ids(key_b) == [shared]
    assert call(key_b, f"opinions/{shared}").status_code == 200


def test_an_unknown_opinion_is_404_json(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a])
    assert_json_error(call(key_a, f"opinions/{story + 1000}"), 404)


@pytest.mark.parametrize(
    "path", ["opinions/-1", "opinions/abc/tags", "responses/1.5", "opinions/", "no-such-thing"]
)
def test_an_address_the_api_does_not_have_is_a_json_404(key_a: NewKey, path: str) -> None:
    # Found by tests/fuzz: an id that is not a whole number met the HTML "page not found".
    assert_json_error(call(key_a, path), 404)
    root = ElementTree.fromstring(call(key_a, path, {"format": "xml"}).content)
    assert root.tag == "Error" and root.findtext("status") == "404"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_a_method_the_api_does_not_answer_is_its_own_405(key_a: NewKey, method: str) -> None:
    response = getattr(client_for(None), method)(
        "/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key_a.secret}"
    )
    assert_json_error(response, 405)
    assert response["Allow"] == "GET"


@pytest.mark.parametrize(
    "path",
    [
        "opinions?tag=%00",
        "opinions?nacs=AW1%00",
        "opinions?dateofpublicationorder=%00",
        "healthservices?name=ward%00",
        "healthservices?type=%00",
        "healthservices/%00",
        "healthservices/AW1%00",
        "responses?skip=0&%00=1",
    ],
)
def test_a_nul_character_in_a_parameter_is_a_400_not_a_500(key_a: NewKey, path: str) -> None:
    # Found by tests/fuzz: PostgreSQL cannot take NUL in a text parameter, so a filter with
    # %00 in it reached the database and failed there.
    body = assert_json_error(call(key_a, path, raise_errors=False), 400)
    assert "NUL" in body["message"]


def test_a_submission_waiting_for_moderation_is_not_in_the_api(cast: Cast, key_a: NewKey) -> None:
    tell([cast.ward_a], title="Not yet moderated")
    assert listed(key_a) == []


# --- network leads ---------------------------------------------------------------------------


def b_joins_as_network_member(
    cast: Cast, *, accepted: bool = True, consent: bool = True
) -> NetworkMembership:
    """A network led by A, with B invited (and, by default, joined with consent)."""
    network = create_network(lead=cast.org_a, name="Northern Hospitals", actor=cast.admin_a)
    membership = invite_organisation(network, cast.org_b, actor=cast.admin_a)
    if accepted:
        membership = accept_invitation(membership, benchmarking_consent=consent, actor=cast.admin_b)
    return membership


def test_a_network_leads_key_reads_its_consenting_members_stories(
    cast: Cast, key_a: NewKey
) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha", published_at=at("2025-01-01"))
    story_b = publish(cast, [cast.ward_b], title="About Beta", published_at=at("2025-01-02"))
    b_joins_as_network_member(cast)
    assert ids(key_a) == [story_a, story_b]
    assert call(key_a, f"opinions/{story_b}").json()["title"] == "About Beta"
    assert call(key_a, f"opinions/{story_b}/healthservices").json()[0]["nacs"] == "BPW"
    assert ids(key_a, nacs="BPW") == [story_b]


def test_a_network_members_key_does_not_read_the_leads_stories(cast: Cast, key_b: NewKey) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    b_joins_as_network_member(cast)
    assert ids(key_b) == [story_b]
    assert_json_error(call(key_b, f"opinions/{story_a}"), 404)


def test_an_invited_organisation_is_not_read_until_it_joins(cast: Cast, key_a: NewKey) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    membership = b_joins_as_network_member(cast, accepted=False)
    assert ids(key_a) == [story_a]
    # Even consent given ahead of joining does not open its stories.
    set_benchmarking_consent(membership, True, actor=cast.admin_b)
    assert ids(key_a) == [story_a]
    assert_json_error(call(key_a, f"opinions/{story_b}"), 404)
    accept_invitation(membership, benchmarking_consent=True)
    assert set(ids(key_a)) == {story_a, story_b}


def test_a_member_that_joined_without_consent_is_not_read(cast: Cast, key_a: NewKey) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    b_joins_as_network_member(cast, consent=False)
    assert ids(key_a) == [story_a]
    assert_json_error(call(key_a, f"opinions/{story_b}"), 404)


def test_withdrawn_consent_hides_the_members_stories_again(cast: Cast, key_a: NewKey) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    story_b = publish(cast, [cast.ward_b], title="About Beta")
    membership = b_joins_as_network_member(cast)
    assert set(ids(key_a)) == {story_a, story_b}
    set_benchmarking_consent(membership, False, actor=cast.admin_b)
    assert ids(key_a) == [story_a]
    assert_json_error(call(key_a, f"opinions/{story_b}/tags"), 404)


def test_a_member_that_left_the_network_is_not_read(cast: Cast, key_a: NewKey) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha")
    publish(cast, [cast.ward_b], title="About Beta")
    membership = b_joins_as_network_member(cast)
    leave_network(membership, actor=cast.admin_b)
    assert ids(key_a) == [story_a]
    membership.refresh_from_db()
    set_benchmarking_consent(membership, True, actor=cast.admin_b)
    assert ids(key_a) == [story_a], "a member that left is not read, whatever its consent"


def test_a_story_shared_with_a_member_appears_once_to_the_lead(cast: Cast, key_a: NewKey) -> None:
    shared = publish(cast, [cast.ward_a, cast.ward_b], title="Moved between trusts")
    b_joins_as_network_member(cast)
    assert ids(key_a) == [shared]


# --- the opinion -----------------------------------------------------------------------------


def test_an_opinion_has_exactly_the_fifteen_keys(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a])
    (in_list,) = listed(key_a)
    assert set(in_list) == OPINION_KEYS
    detail = call(key_a, f"opinions/{story}").json()
    assert set(detail) == OPINION_KEYS
    assert detail == in_list


def test_an_opinion_carries_the_story_as_published(cast: Cast, key_a: NewKey) -> None:
    story = publish(
        cast,
        [cast.ward_a],
        title="Seen quickly in the eye clinic",
        what_was_good="The consultant saw me within the hour.",
        author_role="carer",
        author_age_group="35-44",
        nickname="Sam's mum",
        route="kiosk",
        criticality="not critical",
        submitted_at=datetime(2025, 2, 3, 8, 4, 5, tzinfo=UTC),
        published_at=datetime(2025, 2, 5, 17, 30, 0, tzinfo=UTC),
    )
    opinion = call(key_a, f"opinions/{story}").json()
    assert opinion["id"] == story
    assert opinion["title"] == "Seen quickly in the eye clinic"
    assert "The consultant saw me within the hour." in opinion["body"]
    assert opinion["dateOfSubmission"] == "2025-02-03T00:00:00Z"  # the day only
    assert opinion["dateOfPublication"] == "2025-02-05T17:30:00Z"
    assert opinion["criticality"] == "not critical"
    assert opinion["progress"] == "unheard"
    assert opinion["authorRole"] == "carer"
    assert opinion["authorAgeGroup"] == "35-44"
    assert opinion["submissionRoute"] == "kiosk"
    assert opinion["author"] == "Sam's mum"
    assert opinion["responseCount"] == 0
    assert opinion["hasResponse"] is False
    assert opinion["dateOfLastResponse"] is None


def test_dates_are_utc_even_in_british_summer_time(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a], published_at=datetime(2025, 7, 1, 10, 0, tzinfo=UTC))
    opinion = call(key_a, f"opinions/{story}").json()
    assert opinion["dateOfPublication"] == "2025-07-01T10:00:00Z"
    assert ISO_UTC.match(opinion["dateOfSubmission"])


def test_an_author_without_a_nickname_is_null(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a], nickname="")
    assert call(key_a, f"opinions/{story}").json()["author"] is None


def test_each_link_is_a_full_url_that_answers(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a, cast.clinic_a])
    links = call(key_a, f"opinions/{story}").json()["links"]
    for link in links:
        assert set(link) == {"relation", "id", "link"}
        assert isinstance(link["id"], str)
        assert link["link"].startswith("http://localhost/"), link
    by_relation = {link["relation"]: link for link in links if link["relation"] != "healthservice"}
    assert set(by_relation) == {"self", "tags", "responses", "healthservices", "web"}
    assert {link["id"] for link in by_relation.values()} == {str(story)}
    base = f"http://localhost/api/v2/opinions/{story}"
    assert by_relation["self"]["link"] == base
    assert by_relation["tags"]["link"] == f"{base}/tags"
    assert by_relation["responses"]["link"] == f"{base}/responses"
    assert by_relation["healthservices"]["link"] == f"{base}/healthservices"
    services = [link for link in links if link["relation"] == "healthservice"]
    assert sorted(link["id"] for link in services) == ["AEC", "AW1"]

    for link in links:
        path = link["link"].removeprefix("http://localhost/")
        if link["relation"] == "web":
            assert client_for(None).get("/" + path).status_code == 200
        else:
            assert call(key_a, path.removeprefix("api/v2/")).status_code == 200, link
    assert call(key_a, f"opinions/{story}").json()["id"] == story


# --- sub-collections -------------------------------------------------------------------------


def test_tags_have_name_group_and_integer_polarity(cast: Cast, key_a: NewKey) -> None:
    story = publish(
        cast,
        [cast.ward_a],
        tags=[
            "what was good:kind staff",
            "what could be improved:waiting time",
            "feelings:relieved",
        ],
    )
    tags = listed(key_a, f"opinions/{story}/tags")
    assert tags == [
        {"name": "kind staff", "group": "what was good", "polarity": 1},
        {"name": "waiting time", "group": "what could be improved", "polarity": -1},
        {"name": "relieved", "group": "feelings", "polarity": 0},
    ]
    assert all(type(tag["polarity"]) is int for tag in tags)


def test_a_story_without_tags_has_an_empty_tag_list(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a], tags=[])
    assert listed(key_a, f"opinions/{story}/tags") == []


def test_a_storys_health_services_name_their_organisation(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a, cast.clinic_a])
    services = sorted(listed(key_a, f"opinions/{story}/healthservices"), key=lambda s: s["nacs"])
    assert all(set(service) == HEALTHSERVICE_KEYS for service in services)
    assert services == [
        {
            "nacs": "AEC",
            "name": "Alpha Eye Clinic",
            "type": "clinic",
            "organisation": "Alpha Hospitals NHS Trust",
            "siteNacs": None,
        },
        {
            "nacs": "AW1",
            "name": "Alpha Ward One",
            "type": "ward",
            "organisation": "Alpha Hospitals NHS Trust",
            "siteNacs": None,
        },
    ]


def test_an_opinions_responses_are_an_empty_list(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a])
    assert listed(key_a, f"opinions/{story}/responses") == []


def test_the_responses_list_is_empty_and_a_response_is_404(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    assert listed(key_a, "responses") == []
    assert listed(key_a, "responses", skip=5, take=10) == []
    assert_json_error(call(key_a, "responses/1"), 404)
    assert_json_error(call(key_a, "responses", {"take": "lots"}), 400)


# --- paging and order ------------------------------------------------------------------------


def test_paging_reaches_an_empty_list(cast: Cast, key_a: NewKey) -> None:
    stories = [
        publish(cast, [cast.ward_a], title=f"Story {n}", published_at=at(f"2025-01-{n + 1:02d}"))
        for n in range(7)
    ]
    pages = []
    skip = 0
    while True:
        response = call(key_a, "opinions", {"skip": skip, "take": 3})
        assert response.status_code == 200
        page = [opinion["id"] for opinion in response.json()]
        pages.append(page)
        if not page:
            break
        skip += 3
        assert len(pages) < 10, "paging never reached the empty list"
    assert [len(page) for page in pages] == [3, 3, 1, 0]
    assert [story for page in pages for story in page] == stories
    assert response.content == b"[]"


def test_skipping_past_the_end_is_an_empty_list_not_an_error(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    assert listed(key_a, skip=1) == []
    assert listed(key_a, skip=1000, take=50) == []


def test_take_is_clamped_to_a_hundred(cast: Cast, key_a: NewKey) -> None:
    base = at("2024-06-01")
    import_published_stories(
        [
            StoryToPublish(
                title=f"Imported story {n}",
                body="### What was good\n\nEveryone.",
                criticality="not critical",
                author_role="patient",
                author_age_group="not said",
                submission_route="paper",
                submitted_at=base + timedelta(hours=n),
                published_at=base + timedelta(hours=n, minutes=5),
                listings=[cast.ward_a],
            )
            for n in range(101)
        ]
    )
    assert len(listed(key_a, take=500)) == 100
    assert len(listed(key_a)) == 100, "the default page is the largest, 100"
    assert len(listed(key_a, take=100)) == 100
    assert len(listed(key_a, take=7)) == 7
    last = listed(key_a, skip=100, take=500)
    assert [opinion["title"] for opinion in last] == ["Imported story 100"]


def test_stories_come_oldest_publication_first_by_default(cast: Cast, key_a: NewKey) -> None:
    # Published out of id order, so id order and publication order differ.
    middle = publish(cast, [cast.ward_a], title="Middle", published_at=at("2025-03-10"))
    newest = publish(cast, [cast.ward_a], title="Newest", published_at=at("2025-03-20"))
    oldest = publish(cast, [cast.ward_a], title="Oldest", published_at=at("2025-03-01"))
    assert ids(key_a) == [oldest, middle, newest]
    assert ids(key_a, dateofpublicationorder="ascending") == [oldest, middle, newest]


def test_descending_order_puts_the_newest_publication_first(cast: Cast, key_a: NewKey) -> None:
    middle = publish(cast, [cast.ward_a], title="Middle", published_at=at("2025-03-10"))
    newest = publish(cast, [cast.ward_a], title="Newest", published_at=at("2025-03-20"))
    oldest = publish(cast, [cast.ward_a], title="Oldest", published_at=at("2025-03-01"))
    assert ids(key_a, dateofpublicationorder="descending") == [newest, middle, oldest]
    assert ids(key_a, dateofpublicationorder="descending", take=1, skip=1) == [middle]


def test_stories_published_at_the_same_moment_keep_a_stable_order(
    cast: Cast, key_a: NewKey
) -> None:
    moment = at("2025-04-01")
    stories = [
        publish(cast, [cast.ward_a], title=f"Same {n}", published_at=moment) for n in range(4)
    ]
    pages = [ids(key_a, skip=skip, take=1) for skip in range(4)]
    assert [page[0] for page in pages] == sorted(stories)


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2025-03-01", "03/01/2025"])
def test_submittedonafter_keeps_stories_submitted_on_or_after_the_day(
    cast: Cast, key_a: NewKey, value: str
) -> None:
    before = publish(cast, [cast.ward_a], title="Before", submitted_at=at("2025-02-28", 23))
    on_the_day = publish(cast, [cast.ward_a], title="On", submitted_at=at("2025-03-01", 0))
    after = publish(cast, [cast.ward_a], title="After", submitted_at=at("2025-03-15"))
    assert set(ids(key_a)) == {before, on_the_day, after}
    assert ids(key_a, submittedonafter=value) == [on_the_day, after]


@pytest.mark.parametrize("value", ["2025-01-15", "01/15/2025"])
def test_publishedafter_keeps_stories_published_after_the_date(
    cast: Cast, key_a: NewKey, value: str
) -> None:
    publish(cast, [cast.ward_a], title="Early", published_at=at("2025-01-10"))
    publish(cast, [cast.ward_a], title="Just before", published_at=at("2025-01-14", 23))
    later = publish(cast, [cast.ward_a], title="Later", published_at=at("2025-01-20"))
    latest = publish(cast, [cast.ward_a], title="Latest", published_at=at("2025-02-01"))
    assert ids(key_a, publishedafter=value) == [later, latest]


def test_publishedafter_in_the_future_is_an_empty_list(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    tomorrow = (timezone.now() + timedelta(days=2)).date().isoformat()
    assert listed(key_a, publishedafter=tomorrow) == []


def test_the_tag_filter_keeps_stories_with_that_tag(cast: Cast, key_a: NewKey) -> None:
    kind = publish(
        cast, [cast.ward_a], title="Kind", tags=["what was good:kind staff", "feelings:grateful"]
    )
    slow = publish(cast, [cast.ward_a], title="Slow", tags=["what could be improved:waiting time"])
    both = publish(
        cast,
        [cast.ward_a],
        title="Both",
        tags=["what could be improved:waiting time", "what was good:kind staff"],
    )
    assert ids(key_a, tag="kind staff") == [kind, both]
    assert ids(key_a, tag="waiting time") == [slow, both]
    assert ids(key_a, tag="Kind Staff") == [kind, both]
    assert ids(key_a, tag="grateful") == [kind]
    assert ids(key_a, tag="car parking") == []


def test_the_nacs_filter_keeps_stories_about_that_service(cast: Cast, key_a: NewKey) -> None:
    ward = publish(cast, [cast.ward_a], title="Ward")
    clinic = publish(cast, [cast.clinic_a], title="Clinic")
    both = publish(cast, [cast.ward_a, cast.clinic_a], title="Both")
    assert ids(key_a, nacs="AW1") == [ward, both]
    assert ids(key_a, nacs="AEC") == [clinic, both]
    assert ids(key_a, nacs="aec") == [clinic, both]
    assert ids(key_a, nacs="ZZZ9") == []


def test_the_nacs_filter_does_not_reach_another_organisations_stories(
    cast: Cast, key_a: NewKey
) -> None:
    publish(cast, [cast.ward_b], title="About Beta")
    assert ids(key_a, nacs="BPW") == []


def test_the_nacs_filter_finds_stories_about_a_service_without_a_code(
    cast: Cast, key_a: NewKey
) -> None:
    codeless = service_of_a(cast, "Alpha Day Unit", code="")
    story = publish(cast, [codeless], title="Day unit")
    publish(cast, [cast.ward_a], title="Ward")
    (service,) = listed(key_a, f"opinions/{story}/healthservices")
    nacs = service["nacs"]
    assert nacs == f"CV{codeless.pk}"
    assert call(key_a, f"healthservices/{nacs}").status_code == 200
    assert ids(key_a, nacs=nacs) == [story], (
        f"the API gives a code-less service the nacs {nacs!r} and serves it at "
        f"/healthservices/{nacs}, so ?nacs={nacs} must find its stories"
    )


def test_the_nacs_filter_lists_a_story_once_when_two_of_its_services_share_the_code(
    cast: Cast, key_a: NewKey
) -> None:
    # Codes are unique only within an organisation, so B may use A's code for its own service.
    twin = service_of(cast.org_b, "Beta Ward One", code="AW1", kind="ward")
    shared = publish(cast, [cast.ward_a, twin], title="Moved between trusts")
    found = ids(key_a, nacs="AW1")
    assert found == [shared], (
        "a story about two services with the same code must be listed once, not "
        f"{found.count(shared)} times (a join on services without distinct())"
    )


def test_filters_combine_with_each_other_and_with_paging(cast: Cast, key_a: NewKey) -> None:
    tags = ["what could be improved:waiting time"]
    publish(cast, [cast.ward_a], title="Old wait", tags=tags, published_at=at("2025-01-05"))
    publish(cast, [cast.clinic_a], title="Clinic wait", tags=tags, published_at=at("2025-02-05"))
    publish(cast, [cast.ward_a], title="Kind", published_at=at("2025-02-06"))
    first = publish(cast, [cast.ward_a], title="Wait 1", tags=tags, published_at=at("2025-02-07"))
    second = publish(cast, [cast.ward_a], title="Wait 2", tags=tags, published_at=at("2025-02-08"))
    query = {"tag": "waiting time", "nacs": "AW1", "publishedafter": "2025-02-01"}
    assert ids(key_a, **query) == [first, second]
    assert ids(key_a, **query, dateofpublicationorder="descending", take=1) == [second]
    assert ids(key_a, **query, skip=1, take=1) == [second]
    assert ids(key_a, **query, skip=2) == []


# --- bad parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("take", "abc"),
        ("take", "-1"),
        ("take", "1.5"),
        ("take", "10 "),
        ("skip", "abc"),
        ("skip", "-3"),
        ("skip", "0x10"),
        ("dateofpublicationorder", "sideways"),
        ("dateofpublicationorder", "newest"),
        ("submittedonafter", "notadate"),
        ("submittedonafter", "31/12/2025"),
        ("submittedonafter", "2025-02-30"),
        ("publishedafter", "yesterday"),
        ("publishedafter", "2025-13-01"),
    ],
)
def test_a_bad_opinions_parameter_is_a_json_400_naming_it(
    cast: Cast, key_a: NewKey, name: str, value: str
) -> None:
    publish(cast, [cast.ward_a])
    response = call(key_a, "opinions", {name: value}, raise_errors=False)
    body = assert_json_error(response, 400)
    assert name in body["message"]


@pytest.mark.parametrize(
    ("name", "value"), [("take", "many"), ("skip", "-1"), ("addedAfter", "last week")]
)
def test_a_bad_healthservices_parameter_is_a_json_400_naming_it(
    key_a: NewKey, name: str, value: str
) -> None:
    body = assert_json_error(call(key_a, "healthservices", {name: value}, raise_errors=False), 400)
    assert name in body["message"]


def test_a_digit_like_character_in_paging_is_a_400_not_a_500(key_a: NewKey) -> None:
    # Superscript two: str.isdigit() says yes, int() says no.
    response = call(key_a, "opinions", {"take": "\u00b2"}, raise_errors=False)
    assert response.status_code == 400, (
        "take='\u00b2' passes str.isdigit() but int() refuses it: expected a JSON 400, got "
        f"{response.status_code}"
    )
    assert "take" in response.json()["message"]
    assert call(key_a, "opinions", {"skip": "\u0663"}, raise_errors=False).status_code == 400


@pytest.mark.parametrize("path", ["opinions", "healthservices", "responses"])
def test_a_skip_too_large_for_the_database_is_a_400_not_a_500(
    cast: Cast, key_a: NewKey, path: str
) -> None:
    publish(cast, [cast.ward_a])
    response = call(key_a, path, {"skip": "9" * 20}, raise_errors=False)
    assert response.status_code == 400, (
        f"skip={'9' * 20} overflows PostgreSQL's bigint OFFSET: expected a JSON 400, got "
        f"{response.status_code}"
    )
    assert "skip" in assert_json_error(response, 400)["message"]


def test_a_large_but_possible_skip_is_an_empty_list(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    assert listed(key_a, skip=1_000_000, take=100) == []
    assert listed(key_a, "healthservices", skip=1_000_000) == []


def test_an_opinion_id_too_large_for_the_database_is_a_404(key_a: NewKey) -> None:
    assert_json_error(call(key_a, "opinions/" + "9" * 20, raise_errors=False), 404)
    assert_json_error(call(key_a, "opinions/" + "9" * 20 + "/tags", raise_errors=False), 404)
    assert_json_error(call(key_a, "responses/" + "9" * 20, raise_errors=False), 404)


@pytest.mark.parametrize("nacs", ["CV" + "9" * 20, "CV\u00b2", "CV", "cv-1"])
def test_an_odd_health_service_code_is_a_404_not_a_500(key_a: NewKey, nacs: str) -> None:
    response = call(key_a, f"healthservices/{nacs}", raise_errors=False)
    assert response.status_code == 404, (
        f"/healthservices/{nacs} answers {response.status_code}, not a JSON 404"
    )
    assert_json_error(response, 404)


def test_a_bad_parameter_asked_for_in_xml_is_an_xml_400(key_a: NewKey) -> None:
    response = call(key_a, "opinions", {"take": "abc", "format": "xml"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    assert root.findtext("status") == "400"
    assert "take" in root.findtext("message")


# --- formats ---------------------------------------------------------------------------------


def test_answers_are_json_by_default(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    for accept in (None, "*/*", "application/json", "application/json, application/xml"):
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        response = call(key_a, "opinions", **headers)
        assert response["Content-Type"].startswith("application/json"), accept
        assert isinstance(response.json(), list)


def parse_xml(response: HttpResponse) -> ElementTree.Element:
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["Content-Type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def test_format_xml_gives_xml_containing_the_titles(cast: Cast, key_a: NewKey) -> None:
    first = publish(
        cast, [cast.ward_a], title="Tea & toast <at last>", published_at=at("2025-05-01")
    )
    publish(cast, [cast.clinic_a], title="Clear eye tests", published_at=at("2025-05-02"))
    root = parse_xml(call(key_a, "opinions", {"format": "xml"}))
    assert root.tag == "ArrayOfOpinion"
    assert [child.tag for child in root] == ["Opinion", "Opinion"]
    assert [child.findtext("title") for child in root] == [
        "Tea & toast <at last>",
        "Clear eye tests",
    ]
    assert root[0].findtext("id") == str(first)
    assert {child.tag for child in root[0]} == OPINION_KEYS
    assert root[0].findtext("hasResponse") == "false"
    assert root[0].find("dateOfLastResponse").get("nil") == "true"
    links = root[0].find("links")
    assert {link.findtext("relation") for link in links} >= {"self", "tags", "web"}


def test_accept_application_xml_gives_xml(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a], title="Asked for in XML")
    root = parse_xml(call(key_a, "opinions", HTTP_ACCEPT="application/xml"))
    assert [child.findtext("title") for child in root] == ["Asked for in XML"]


def test_format_json_overrides_an_xml_accept_header(cast: Cast, key_a: NewKey) -> None:
    publish(cast, [cast.ward_a])
    response = call(key_a, "opinions", {"format": "json"}, HTTP_ACCEPT="application/xml")
    assert response["Content-Type"].startswith("application/json")


def test_an_empty_page_in_xml_is_an_empty_array(key_a: NewKey) -> None:
    root = parse_xml(call(key_a, "opinions", {"format": "xml"}))
    assert root.tag == "ArrayOfOpinion" and len(root) == 0


def test_every_answer_about_a_story_parses_as_xml(cast: Cast, key_a: NewKey) -> None:
    story = publish(cast, [cast.ward_a, cast.clinic_a], tags=["what was good:kind staff"])
    detail = parse_xml(call(key_a, f"opinions/{story}", {"format": "xml"}))
    assert detail.tag == "Opinion" and detail.findtext("id") == str(story)
    tags = parse_xml(call(key_a, f"opinions/{story}/tags", {"format": "xml"}))
    assert tags.tag == "ArrayOfTag"
    assert [(t.findtext("name"), t.findtext("polarity")) for t in tags] == [("kind staff", "1")]
    services = parse_xml(call(key_a, f"opinions/{story}/healthservices", {"format": "xml"}))
    assert services.tag == "ArrayOfHealthService"
    assert sorted(s.findtext("nacs") for s in services) == ["AEC", "AW1"]
    responses = parse_xml(call(key_a, f"opinions/{story}/responses", {"format": "xml"}))
    assert responses.tag == "ArrayOfResponse" and len(responses) == 0
    directory = parse_xml(call(key_a, "healthservices", {"format": "xml"}))
    assert "Alpha Eye Clinic" in {s.findtext("name") for s in directory}
    one = parse_xml(call(key_a, "healthservices/AW1", {"format": "xml"}))
    assert one.tag == "HealthService" and one.findtext("name") == "Alpha Ward One"


def test_a_refused_key_in_xml_is_an_xml_401(key_a: NewKey) -> None:
    response = call("cv_wrong", "opinions", {"format": "xml"})
    assert response.status_code == 401
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error" and root.findtext("status") == "401"


def test_a_story_with_a_control_character_still_parses_as_xml(cast: Cast, key_a: NewKey) -> None:
    # A form feed or vertical tab comes along when text is pasted from a word processor. The
    # hub form drops them, but submit_story (widget, kiosk, assisted) and imports may not;
    # JSON carries them escaped, XML 1.0 cannot carry them at all.
    story = publish(
        cast, [cast.ward_a], title="Pasted in", what_was_good="Page one\x0cpage two\x0bend."
    )
    response = call(key_a, f"opinions/{story}", {"format": "xml"})
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError as exc:
        pytest.fail(
            "a story body with a control character such as \\x0c must not make the XML "
            f"answer ill-formed ({exc})"
        )
    assert "Page one" in root.findtext("body")


# --- no contact details, anywhere ------------------------------------------------------------


def test_the_authors_email_and_postcode_never_appear_in_any_answer(
    cast: Cast, key_a: NewKey
) -> None:
    story = publish(cast, [cast.ward_a, cast.clinic_a], tags=["feelings:grateful"])
    waiting = tell([cast.ward_a], title="Still waiting")  # pending, with the same details
    paths = [
        "opinions",
        f"opinions/{story}",
        f"opinions/{story}/tags",
        f"opinions/{story}/healthservices",
        f"opinions/{story}/responses",
        f"opinions/{waiting}",
        "responses",
        f"responses/{story}",
        "healthservices",
        "healthservices/AW1",
        "opinions?take=abc",
    ]
    forbidden = {
        AUTHOR_EMAIL.lower(),
        AUTHOR_EMAIL.split("@")[0].lower(),
        AUTHOR_POSTCODE.lower(),
        AUTHOR_POSTCODE.replace(" ", "").lower(),
    }
    answers = 0
    for path in paths:
        for fmt in ("json", "xml"):
            separator = "&" if "?" in path else "?"
            response = call(key_a, f"{path}{separator}format={fmt}")
            text = response.content.decode().lower()
            for detail in forbidden:
                assert detail not in text, f"{detail!r} appeared in /api/v2/{path} ({fmt})"
            answers += 1
    description = client_for(None).get("/api/v2/openapi.json").content.decode().lower()
    assert not any(detail in description for detail in forbidden)
    assert answers == len(paths) * 2


# --- the service directory -------------------------------------------------------------------

CAST_CODES = {"AW1", "AEC", "BPW"}


def cast_codes(services: list[dict[str, Any]]) -> list[str]:
    return [service["nacs"] for service in services if service["nacs"] in CAST_CODES]


def test_the_directory_lists_every_organisations_services_ordered_by_code(
    key_a: NewKey,
) -> None:
    services = listed(key_a, "healthservices")
    assert cast_codes(services) == ["AEC", "AW1", "BPW"]
    assert all(set(service) == HEALTHSERVICE_KEYS for service in services)
    by_code = {service["nacs"]: service for service in services}
    assert by_code["BPW"] == {
        "nacs": "BPW",
        "name": "Beta Private Ward",
        "type": "ward",
        "organisation": "Beta Hospitals NHS Trust",
        "siteNacs": None,
    }


def test_the_directory_filters_by_part_of_the_name(key_a: NewKey) -> None:
    assert cast_codes(listed(key_a, "healthservices", name="eye")) == ["AEC"]
    assert cast_codes(listed(key_a, "healthservices", name="WARD")) == ["AW1", "BPW"]
    assert listed(key_a, "healthservices", name="no such service anywhere") == []


def test_the_directory_filters_by_type(key_a: NewKey) -> None:
    wards = listed(key_a, "healthservices", type="ward")
    assert cast_codes(wards) == ["AW1", "BPW"]
    assert {service["type"] for service in wards} == {"ward"}
    assert cast_codes(listed(key_a, "healthservices", type="Clinic")) == ["AEC"]
    assert listed(key_a, "healthservices", type="hospice") == []


def test_the_directory_filters_by_date_added(cast: Cast, key_a: NewKey) -> None:
    yesterday = (timezone.now() - timedelta(days=1)).date()
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    assert cast_codes(listed(key_a, "healthservices", addedAfter=yesterday.isoformat())) == [
        "AEC",
        "AW1",
        "BPW",
    ]
    us_style = yesterday.strftime("%m/%d/%Y")
    assert len(cast_codes(listed(key_a, "healthservices", addedAfter=us_style))) == 3
    assert listed(key_a, "healthservices", addedAfter=tomorrow.isoformat()) == []
    moment = (timezone.now() - timedelta(seconds=1)).astimezone(UTC)
    service_of_a(cast, "Alpha New Unit", code="ANU")
    added = listed(key_a, "healthservices", addedAfter=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert "ANU" in [service["nacs"] for service in added]


def test_the_directory_pages_with_skip_and_take(key_a: NewKey) -> None:
    everything = [service["nacs"] for service in listed(key_a, "healthservices")]
    assert len(everything) >= 3
    pages = [
        [service["nacs"] for service in listed(key_a, "healthservices", skip=skip, take=2)]
        for skip in range(0, len(everything) + 2, 2)
    ]
    assert pages[-1] == []
    assert [code for page in pages for code in page] == everything


def test_one_health_service_by_its_code(key_a: NewKey) -> None:
    response = call(key_a, "healthservices/AW1")
    assert response.status_code == 200
    assert response.json() == {
        "nacs": "AW1",
        "name": "Alpha Ward One",
        "type": "ward",
        "organisation": "Alpha Hospitals NHS Trust",
        "siteNacs": None,
    }
    assert call(key_a, "healthservices/aw1").json()["nacs"] == "AW1"
    assert_json_error(call(key_a, "healthservices/NOPE1"), 404)


def test_a_service_without_a_code_gets_a_stable_code_of_ours(cast: Cast, key_a: NewKey) -> None:
    codeless = service_of_a(cast, "Alpha Day Unit", code="")
    nacs = f"CV{codeless.pk}"
    assert nacs in [service["nacs"] for service in listed(key_a, "healthservices")]
    assert call(key_a, f"healthservices/{nacs}").json()["name"] == "Alpha Day Unit"
    assert call(key_a, f"healthservices/{nacs.lower()}").status_code == 200
    # A coded service's own id is not a way in.
    assert_json_error(call(key_a, f"healthservices/CV{cast.ward_a.pk}"), 404)


def test_a_service_whose_own_code_looks_like_ours_is_still_found(cast: Cast, key_a: NewKey) -> None:
    look_alike = service_of_a(cast, "Cardiovascular Clinic", code="CV12")
    assert look_alike.code == "CV12"
    assert "CV12" in [service["nacs"] for service in listed(key_a, "healthservices")]
    response = call(key_a, "healthservices/CV12")
    assert response.status_code == 200, (
        "a service whose own code is CV12 is listed with nacs 'CV12', so "
        f"/healthservices/CV12 must find it, not answer {response.status_code} (a real "
        "code comes before our generated CV<id> codes)"
    )
    assert response.json()["name"] == "Cardiovascular Clinic"


def test_an_inactive_service_leaves_the_directory(cast: Cast, key_a: NewKey) -> None:
    listing = service_of_a(cast, "Alpha Closed Ward", code="ACW", kind="ward")
    assert call(key_a, "healthservices/ACW").status_code == 200
    with tenant_context(cast.org_a):
        set_service_active(Service.objects.get(pk=listing.service_id), False)
    assert "ACW" not in [service["nacs"] for service in listed(key_a, "healthservices")]
    assert_json_error(call(key_a, "healthservices/ACW"), 404)


def test_a_cached_list_is_never_served_after_a_new_story_is_published(cast: Cast) -> None:
    key = create_api_key(cast.org_a, name="cache probe").secret
    hub = client_for(None)
    first = hub.get("/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key}").json()
    again = hub.get("/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key}").json()
    assert again == first
    new = tell_and_publish(cast, [cast.ward_a], title="Fresh story").public_story.pk
    after = hub.get("/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key}").json()
    assert new in [o["id"] for o in after]
    # Renaming a service changes the answer too.
    with tenant_context(cast.org_a):
        service = Service.objects.get(name="Alpha Ward One")
        service.code = "AW1X"
        save_service(service)
    renamed = hub.get("/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key}").json()
    assert any(link["id"] == "AW1X" for o in renamed for link in o["links"])


def test_a_plan_without_api_access_closes_its_keys(cast: Cast, key_a: NewKey) -> None:
    from billing.models import Subscription, SubscriptionStatus

    assert call(key_a, "opinions").status_code == 200  # no subscription: as before billing
    row = Subscription.objects.create(
        reference="organisation:api-test",
        organisation=cast.org_a,
        plan="essentials",  # the GP practice plan has no API access
        status=SubscriptionStatus.ACTIVE,
    )
    from django.core.cache import cache

    cache.clear()
    refused = call(key_a, "opinions")
    assert refused.status_code == 403
    assert "no API access" in refused.content.decode()
    row.plan = "organisation"
    row.save()
    cache.clear()
    assert call(key_a, "opinions").status_code == 200
