"""A story can name several organisations; each one's progress on it is its own. When A
responds, B's public summary, B's organisation page and B's API still show the story
unanswered by B, while A's show it answered; and each organisation's dashboards count only
its own work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.queries import Scope, kpis
from feedback.apikeys import create_api_key
from feedback.browsing import organisation_summary
from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse, PublicStory, PublicStoryOrganisation
from feedback.models import Response, Story
from feedback.responding import (
    Draft,
    ResponseToImport,
    import_responses,
    publish_response,
    record_change,
)
from tenants import ratelimit
from tenants.models import Organisation
from tests.conftest import Cast, client_for, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "I am sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We are looking at how beds free up earlier in the day. "
    "Rita Responder, Ward Manager"
)


@pytest.fixture
def shared(cast: Cast) -> int:
    """The public id of a story about a ward at A and a ward at B."""
    return tell_and_publish(cast, [cast.ward_a, cast.ward_b]).public_story.pk


def _story(organisation: Organisation, public_id: int) -> Story:
    with tenant_context(organisation):
        return Story.objects.get(public_id=public_id)


def _a_responds(cast: Cast, public_id: int) -> Response:
    with tenant_context(cast.org_a):
        return publish_response(
            _story(cast.org_a, public_id),
            Draft(REPLY),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )


def _page_figures(organisation: Organisation) -> tuple[str, str, str]:
    """(stories published, % responded to, changes made) on the hub's organisation page."""
    page = client_for(None).get(f"/organisations/{organisation.slug}/")
    assert page.status_code == 200
    figures = re.findall(r'<p class="figure">([^<]*)</p>', page.content.decode())
    return tuple(figures)


def _api_progress(organisation: Organisation, public_id: int) -> tuple[str, str]:
    """The story's progress as the organisation's key reads it: (one opinion, the list)."""
    key = create_api_key(organisation, name="Analysts")
    hub = client_for(None)
    headers = {"HTTP_AUTHORIZATION": f"SUBSCRIPTION_KEY {key.secret}"}
    from feedback import api

    ratelimit.reset(api.API_RATE, str(key.api_key.pk))
    one = hub.get(f"/api/v2/opinions/{public_id}", **headers)
    assert one.status_code == 200, one.content.decode()[:300]
    listed = hub.get("/api/v2/opinions", {"dateofpublicationorder": "descending"}, **headers)
    assert listed.status_code == 200, listed.content.decode()[:300]
    (in_list,) = [o["progress"] for o in listed.json() if o["id"] == public_id]
    return one.json()["progress"], in_list


def test_when_a_responds_b_still_shows_the_story_unanswered(cast: Cast, shared: int) -> None:
    _a_responds(cast, shared)

    a, b = organisation_summary(cast.org_a), organisation_summary(cast.org_b)
    assert (a.stories, a.responded, a.changes) == (1, 1, 0)
    assert (b.stories, b.responded, b.changes) == (1, 0, 0)
    assert _page_figures(cast.org_a) == ("1", "100%", "0")
    assert _page_figures(cast.org_b) == ("1", "0%", "0")
    assert _api_progress(cast.org_a, shared) == ("responded", "responded")
    assert _api_progress(cast.org_b, shared) == ("unheard", "unheard")


def test_a_change_recorded_by_a_is_not_bs_change(cast: Cast, shared: int) -> None:
    response = _a_responds(cast, shared)
    with tenant_context(cast.org_a):
        record_change(
            response, ChangeStatus.MADE, "A discharge coordinator", actor=cast.responder_a
        )

    assert organisation_summary(cast.org_a).changes == 1
    assert organisation_summary(cast.org_b).changes == 0
    assert _page_figures(cast.org_b) == ("1", "0%", "0")
    assert _api_progress(cast.org_b, shared) == ("unheard", "unheard")

    # B then answers too: B counts its own response, and still no change of its own.
    with tenant_context(cast.org_b):
        publish_response(
            _story(cast.org_b, shared),
            Draft(REPLY.replace("Alpha", "Beta")),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )
    b = organisation_summary(cast.org_b)
    assert (b.responded, b.changes) == (1, 0)
    assert _api_progress(cast.org_b, shared) == ("responded", "responded")
    assert _api_progress(cast.org_a, shared) == ("changed", "changed")
    # The story's overall progress is the furthest any organisation has taken it.
    assert PublicStory.objects.get(pk=shared).progress == "changed"


def test_imported_responses_move_only_their_organisations_progress(cast: Cast, shared: int) -> None:
    with tenant_context(cast.org_a):
        import_responses(
            [
                ResponseToImport(
                    story=_story(cast.org_a, shared),
                    responder=cast.responder_a,
                    draft=Draft(REPLY, ChangeStatus.PLANNED, "A discharge coordinator"),
                    published_at=timezone.now() - timedelta(days=1),
                )
            ]
        )
    assert organisation_summary(cast.org_a).changes == 1
    b = organisation_summary(cast.org_b)
    assert (b.responded, b.changes) == (0, 0)
    assert _api_progress(cast.org_b, shared) == ("unheard", "unheard")


def test_each_organisations_dashboard_counts_only_its_own_responses(
    cast: Cast, shared: int
) -> None:
    _a_responds(cast, shared)
    today = timezone.localdate()
    for organisation, responded in ((cast.org_a, 1), (cast.org_b, 0)):
        with tenant_context(organisation):
            figures = kpis(Scope(organisation.pk, today - timedelta(days=7), today))
            assert (figures.stories, figures.responded) == (1, responded)
        assert _story(organisation, shared).progress == ("responded" if responded else "unheard")


def test_reading_a_story_at_a_moves_only_as_progress(cast: Cast, shared: int) -> None:
    from feedback.triage import mark_heard, open_story

    with tenant_context(cast.org_b):
        mark_heard([_story(cast.org_b, shared)])
    with tenant_context(cast.org_a):
        open_story(_story(cast.org_a, shared), reader=cast.responder_a)

    assert _api_progress(cast.org_a, shared) == ("read", "read")
    assert _api_progress(cast.org_b, shared) == ("heard", "heard")
    assert PublicStory.objects.get(pk=shared).progress == "read"


def _first_responded(cast: Cast, public_id: int) -> dict[str, object]:
    links = PublicStoryOrganisation.objects.filter(publicstory_id=public_id)
    names = {cast.org_a.pk: "a", cast.org_b.pk: "b"}
    return {names[link.organisation_id]: link.first_responded_at for link in links}


def test_each_organisations_first_public_answer_is_kept_on_its_own_link(
    cast: Cast, shared: int
) -> None:
    """What the network comparison's compliance table reads instead of the responses."""
    assert _first_responded(cast, shared) == {"a": None, "b": None}
    first = _a_responds(cast, shared)
    public = PublicResponse.objects.get(pk=first.public_id)
    assert _first_responded(cast, shared) == {"a": public.published_at, "b": None}
    # A second answer from A is not its first.
    with tenant_context(cast.org_a):
        publish_response(
            _story(cast.org_a, shared),
            Draft(REPLY + " We will write again when the change is made."),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    assert _first_responded(cast, shared)["a"] == public.published_at
    # B's answer is B's.
    with tenant_context(cast.org_b):
        answer = publish_response(
            _story(cast.org_b, shared),
            Draft(REPLY.replace("Alpha", "Beta")),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )
    assert _first_responded(cast, shared)["b"] == (
        PublicResponse.objects.get(pk=answer.public_id).published_at
    )


def test_imported_answers_keep_the_earliest_as_the_first(cast: Cast, shared: int) -> None:
    now = timezone.now()
    earlier, later = now - timedelta(days=3), now - timedelta(days=1)
    with tenant_context(cast.org_a):
        story = _story(cast.org_a, shared)
        import_responses(
            [
                ResponseToImport(story, cast.responder_a, Draft(REPLY), later),
                ResponseToImport(story, cast.responder_a, Draft(REPLY + " Again."), earlier),
            ]
        )
    assert _first_responded(cast, shared) == {"a": earlier, "b": None}
    # A later import of an even earlier answer (history brought in twice) moves it back.
    with tenant_context(cast.org_a):
        import_responses(
            [
                ResponseToImport(
                    _story(cast.org_a, shared),
                    cast.responder_a,
                    Draft(REPLY + " First of all."),
                    earlier - timedelta(days=1),
                )
            ]
        )
    assert _first_responded(cast, shared)["a"] == earlier - timedelta(days=1)
