"""Welsh, and any other language (issue #18): public pages in the visitor's language (the
switch, Accept-Language, the remembered choice, an organisation's default), staff workspaces
in English, stories recorded and published in the language they were told in, and emails to
their authors in it."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from feedback.hub.models import PublicStory, Submission
from feedback.models import Story
from feedback.moderation import Decision, publish_submission
from tests.conftest import Cast, client_for
from tests.feedback.test_story_path import AUTHOR_EMAIL, story_form
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "cy" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, "the page does not declare its language"
    return match[1]


def test_tell_is_in_welsh_for_a_browser_that_asks_for_welsh(cast: Cast) -> None:
    page = client_for(None).get("/tell/", HTTP_ACCEPT_LANGUAGE="cy").content.decode()
    assert html_lang(page) == "cy"
    assert "<h1>Adrodd eich stori</h1>" in page
    assert "Rhowch deitl i&#x27;ch stori" in page  # a form label, from forms.py
    assert "Cyn i chi ddechrau" in page  # the "before you start" advice
    assert "Tell us about your care" not in page


def test_tell_is_in_english_by_default(cast: Cast) -> None:
    page = client_for(None).get("/tell/").content.decode()
    assert html_lang(page) == "en-gb"
    assert "<h1>Tell your story</h1>" in page


def test_errors_on_the_story_form_are_in_welsh(cast: Cast) -> None:
    response = client_for(None).post(
        "/tell/", story_form([cast.ward_a.pk], title=""), HTTP_ACCEPT_LANGUAGE="cy"
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Mae problem" in body
    assert "Rhowch deitl i&#x27;ch stori." in body


def test_the_switch_changes_the_language_and_the_cookie_remembers_it(cast: Cast) -> None:
    hub = client_for(None)
    page = hub.get("/tell/").content.decode()
    assert 'action="/i18n/setlang/"' in page and 'value="cy"' in page  # the switch
    assert not hub.get("/stories/").cookies  # no cookie until the visitor chooses
    # The switch sends no "next": Django's view returns to the (same-origin) referring page.
    switched = hub.post("/i18n/setlang/", {"language": "cy"}, HTTP_REFERER="http://localhost/tell/")
    assert switched.status_code == 302 and switched["Location"] == "http://localhost/tell/"
    cookie = switched.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "cy"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) == settings.SECURE_COOKIES
    # Remembered on every public page after, over the browser's own preference.
    for path in ("/tell/", "/stories/", "/privacy/", "/"):
        page = hub.get(path, HTTP_ACCEPT_LANGUAGE="en-GB").content.decode()
        assert html_lang(page) == "cy", path
    assert "Darllen straeon" in hub.get("/").content.decode()
    # And back.
    hub.post("/i18n/setlang/", {"language": "en-gb", "next": "/tell/"})
    assert (
        "<h1>Tell your story</h1>" in hub.get("/tell/", HTTP_ACCEPT_LANGUAGE="cy").content.decode()
    )


def test_the_switch_refuses_a_language_we_do_not_have_without_an_error(cast: Cast) -> None:
    hub = client_for(None)
    response = hub.post("/i18n/setlang/", {"language": "xx", "next": "/tell/"})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert html_lang(hub.get("/tell/").content.decode()) == "en-gb"


def test_the_widget_takes_the_language_from_its_address_and_remembers_it(cast: Cast) -> None:
    hub = client_for(None)
    page = hub.get("/o/alpha/widget/?language=cy")
    assert html_lang(page.content.decode()) == "cy"
    assert page.cookies[settings.LANGUAGE_COOKIE_NAME].value == "cy"
    assert 'href="?language=en-gb"' in page.content.decode()  # the widget's own switch
    assert html_lang(hub.get("/o/alpha/widget/").content.decode()) == "cy"


def test_an_organisation_can_show_welsh_by_default(cast: Cast) -> None:
    cast.org_a.default_language = "cy"
    cast.org_a.save(update_fields=["default_language"])
    english_browser = {"HTTP_ACCEPT_LANGUAGE": "en-GB"}
    for path in ("/o/alpha/widget/", "/o/alpha/kiosk/", "/organisations/alpha/"):
        page = client_for(None).get(path, **english_browser).content.decode()
        assert html_lang(page) == "cy", path
    # Only its own pages: another organisation's, and the hub's, follow the browser.
    assert (
        html_lang(client_for(None).get("/o/beta/widget/", **english_browser).content.decode())
        == "en-gb"
    )
    assert html_lang(client_for(None).get("/tell/", **english_browser).content.decode()) == "en-gb"
    # A visitor who chose English keeps it.
    chose = client_for(None)
    chose.post("/i18n/setlang/", {"language": "en-gb", "next": "/"})
    assert html_lang(chose.get("/o/alpha/widget/").content.decode()) == "en-gb"


def test_staff_workspaces_stay_in_english(cast: Cast) -> None:
    page = client_for(cast.org_a).get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="cy")
    assert html_lang(page.content.decode()) == "en-gb"
    assert "cy" not in page.get("Content-Language", "")


def test_a_story_told_in_welsh_is_recorded_published_and_answered_in_welsh(cast: Cast) -> None:
    hub = client_for(None, HTTP_ACCEPT_LANGUAGE="cy")
    response = hub.post(
        "/tell/", story_form([cast.ward_a.pk], title="Staff caredig iawn", nickname="")
    )
    assert response.status_code == 302
    submission = Submission.objects.get(title="Staff caredig iawn")
    assert submission.language == "cy"
    receipt = sent_mail_to(AUTHOR_EMAIL)
    assert [m.subject for m in receipt] == ["Rydym wedi cael eich stori"]
    assert "Diolch am ddweud wrthym am eich gofal" in receipt[0].body
    assert "Helo," in receipt[0].body
    assert "Thank you" not in receipt[0].body

    published = publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision(
            criticality="not critical",
            tag_keys=["what was good:kind staff"],
            listings=[cast.ward_a],
        ),
    )
    public = PublicStory.objects.get(pk=published.public_story.pk)
    assert public.language == "cy"
    assert "### Beth oedd yn dda" in public.body  # headings in the story's own language
    with tenant_context(cast.org_a):
        assert Story.objects.get(public_id=public.pk).language == "cy"
    mails = sent_mail_to(AUTHOR_EMAIL)
    assert "Mae eich stori wedi'i chyhoeddi" in [m.subject for m in mails]


def test_a_story_told_in_english_stays_english(cast: Cast) -> None:
    hub = client_for(None)
    hub.post("/tell/", story_form([cast.ward_a.pk], title="Kind staff"))
    submission = Submission.objects.get(title="Kind staff")
    assert submission.language == "en"
    assert [m.subject for m in sent_mail_to(AUTHOR_EMAIL)] == ["We have received your story"]


def po_entries() -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for each entry of the Welsh catalogue (not the header)."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        if "msgid" not in block:
            continue
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in block.splitlines())
        body = "\n".join(line for line in block.splitlines() if not line.startswith("#"))
        parts = re.split(r"^(msgid|msgid_plural|msgstr(?:\[\d\])?) ", body, flags=re.M)[1:]
        fields: dict[str, str] = {}
        for key, value in zip(parts[::2], parts[1::2], strict=True):
            fields[key] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value))
        if not fields.get("msgid"):
            continue  # the header
        strs = [value for key, value in fields.items() if key.startswith("msgstr")]
        entries.append((fields["msgid"], strs, fuzzy))
    return entries


def test_the_welsh_catalogue_has_no_empty_or_fuzzy_entries() -> None:
    entries = po_entries()
    assert len(entries) > 250
    empty = [msgid for msgid, strs, _ in entries if not all(strs)]
    fuzzy = [msgid for msgid, _, is_fuzzy in entries if is_fuzzy]
    assert not empty, f"untranslated: {empty[:5]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:5]}"


def test_the_compiled_catalogue_matches_the_po_file() -> None:
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    for msgid, strs, _ in po_entries():
        text = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        if len(strs) == 1:
            expected = strs[0].encode().decode("unicode_escape").encode("latin-1").decode()
            assert catalogue.gettext(text) == expected, msgid


def test_every_public_string_the_pages_use_is_in_the_catalogue(cast: Cast) -> None:
    """A Welsh page shows no English sentence from the templates: spot-check each page."""
    hub: Client = client_for(None, HTTP_ACCEPT_LANGUAGE="cy")
    for path, welsh in (
        ("/", "Adroddwch stori eich gofal"),
        ("/stories/", "Dangos straeon"),
        ("/privacy/", "Pwy sy'n gweld beth"),
        ("/your-story/ask/", "Gofyn am eich stori"),
        ("/o/alpha/kiosk/", "Dechrau eto"),
        ("/organisations/alpha/", "wedi cael ymateb"),
    ):
        page = hub.get(path).content.decode()
        assert welsh in page, path
