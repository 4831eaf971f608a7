"""You said, we did on the hub: only when the organisation publishes it, only its own
changes made, everything escaped."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import resolve, reverse
from django_tenants.utils import tenant_context

from dashboards.reports.public import is_published, set_published, you_said_we_did_page
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.reports.test_reports import REPLY, publish, respond

pytestmark = pytest.mark.django_db

PATH = "/organisations/{}/you-said-we-did/"


def test_unpublished_is_not_found_and_not_linked(cast: Cast) -> None:
    hub = client_for(None)
    assert hub.get(PATH.format(cast.org_a.slug)).status_code == 404
    assert "you-said-we-did" not in hub.get(f"/organisations/{cast.org_a.slug}/").content.decode()
    assert hub.get(PATH.format("no-such-organisation")).status_code == 404


def test_published_lists_changes_made_escaped(cast: Cast) -> None:
    made = publish(cast, title="Bell <script>alert(1)</script>")
    respond(cast, made, ChangeStatus.MADE, "Call bells <b>fixed</b> on every bay")
    planned = publish(cast, title="Planned only")
    respond(cast, planned, ChangeStatus.PLANNED, "Something later")
    set_published(cast.org_a, publish=True)
    assert is_published(cast.org_a) and not is_published(cast.org_b)
    hub = client_for(None)
    page = hub.get(PATH.format(cast.org_a.slug))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Call bells &lt;b&gt;fixed&lt;/b&gt; on every bay" in body
    assert "<script>alert(1)</script>" not in body and "<b>fixed</b>" not in body
    assert "Planned only" not in body and "Something later" not in body
    organisation = hub.get(f"/organisations/{cast.org_a.slug}/").content.decode()
    assert PATH.format(cast.org_a.slug) in organisation
    # Another organisation's page shows none of A's changes, and is not published.
    assert hub.get(PATH.format(cast.org_b.slug)).status_code == 404
    set_published(cast.org_b, publish=True)
    other = hub.get(PATH.format(cast.org_b.slug)).content.decode()
    assert "Call bells" not in other and "No changes recorded yet." in other


def test_an_administrator_publishes_and_withdraws_it(cast: Cast) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    assert admin.post("/reports/public-page/", {"publish": "yes"}).status_code == 302
    assert is_published(cast.org_a)
    assert client_for(None).get(PATH.format(cast.org_a.slug)).status_code == 200
    assert admin.post("/reports/public-page/", {"publish": "no"}).status_code == 302
    assert not is_published(cast.org_a)
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.post("/reports/public-page/", {"publish": "yes"}).status_code == 403
    assert not is_published(cast.org_a)


def test_the_page_answers_at_its_hub_url_with_only_that_organisations_changes(
    cast: Cast,
) -> None:
    path_a, path_b = PATH.format(cast.org_a.slug), PATH.format(cast.org_b.slug)
    hub_urls = settings.PUBLIC_SCHEMA_URLCONF
    assert reverse("hub:you_said_we_did", args=[cast.org_a.slug], urlconf=hub_urls) == path_a
    assert resolve(path_a, urlconf=hub_urls).func is you_said_we_did_page
    made_a = publish(cast, title="Bells at night")
    respond(cast, made_a, ChangeStatus.MADE, "Call bells answered within five minutes")
    told_b = tell_and_publish(cast, [cast.ward_b], title="Nowhere to park")
    with tenant_context(cast.org_b):
        publish_response(
            Story.objects.get(public_id=told_b.public_story.pk),
            Draft(REPLY, ChangeStatus.MADE, "A second car park opened"),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )
    set_published(cast.org_a, publish=True)
    hub = client_for(None)

    page_a = hub.get(path_a)
    assert page_a.status_code == 200
    body_a = page_a.content.decode()
    assert "Call bells answered within five minutes" in body_a
    assert "second car park" not in body_a and "Nowhere to park" not in body_a
    assert (
        f'<a href="{path_a}">You said, we did</a>'
        in hub.get(f"/organisations/{cast.org_a.slug}/").content.decode()
    )
    # B has not published: its changes are nowhere on the hub, and its page links to none.
    assert hub.get(path_b).status_code == 404
    assert path_b not in hub.get(f"/organisations/{cast.org_b.slug}/").content.decode()
    set_published(cast.org_b, publish=True)
    body_b = hub.get(path_b).content.decode()
    assert "A second car park opened" in body_b and "Call bells" not in body_b
