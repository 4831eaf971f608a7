"""The public privacy notice at /privacy/: what is kept, for how long (the same settings the
nightly retention task reads), who sees what, each right and how to use it; linked from the
story form and the hub's footer; on the hub only."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.conftest import AUTHOR_EMAIL, Cast, client_for, sign_in, tell

pytestmark = pytest.mark.django_db


def notice(**headers: str) -> str:
    response = client_for(None).get("/privacy/", **headers)
    assert response.status_code == 200
    return response.content.decode()


def text_of(page: str) -> str:
    """The words a reader sees, without markup, on one line."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_notice_is_at_the_agreed_address() -> None:
    assert reverse("hub:privacy", urlconf="config.urls_hub") == "/privacy/"


def test_the_notice_gives_the_retention_periods_the_task_uses() -> None:
    words = text_of(notice())
    assert "deleted a year (365 days) after the last thing that happened to your story" in words
    assert "deleted 90 days (90 days) after the moderator's decision" in words
    assert "stays on Carevoice until you ask for it to be withdrawn" in words
    assert "Audit records" in words


@override_settings(AUTHOR_CONTACT_RETENTION_DAYS=730, REJECTED_TEXT_RETENTION_DAYS=30)
def test_changing_the_settings_changes_what_the_notice_promises() -> None:
    words = text_of(notice())
    assert "deleted 2 years (730 days) after the last thing" in words
    assert "deleted 30 days (30 days) after the moderator's decision" in words
    assert "365" not in words and "90 days" not in words


def test_the_notice_says_what_is_kept_and_who_sees_it() -> None:
    words = text_of(notice())
    assert "Your email address and postcode" in words
    assert "stored encrypted, and are never published or shown to the organisations" in words
    assert "Carevoice's moderators" in words and "see everything you send" in words
    assert "They are told only the day it was sent, not the time" in words
    assert "They never see your email address or postcode" in words
    assert "Anyone can read a published story" in words
    assert "we tell the safeguarding contacts of the organisations your story is about" in words


def test_the_notice_explains_each_right_and_how_to_use_it() -> None:
    page = notice()
    words = text_of(page)
    for heading in (
        "See what we hold",
        "Download a copy",
        "Withdraw your story",
        "Have something corrected",
        "Object to how we use it",
    ):
        assert f">{heading}</h3>" in page, heading
    assert '"Your story" link' in words
    # Authors without an email address have their own form.
    assert f'href="{reverse("hub:your_story_ask", urlconf="config.urls_hub")}"' in page
    assert "something only its author would know" in words
    # The regulator, the controller and where to write.
    assert "Information Commissioner's Office" in words
    assert 'href="https://ico.org.uk/make-a-complaint/"' in page
    assert "The data controller, responsible for your information on Carevoice, is Carevoice" in (
        words
    )
    assert 'href="mailto:privacy@' in page


@override_settings(
    DATA_CONTROLLER="Carevoice Ltd, 1 Example Street, Leeds", PRIVACY_CONTACT="dpo@x.example"
)
def test_the_controller_and_contact_come_from_settings() -> None:
    page = notice()
    assert "Carevoice Ltd, 1 Example Street, Leeds" in page
    assert 'href="mailto:dpo@x.example"' in page


def test_the_story_forms_and_the_hub_footer_link_to_the_notice(cast: Cast) -> None:
    hub = client_for(None)
    form = hub.get("/tell/").content.decode()
    consent = form.index('name="consent"')
    link = form.index('href="/privacy/"')
    # Beside the consent box, before the button that sends the story.
    assert consent < link < form.index('value="send"')
    kiosk = hub.get(f"/o/{cast.org_a.slug}/kiosk/").content.decode()
    assert 'href="/privacy/"' in kiosk
    for page in ("/", "/stories/"):
        assert 'href="/privacy/"' in hub.get(page).content.decode(), page


def test_the_notice_is_public_and_costs_the_reader_nothing() -> None:
    """Anyone may read it: no sign-in, no cookie set, nothing that stops it being cached,
    and it answers only reading."""
    response = client_for(None).get("/privacy/")
    assert response.status_code == 200
    assert not response.cookies
    assert "no-store" not in response.get("Cache-Control", "")
    assert "no-cache" not in response.get("Cache-Control", "")
    assert client_for(None).head("/privacy/").status_code == 200
    assert client_for(None).post("/privacy/").status_code == 405


def test_the_notice_is_on_the_hub_only(cast: Cast) -> None:
    """An organisation's workspace has no privacy page of its own, and its pages do not link
    to one that would not be there."""
    response = client_for(cast.org_a).get("/privacy/")
    assert response.status_code == 404
    workspace = client_for(cast.org_a)
    sign_in(workspace, cast.admin_a.email)
    assert 'href="/privacy/"' not in workspace.get("/").content.decode()


def test_the_notice_shows_nobody_anything_of_an_author(cast: Cast) -> None:
    """The same page for everyone, signed in or not: it holds no one's details."""
    tell([cast.ward_a])
    moderator = client_for(None)
    sign_in(moderator, cast.moderator.email)
    signed_in = moderator.get("/privacy/")
    assert signed_in.status_code == 200
    assert AUTHOR_EMAIL not in signed_in.content.decode()
    assert AUTHOR_EMAIL not in notice()
