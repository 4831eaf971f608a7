"""What to expect, before a story is written: not for emergencies, not a complaint (with the
organisation's own PALS details), and where to get urgent mental health help."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEvent
from tenants.models import Organisation
from tenants.pals import set_pals_details
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

NOTICE = 'aria-labelledby="what-to-expect-title"'
ALPHA_PALS = "Alpha PALS: call 0300 111 2222, Monday to Friday 9am to 5pm.\npals@alpha.example"
ACTION = "organisation.pals_details_changed"


def story_pages(cast: Cast) -> dict[str, str]:
    return {
        "hub form": "/tell/",
        "widget": "/o/alpha/widget/",
        "kiosk": "/o/alpha/kiosk/",
        "service kiosk": f"/o/alpha/kiosk/{cast.ward_a.pk}/",
    }


def give_pals_details(cast: Cast, organisation: Organisation, details: str) -> None:
    admin = cast.admin_a if organisation == cast.org_a else cast.admin_b
    with tenant_context(organisation):
        set_pals_details(organisation, details, actor=admin)


def first_field(page: str) -> int:
    """Where the first place to type is: a text box or a text area."""
    return re.search(r'<input type="text"|<textarea', page).start()


@pytest.mark.parametrize("name", ["hub form", "widget", "kiosk", "service kiosk"])
def test_every_story_form_says_what_to_expect_before_the_first_field(cast: Cast, name: str) -> None:
    response = client_for(None).get(story_pages(cast)[name])
    page = response.content.decode()
    assert response.status_code == 200
    assert NOTICE in page and '<h2 id="what-to-expect-title">' in page
    notice = page.index(NOTICE)
    assert notice < first_field(page) and notice < page.index('name="title"')
    said = page[notice : first_field(page)]
    for words in (
        "not for emergencies",
        "<strong>999</strong>",
        "<strong>NHS 111</strong>",
        "does not make a formal complaint",
        "Patient Advice and Liaison Service (PALS)",
        "choose option 2",
        "England or Wales",
        "Samaritans: call <strong>116 123</strong>",
        "text <strong>SHOUT</strong> to <strong>85258</strong>",
    ):
        assert words in said, (name, words)


def test_an_organisations_own_pals_details_show_on_its_widget_and_kiosks_only(
    cast: Cast,
) -> None:
    give_pals_details(cast, cast.org_a, ALPHA_PALS)
    hub = client_for(None)
    for url in story_pages(cast).values():
        if "/o/alpha/" in url:
            page = hub.get(url).content.decode()
            assert "Alpha PALS: call 0300 111 2222" in page, url
            assert "<br>pals@alpha.example" in page, url
    for url in ("/o/beta/widget/", "/o/beta/kiosk/", f"/o/beta/kiosk/{cast.ward_b.pk}/", "/tell/"):
        page = hub.get(url).content.decode()
        assert NOTICE in page and "0300 111 2222" not in page, url
    # Without details of its own, an organisation's authors get the general advice, by name.
    beta = hub.get("/o/beta/widget/").content.decode()
    assert "Ask Beta Hospitals NHS Trust for its PALS or complaints team" in beta
    general = hub.get("/tell/").content.decode()
    assert "Each NHS organisation has its own" in general


def test_the_hub_form_shows_the_pals_details_of_the_services_chosen(cast: Cast) -> None:
    give_pals_details(cast, cast.org_a, ALPHA_PALS)
    hub = client_for(None)
    chose_a = hub.post("/tell/", {"action": "search", "q": "", "services": [cast.ward_a.pk]})
    page = chose_a.content.decode()
    assert "Alpha PALS: call 0300 111 2222" in page
    assert page.index("0300 111 2222") < first_field(page)
    chose_b = hub.post("/tell/", {"action": "search", "q": "", "services": [cast.ward_b.pk]})
    page = chose_b.content.decode()
    assert "0300 111 2222" not in page
    assert "Ask Beta Hospitals NHS Trust for its PALS" in page


def test_html_in_pals_details_is_shown_as_text(cast: Cast) -> None:
    give_pals_details(cast, cast.org_a, '<script>alert("x")</script>\n<b>Call us</b>')
    for url in ("/o/alpha/widget/", "/o/alpha/kiosk/"):
        page = client_for(None).get(url).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<br>&lt;b&gt;Call us" in page
        assert '<script>alert("x")' not in page and "<b>Call us" not in page


def admin_of_a(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.admin_a.email).status_code == 302
    return client


def stored(organisation: Organisation) -> str:
    return Organisation.objects.get(pk=organisation.pk).pals_details


def test_an_administrator_sets_the_pals_details_and_it_is_audited(cast: Cast) -> None:
    client = admin_of_a(cast)
    page = client.get("/widget/").content.decode()
    assert 'name="pals_details"' in page and 'maxlength="1000"' in page
    hosts_before = list(Organisation.objects.get(pk=cast.org_a.pk).embed_hosts)
    response = client.post("/widget/", {"form": "pals", "pals_details": ALPHA_PALS + "\r\n"})
    assert response.status_code == 302
    assert stored(cast.org_a) == ALPHA_PALS
    assert list(Organisation.objects.get(pk=cast.org_a.pk).embed_hosts) == hosts_before
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action=ACTION)
        assert event.actor_id == cast.admin_a.pk and event.detail == {"from": "", "to": ALPHA_PALS}
    # The other organisation is untouched, and its own page does not show A's details.
    assert stored(cast.org_b) == ""
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    assert "0300 111 2222" not in other.get("/widget/").content.decode()
    with tenant_context(cast.org_b):
        assert not AuditEvent.objects.filter(action=ACTION).exists()
    # Clearing them is a change too.
    assert client.post("/widget/", {"form": "pals", "pals_details": ""}).status_code == 302
    assert stored(cast.org_a) == ""
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action=ACTION).count() == 2


@pytest.mark.parametrize("who", ["responder", "member"])
def test_only_administrators_set_the_pals_details(cast: Cast, who: str) -> None:
    user = cast.responder_a if who == "responder" else cast.member_a
    client = client_for(cast.org_a)
    assert sign_in(client, user.email).status_code == 302
    response = client.post("/widget/", {"form": "pals", "pals_details": "Call us"})
    assert response.status_code == 403
    assert stored(cast.org_a) == ""
    with tenant_context(cast.org_a):
        assert not AuditEvent.objects.filter(action=ACTION).exists()


def test_over_long_pals_details_are_refused_with_a_message(cast: Cast) -> None:
    client = admin_of_a(cast)
    response = client.post("/widget/", {"form": "pals", "pals_details": "x" * 1001})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please shorten this to 1,000 characters or fewer (it has 1,001)." in page
    assert stored(cast.org_a) == ""
    with tenant_context(cast.org_a):
        assert not AuditEvent.objects.filter(action=ACTION).exists()
    # Exactly the limit, with line breaks as browsers send them, is accepted.
    lines = ("y" * 99 + "\r\n") * 10
    assert client.post("/widget/", {"form": "pals", "pals_details": lines}).status_code == 302
    assert len(stored(cast.org_a)) == 999
