"""Reading on the hub: browse and search, story pages, organisation pages."""

from __future__ import annotations

import pytest

from tests.conftest import Cast, client_for, tell_and_publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def stories(cast: Cast) -> dict[str, int]:
    return {
        "parking": tell_and_publish(
            cast,
            [cast.ward_a],
            title="Parking nightmare",
            what_was_good="",
            what_could_be_improved="The car parking was impossible.",
            tags=["what could be improved:car parking"],
        ).public_story.pk,
        "eyes": tell_and_publish(
            cast,
            [cast.clinic_a],
            title="Sight saved",
            what_was_good="The eye clinic saved my sight.",
            tags=["feelings:grateful"],
        ).public_story.pk,
        "beta": tell_and_publish(
            cast, [cast.ward_b], title="Beta was fine", criticality="severely critical"
        ).public_story.pk,
    }


def titles(path: str) -> set[str]:
    body = client_for(None).get(path).content.decode()
    return {t for t in ("Parking nightmare", "Sight saved", "Beta was fine") if t in body}


def test_browse_filters_by_text_organisation_service_and_tag(cast: Cast, stories: dict) -> None:
    assert titles("/stories/") == {"Parking nightmare", "Sight saved", "Beta was fine"}
    assert titles("/stories/?q=parking") == {"Parking nightmare"}
    assert titles("/stories/?q=sight+saved") == {"Sight saved"}
    assert titles("/stories/?organisation=beta") == {"Beta was fine"}
    assert titles(f"/stories/?service={cast.clinic_a.pk}") == {"Sight saved"}
    assert titles("/stories/?tag=grateful") == {"Sight saved"}
    assert titles("/stories/?q=%22unbalanced&tag=&service=x") == set()


def test_criticality_is_never_shown_to_the_public(cast: Cast, stories: dict) -> None:
    for path in ("/stories/", f"/stories/{stories['beta']}/", "/organisations/beta/", "/"):
        assert "critical" not in client_for(None).get(path).content.decode().lower(), path


def test_the_organisation_page_counts_its_stories(cast: Cast, stories: dict) -> None:
    body = client_for(None).get("/organisations/alpha/").content.decode()
    assert '<p class="figure">2</p>' in body
    assert client_for(None).get("/organisations/nobody/").status_code == 404


def test_unknown_stories_are_not_found(cast: Cast) -> None:
    assert client_for(None).get("/stories/987654/").status_code == 404
