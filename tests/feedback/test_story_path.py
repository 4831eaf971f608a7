"""The whole path: the hub form, moderation, publication, the public page and the API."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from feedback.apikeys import create_api_key
from feedback.hub.models import PublicStory, Submission, SubmissionState
from feedback.models import Story
from tenants.audit.models import AuditEvent
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def story_form(listing_ids: list[int], **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "action": "send",
        "services": listing_ids,
        "title": "Ward One were wonderful",
        "what_was_good": "Dr Khan explained my operation clearly and the nurses were kind.",
        "what_could_be_improved": "The discharge took all day.",
        "how_it_felt": "Safe and listened to.",
        "author_role": "patient",
        "author_age_group": "65-74",
        "nickname": "Grandad B",
        "email": AUTHOR_EMAIL,
        "postcode": AUTHOR_POSTCODE,
        "consent": "on",
    }
    data.update(overrides)
    return data


def moderator_client(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def test_a_story_goes_from_the_form_through_moderation_to_the_page_and_the_api(cast: Cast) -> None:
    hub = client_for(None)
    # Finding the service without JavaScript: the search is a form post.
    found = hub.post("/tell/", {"action": "search", "q": "Alpha Ward"})
    assert "Alpha Ward One" in found.content.decode()

    sent = hub.post("/tell/", story_form([cast.ward_a.pk]))
    assert sent.status_code == 302
    assert hub.get(sent["Location"]).status_code == 200
    submission = Submission.objects.get(title="Ward One were wonderful")
    assert submission.state == SubmissionState.PENDING
    assert not PublicStory.objects.filter(title=submission.title).exists()

    moderator = moderator_client(cast)
    queue = moderator.get("/moderation/").content.decode()
    assert "Ward One were wonderful" in queue
    page = moderator.get(f"/moderation/{submission.pk}/").content.decode()
    assert "<mark" in page and "Dr Khan" in page  # a name after a title is highlighted

    published = moderator.post(
        f"/moderation/{submission.pk}/",
        {
            "action": "publish",
            "title": submission.title,
            "what_was_good": submission.what_was_good,
            "what_could_be_improved": submission.what_could_be_improved,
            "how_it_felt": submission.how_it_felt,
            "redact": ["what_was_good:0"],
            "finding-what_was_good-0": "Dr Khan",
            "replacement-what_was_good-0": "[name removed]",
            "criticality": "minimally critical",
            "tags": ["what was good:explained clearly", "feelings:safe"],
            "services": [cast.ward_a.pk],
        },
    )
    assert published.status_code == 302, published.content.decode()[:2000]

    public = PublicStory.objects.get(title="Ward One were wonderful")
    assert "Dr Khan" not in public.body and "[name removed]" in public.body
    assert list(public.organisations.all()) == [cast.org_a]
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=public.pk)
        assert story.criticality == "minimally critical"
        assert [s.name for s in story.services.all()] == ["Alpha Ward One"]
        assert {t.name for t in story.tags.all()} == {"explained clearly", "safe"}
    with tenant_context(cast.org_b):
        assert not Story.objects.filter(public_id=public.pk).exists()

    story_page = client_for(None).get(f"/stories/{public.pk}/").content.decode()
    assert "Ward One were wonderful" in story_page
    assert "[name removed]" in story_page
    assert "minimally critical" not in story_page.lower()  # criticality is for staff only
    assert "Grandad B" in story_page

    key = create_api_key(cast.org_a, name="analysts").secret
    opinions = (
        client_for(None)
        .get("/api/v2/opinions", HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key}")
        .json()
    )
    assert [o["id"] for o in opinions] == [public.pk]
    assert opinions[0]["criticality"] == "minimally critical"

    with schema_context("public"):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"moderation.edited", "moderation.published"} <= actions


def test_a_story_about_two_organisations_is_written_to_both(cast: Cast) -> None:
    from tests.conftest import tell_and_publish

    published = tell_and_publish(cast, [cast.ward_a, cast.ward_b])
    assert {schema for schema, _ in published.stories} == {"org_alpha", "org_beta"}
    for org in (cast.org_a, cast.org_b):
        with tenant_context(org):
            assert Story.objects.filter(public_id=published.public_story.pk).count() == 1
