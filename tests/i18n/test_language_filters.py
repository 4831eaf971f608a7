"""The language a story was told in is a filter: in the staff inbox and in the public API v2
(issue #18, "The language is recorded, and it is a filter in the inbox and the API")."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from feedback.apikeys import create_api_key
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db


def _two_stories(cast: Cast) -> tuple[int, int]:
    welsh = tell_and_publish(cast, [cast.ward_a], title="Nyrsys caredig", language="cy")
    english = tell_and_publish(cast, [cast.ward_a], title="Kind nurses")
    return welsh.public_story.pk, english.public_story.pk


def test_the_inbox_filters_by_language(cast: Cast) -> None:
    _two_stories(cast)
    staff = client_for(cast.org_a)
    assert sign_in(staff, cast.admin_a.email).status_code == 302
    every = staff.get("/stories/").content.decode()
    assert "Nyrsys caredig" in every and "Kind nurses" in every
    assert 'name="language"' in every  # the filter is on the form
    welsh = staff.get("/stories/", {"language": "cy"}).content.decode()
    assert "Nyrsys caredig" in welsh and "Kind nurses" not in welsh
    assert '<span class="tag" lang="cy">Cymraeg</span>' in welsh
    english = staff.get("/stories/", {"language": "en"}).content.decode()
    assert "Kind nurses" in english and "Nyrsys caredig" not in english


def test_a_bad_inbox_language_is_a_clear_400(cast: Cast) -> None:
    staff = client_for(cast.org_a)
    sign_in(staff, cast.admin_a.email)
    response = staff.get("/stories/", {"language": "klingon"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_inbox_language_filter_sees_only_its_own_organisation(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_b], title="Stori Beta", language="cy")
    staff = client_for(cast.org_a)
    sign_in(staff, cast.admin_a.email)
    assert "Stori Beta" not in staff.get("/stories/", {"language": "cy"}).content.decode()


def _api(secret: str, **params: str) -> object:
    return client_for(None).get(
        "/api/v2/opinions", params, HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {secret}"
    )


def test_the_api_shows_and_filters_by_language(cast: Cast) -> None:
    welsh_id, english_id = _two_stories(cast)
    key = create_api_key(cast.org_a, name="Analysts", actor=cast.admin_a)
    every = {item["id"]: item["language"] for item in _api(key.secret).json()}
    assert every == {welsh_id: "cy", english_id: "en"}
    assert [item["id"] for item in _api(key.secret, language="cy").json()] == [welsh_id]
    assert [item["id"] for item in _api(key.secret, language="EN").json()] == [english_id]
    detail = client_for(None).get(
        f"/api/v2/opinions/{welsh_id}", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key.secret}"
    )
    assert detail.json()["language"] == "cy"


def test_a_bad_api_language_is_a_clear_400(cast: Cast) -> None:
    key = create_api_key(cast.org_a, name="Analysts", actor=cast.admin_a)
    response = _api(key.secret, language="fr")
    assert response.status_code == 400
    assert "'language' is one of: en, cy" in response.content.decode()


def test_the_api_language_filter_sees_only_readable_stories(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_b], title="Stori Beta", language="cy")
    key = create_api_key(cast.org_a, name="Analysts", actor=cast.admin_a)
    assert _api(key.secret, language="cy").json() == []


def test_the_openapi_description_lists_the_language() -> None:
    spec = client_for(None).get("/api/v2/openapi.json").json()
    parameters = spec["paths"]["/api/v2/opinions"]["get"]["parameters"]
    names = {p.get("name") or p.get("$ref", "").rsplit("/", 1)[-1] for p in parameters}
    assert "language" in names
    opinion = spec["components"]["schemas"]["Opinion"]["properties"]["language"]
    assert opinion["enum"] == ["en", "cy"]


def test_the_tenant_copy_keeps_the_language(cast: Cast) -> None:
    from feedback.models import Story

    published = tell_and_publish(cast, [cast.ward_a], title="Nyrsys", language="cy")
    with tenant_context(cast.org_a):
        assert Story.objects.get(public_id=published.public_story.pk).language == "cy"
