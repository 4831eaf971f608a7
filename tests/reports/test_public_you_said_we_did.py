"""You said, we did on the hub: only when the organisation publishes it, only its own
changes made, everything escaped."""

from __future__ import annotations

import pytest

from dashboards.reports.public import is_published, set_published
from feedback.vocabulary import ChangeStatus
from tests.conftest import Cast, client_for, sign_in
from tests.reports.test_reports import publish, respond

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
