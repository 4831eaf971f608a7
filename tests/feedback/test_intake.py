"""Telling a story: the hub form, the widget, the kiosk, assisted posting, and bad input."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from feedback.hub.models import Submission
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for
from tests.feedback.test_story_path import story_form

pytestmark = pytest.mark.django_db


def test_the_form_explains_what_the_email_is_for_and_works_without_javascript(cast: Cast) -> None:
    page = client_for(None).get("/tell/").content.decode()
    assert "Without it you will not hear about responses" in page
    assert '<label for="id_title">' in page
    assert "<script" not in page  # nothing on the form needs JavaScript


def test_searching_keeps_what_was_typed(cast: Cast) -> None:
    response = client_for(None).post(
        "/tell/",
        {"action": "search", "q": "eye", "title": "Half-typed title", "services": [cast.ward_a.pk]},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="Half-typed title"' in body
    assert "Alpha Eye Clinic" in body
    assert f'value="{cast.ward_a.pk}" id="id_services_0" checked' in body
    assert Submission.objects.count() == 0


def test_what_happens_next_depends_on_the_email(cast: Cast) -> None:
    hub = client_for(None)
    with_email = hub.get(hub.post("/tell/", story_form([cast.ward_a.pk]))["Location"])
    assert "We will email you" in with_email.content.decode()
    without = hub.get(hub.post("/tell/", story_form([cast.ward_a.pk], email=""))["Location"])
    assert "cannot tell you about responses" in without.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Give your story a title."),
        (
            {"what_was_good": "", "what_could_be_improved": "", "how_it_felt": ""},
            "what_was_good",
            "at least one box",
        ),
        ({"what_was_good": "word " * 1001}, "what_was_good", "1,000 words or fewer"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"email": "not-an-address"}, "email", "valid email address"),
        ({"postcode": "HELLO"}, "postcode", "UK postcode"),
        ({"consent": ""}, "consent", "Agree to the terms"),
        ({"author_role": "astronaut"}, "author_role", "Select a valid choice"),
        ({"services": []}, "services", "Choose at least one service"),
        ({"services": ["999999"]}, "services", "Select a valid choice"),
        ({"assisted": "on", "assisted_by": ""}, "assisted_by", "Say who you are"),
        ({"what_was_good": "nul\x00byte"}, "what_was_good", "Null characters"),
    ],
)
def test_bad_input_gets_a_clear_message_by_the_field_and_nothing_is_saved(
    cast: Cast, overrides: dict[str, object], field: str, message: str
) -> None:
    response = client_for(None).post("/tell/", story_form([cast.ward_a.pk], **overrides))
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body
    assert message in body
    assert f'href="#id_{field}' in body
    assert Submission.objects.count() == 0


def test_html_and_script_are_kept_as_text_and_shown_escaped(cast: Cast) -> None:
    from tests.conftest import tell_and_publish

    hostile = "<script>alert('x')</script><b onmouseover=alert(1)>bold</b>"
    published = tell_and_publish(
        cast, [cast.ward_a], title=f"Title {hostile}", what_was_good=f"Body {hostile}"
    )
    story = published.public_story
    assert hostile in story.body  # stored as typed
    page = client_for(None).get(f"/stories/{story.pk}/").content.decode()
    assert "<script>alert" not in page
    assert "<b onmouseover" not in page
    assert "&lt;script&gt;" in page


def test_the_honeypot_stops_bots_with_a_plain_429(cast: Cast) -> None:
    response = client_for(None).post("/tell/", story_form([cast.ward_a.pk], website="spam.example"))
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/plain")
    assert Submission.objects.count() == 0


def test_floods_from_one_address_are_stopped_with_a_429(cast: Cast, settings: object) -> None:
    settings.PUBLIC_FORM_RATE_LIMIT = 3
    hub = client_for(None)
    statuses = [hub.post("/tell/", story_form([cast.ward_a.pk])).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert Submission.objects.count() == 3
    other = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.9.9.9")
    assert other.post("/tell/", story_form([cast.ward_a.pk])).status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {"action": "send"},
        {"action": "send", "services": "abc"},
        {"action": "send", "author_age_group": ["a", "b"], "title": ["x"] * 5},
        {"action": "search", "q": "x" * 5000},
        {"action": "unknown"},
        {},
    ],
)
def test_no_input_causes_a_server_error(cast: Cast, data: dict[str, object]) -> None:
    response = client_for(None).post("/tell/", data)
    assert response.status_code in (200, 400)


def test_assisted_posting_is_recorded_as_such(cast: Cast) -> None:
    client_for(None).post(
        "/tell/",
        story_form([cast.ward_a.pk], assisted="on", assisted_by="Jan, volunteer on Ward One"),
    )
    submission = Submission.objects.get()
    assert submission.route == "assisted"
    assert submission.assisted_by == "Jan, volunteer on Ward One"
    with schema_context("public"):
        assert AuditEvent.objects.filter(
            action="submission.assisted", target_id=str(submission.pk)
        ).exists()


def test_the_widget_is_scoped_to_its_organisation_and_framed_only_by_its_hosts(
    cast: Cast,
) -> None:
    hub = client_for(None)
    page = hub.get("/o/alpha/widget/")
    body = page.content.decode()
    assert "Alpha Ward One" in body and "Beta Private Ward" not in body
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]

    cast.org_a.embed_hosts = ["www.alpha.example", "*.alpha-trust.example"]
    cast.org_a.save(update_fields=["embed_hosts"])
    try:
        page = hub.get("/o/alpha/widget/")
        policy = page["Content-Security-Policy"]
        assert "frame-ancestors 'self' www.alpha.example *.alpha-trust.example" in policy
        assert "X-Frame-Options" not in page
        # B's widget is not framed by A's hosts.
        assert "frame-ancestors 'none'" in hub.get("/o/beta/widget/")["Content-Security-Policy"]
    finally:
        cast.org_a.embed_hosts = []
        cast.org_a.save(update_fields=["embed_hosts"])


def _widget_token(client: Client) -> str:
    page = client.get("/o/alpha/widget/").content.decode()
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def test_the_widget_refuses_services_of_another_organisation(cast: Cast) -> None:
    hub = client_for(None)
    refused = {**story_form([cast.ward_b.pk]), "form_token": _widget_token(hub)}
    response = hub.post("/o/alpha/widget/", refused)
    assert response.status_code == 400
    assert Submission.objects.count() == 0
    accepted = {**story_form([cast.ward_a.pk]), "form_token": _widget_token(hub)}
    response = hub.post("/o/alpha/widget/", accepted)
    assert response.status_code == 302
    assert Submission.objects.get().route == "widget"


def test_the_widget_script_writes_the_iframe(cast: Cast) -> None:
    script = client_for(None).get("/o/alpha/widget.js")
    assert script["Content-Type"].startswith("text/javascript")
    assert "http://localhost/o/alpha/widget/" in script.content.decode().replace("\\u002D", "-")


def test_the_kiosk_has_no_email_field_and_resets_itself(cast: Cast) -> None:
    hub = client_for(None)
    page = hub.get(f"/o/alpha/kiosk/{cast.ward_a.pk}/").content.decode()
    assert 'name="email"' not in page and 'name="postcode"' not in page
    assert "Alpha Ward One" in page
    assert "kiosk.js" in page and 'data-kiosk-idle-seconds="120"' in page

    data = story_form([cast.ward_a.pk])
    del data["email"], data["postcode"]
    sent = hub.post(f"/o/alpha/kiosk/{cast.ward_a.pk}/", data)
    assert sent.status_code == 302
    thanks = hub.get(sent["Location"]).content.decode()
    assert f'content="15;url=/o/alpha/kiosk/{cast.ward_a.pk}/"' in thanks
    submission = Submission.objects.get()
    assert submission.route == "kiosk" and submission.email == ""


def test_a_kiosk_for_another_organisations_service_is_not_found(cast: Cast) -> None:
    assert client_for(None).get(f"/o/alpha/kiosk/{cast.ward_b.pk}/").status_code == 404
    assert client_for(None).get("/o/no-such-org/kiosk/").status_code == 404
