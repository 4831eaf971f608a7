"""The widget's form works without cookies: a signed, single-use form token and an Origin
check stand in for Django's CSRF cookie, which a frame on another site never sends."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.test import Client

from feedback.hub.models import Submission
from tests.conftest import Cast, client_for
from tests.feedback.test_story_path import story_form

pytestmark = pytest.mark.django_db

WIDGET = "/o/alpha/widget/"
TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')


def browser_in_a_frame() -> Client:
    """A client that, like a browser in a cross-site frame, has no cookies to send, and
    whose CSRF checks are on as they are for real browsers."""
    return client_for(None, enforce_csrf_checks=True)


@contextmanager
def later_by(seconds: int) -> Iterator[None]:
    """The clock (and so the signer's timestamps) `seconds` ahead."""
    real = time.time
    with mock.patch("time.time", lambda: real() + seconds):
        yield


def fresh_token(client: Client, path: str = WIDGET) -> str:
    page = client.get(path)
    assert page.status_code == 200
    (token,) = TOKEN.findall(page.content.decode())
    return token


def test_a_story_with_a_valid_token_and_no_cookie_reaches_moderation(cast: Cast) -> None:
    client = browser_in_a_frame()
    page = client.get(WIDGET)
    # The widget asks the browser to keep nothing: no CSRF cookie, no session.
    assert page.cookies == {} and "Set-Cookie" not in page
    (token,) = TOKEN.findall(page.content.decode())

    sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token))

    assert sent.status_code == 302
    assert sent["Location"] == "/o/alpha/widget/sent/?email=1"
    submission = Submission.objects.get()
    assert (submission.state, submission.route) == ("pending", "widget")
    assert list(submission.services.all()) == [cast.ward_a]
    thanks = client.get(sent["Location"])
    assert thanks.status_code == 200 and "Set-Cookie" not in thanks
    assert "Thank you for your story" in thanks.content.decode()


def test_the_widget_page_is_never_cached_because_its_token_is_for_one_reader(cast: Cast) -> None:
    page = browser_in_a_frame().get(WIDGET)
    assert "no-store" in page["Cache-Control"]
    assert "private" in page["Cache-Control"]


def assert_refused_with_text_kept(response: object, message: str) -> None:
    body = response.content.decode()
    assert response.status_code == 400
    assert message in body
    # What the author typed is still there, with a fresh token to send it again.
    assert 'value="Ward One were wonderful"' in body
    assert "Dr Khan explained my operation clearly" in body
    assert len(TOKEN.findall(body)) == 1
    assert Submission.objects.count() == 0


def test_a_missing_token_is_refused_and_the_story_is_kept(cast: Cast) -> None:
    response = browser_in_a_frame().post(WIDGET, story_form([cast.ward_a.pk]))
    assert_refused_with_text_kept(response, "Your story has not been sent yet")


def test_a_tampered_token_is_refused_and_the_story_is_kept(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    value, _, signature = token.rpartition(":")
    forged = f"{value}:{signature[::-1]}"
    response = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=forged))
    assert_refused_with_text_kept(response, "could not check that this form came from this page")


def test_an_expired_token_is_refused_and_the_story_is_kept(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    with later_by(2 * 60 * 60 + 60):  # the form was left open for two hours and a minute
        response = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token))
        assert_refused_with_text_kept(response, "This form was open for too long")
        # The fresh token in that page sends the story.
        (again,) = TOKEN.findall(response.content.decode())
        sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=again))
    assert sent.status_code == 302
    assert Submission.objects.count() == 1


def test_a_token_sends_one_story_only(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    first = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token))
    assert first.status_code == 302
    replayed = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token))
    body = replayed.content.decode()
    assert replayed.status_code == 400
    assert "This form has already sent a story" in body
    assert 'value="Ward One were wonderful"' in body
    assert Submission.objects.count() == 1


def test_a_story_with_errors_gets_a_fresh_token_to_send_it_again(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    invalid = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token, consent=""))
    assert invalid.status_code == 400
    assert "Agree to the terms" in invalid.content.decode()
    (again,) = TOKEN.findall(invalid.content.decode())
    sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=again))
    assert sent.status_code == 302
    assert Submission.objects.count() == 1


def test_searching_for_a_service_needs_no_cookie_either(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    found = client.post(
        WIDGET, {"action": "search", "q": "eye", "title": "Half-typed", "form_token": token}
    )
    body = found.content.decode()
    assert found.status_code == 200
    assert 'value="Half-typed"' in body and "Alpha Eye Clinic" in body
    # Searching spends nothing: the same token still sends.
    sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=token))
    assert sent.status_code == 302


def test_a_token_for_one_organisations_widget_cannot_post_anothers(cast: Cast) -> None:
    client = browser_in_a_frame()
    alpha_token = fresh_token(client, "/o/alpha/widget/")
    response = client.post("/o/beta/widget/", story_form([cast.ward_b.pk], form_token=alpha_token))
    assert response.status_code == 400
    assert "could not check that this form came from this page" in response.content.decode()
    assert Submission.objects.count() == 0
    # B's own token works on B's widget.
    beta_token = fresh_token(client, "/o/beta/widget/")
    sent = client.post("/o/beta/widget/", story_form([cast.ward_b.pk], form_token=beta_token))
    assert sent.status_code == 302


def test_the_widget_still_refuses_services_of_another_organisation(cast: Cast) -> None:
    client = browser_in_a_frame()
    refused = client.post(WIDGET, story_form([cast.ward_b.pk], form_token=fresh_token(client)))
    assert refused.status_code == 400
    assert Submission.objects.count() == 0
    sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=fresh_token(client)))
    assert sent.status_code == 302
    assert Submission.objects.get().route == "widget"


def test_the_honeypot_still_stops_bots(cast: Cast) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    response = client.post(
        WIDGET, story_form([cast.ward_a.pk], form_token=token, website="http://spam.example")
    )
    assert response.status_code == 429
    assert Submission.objects.count() == 0


def test_the_public_form_rate_limit_still_applies(cast: Cast, settings: object) -> None:
    settings.PUBLIC_FORM_RATE_LIMIT = 2
    client = browser_in_a_frame()
    for _ in range(2):
        sent = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=fresh_token(client)))
        assert sent.status_code == 302
    refused = client.post(WIDGET, story_form([cast.ward_a.pk], form_token=fresh_token(client)))
    assert refused.status_code == 429
    assert "Too many stories" in refused.content.decode()
    assert Submission.objects.count() == 2


@pytest.fixture
def alpha_embedded_on_its_site(cast: Cast) -> None:
    cast.org_a.embed_hosts = ["www.alpha.example", "*.alpha-trust.example:8443"]
    cast.org_a.save(update_fields=["embed_hosts"])


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost",  # the hub itself: the form inside the frame
        "http://www.alpha.example",
        "https://www.alpha.example",
        "https://news.alpha-trust.example:8443",
    ],
)
def test_a_post_from_the_hub_or_a_listed_site_is_accepted(
    cast: Cast, alpha_embedded_on_its_site: None, origin: str
) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    sent = client.post(
        WIDGET, story_form([cast.ward_a.pk], form_token=token), headers={"Origin": origin}
    )
    assert sent.status_code == 302
    assert Submission.objects.count() == 1


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "https://www.alpha.example.evil.example",
        "https://alpha-trust.example:8443",  # the wildcard covers subdomains only
        "https://news.alpha-trust.example",  # not the listed port
        "http://www.alpha.example:8080",
        "http://beta.localhost",
        "not a url",
    ],
)
def test_a_post_from_anywhere_else_is_refused(
    cast: Cast, alpha_embedded_on_its_site: None, origin: str
) -> None:
    client = browser_in_a_frame()
    token = fresh_token(client)
    response = client.post(
        WIDGET, story_form([cast.ward_a.pk], form_token=token), headers={"Origin": origin}
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert "can only be sent from" in body
    assert Submission.objects.count() == 0
    # Shown inside the frame, where the author is.
    assert "frame-ancestors 'self' www.alpha.example" in response["Content-Security-Policy"]


def test_the_kiosk_keeps_its_csrf_cookie_because_it_is_never_framed(
    cast: Cast, alpha_embedded_on_its_site: None
) -> None:
    # A kiosk is the hub's own page, opened at the top of a tablet's browser: its cookies
    # are first-party, so Django's CSRF check stays. No site may frame it, even a listed one.
    page = browser_in_a_frame().get("/o/alpha/kiosk/")
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
