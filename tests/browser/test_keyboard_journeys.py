"""Keyboard alone, in Chromium: telling a story with a service search, responding to a story,
and changing a live dashboard filter. Nothing is clicked or filled: every step is a key
press, and the element each Tab lands on must show that it has focus (an outline or a
box-shadow the site's CSS draws)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.conftest import Cast

# What the focused element looks like, as the browser computed it.
FOCUSED = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  return {
    tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name') || '',
    type: e.getAttribute('type') || '', value: e.value || '',
    text: (e.innerText || '').trim().slice(0, 80),
    outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, boxShadow: s.boxShadow,
  };
}"""
MAX_TABS = 80


def focus_is_visible(style: dict[str, str]) -> bool:
    outline = style["outlineStyle"] != "none" and style["outlineWidth"] not in ("0px", "")
    shadow = style["boxShadow"] not in ("none", "")
    return outline or shadow


def focused(page: Page) -> dict[str, str]:
    return page.evaluate(FOCUSED)


def assert_focus_visible(page: Page) -> dict[str, str]:
    element = focused(page)
    if element["tag"] != "body":
        assert focus_is_visible(element), f"focus is not visible on {element}"
    return element


def tab_to(page: Page, matches: Callable[[dict[str, str]], bool], what: str) -> dict[str, str]:
    """Press Tab until the focused element `matches`, checking focus is visible on every
    element Tab lands on."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        element = assert_focus_visible(page)
        if matches(element):
            return element
    raise AssertionError(f"Tab never reached {what}")


def by_id(ident: str) -> Callable[[dict[str, str]], bool]:
    return lambda element: element["id"] == ident


def press_for_navigation(page: Page, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


@pytest.fixture
def forget_told(committed_db: None) -> Iterator[list[str]]:
    """Titles of stories a test sends through the public form: deleted after it."""
    from feedback.hub.models import Submission

    titles: list[str] = []
    yield titles
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for submission in Submission.objects.filter(title__in=titles):
            submission.services.clear()
            submission.delete()


def test_telling_a_story_with_a_service_search_by_keyboard(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    forget_told: list[str],
) -> None:
    from feedback.hub.models import Submission

    title = "Keyboard probe: a calm night on the ward"
    forget_told.append(title)
    page.goto(f"{live_site.hub_url}/tell/")

    # The skip link comes first, and shows.
    skip = tab_to(page, lambda e: e["tag"] == "a", "the first link")
    assert "Skip" in skip["text"]

    tab_to(page, by_id("id_q"), "the service search")
    page.keyboard.type("Alpha Ward")
    press_for_navigation(page, "Enter")  # the form's first button: Search
    expect(page.get_by_text("Tick the services your story is about:")).to_be_visible()

    tab_to(
        page,
        lambda e: e["name"] == "services" and e["value"] == str(cast.ward_a.pk),
        "Alpha Ward One's checkbox",
    )
    page.keyboard.press("Space")
    tab_to(page, by_id("id_title"), "the title")
    page.keyboard.type(title)
    tab_to(page, by_id("id_what_was_good"), "What was good?")
    page.keyboard.type("The night staff kept the ward quiet so everyone could sleep.")
    tab_to(page, by_id("id_author_role"), "Who are you in this story?")
    page.keyboard.press("p")  # type-ahead in the list: Patient
    tab_to(page, by_id("id_consent"), "the consent checkbox")
    page.keyboard.press("Space")
    tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Send my story", "Send")
    press_for_navigation(page, "Enter")

    expect(page).to_have_url(re.compile(r"/tell/sent/"))
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        submission = Submission.objects.get(title=title)
        assert submission.author_role == "patient"
        assert [s.pk for s in submission.services.all()] == [cast.ward_a.pk]
    page_problems.assert_none()


def test_responding_to_a_story_by_keyboard(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
) -> None:
    from feedback.models import Response

    title = "Keyboard probe: a long wait for a bed"
    published = publish_story([cast.ward_a], title=title, criticality="mildly critical")
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.responder_a.email)
    page.goto(f"{alpha}/stories/")

    tab_to(page, lambda e: e["tag"] == "a" and e["text"] == title, "the story in the inbox")
    press_for_navigation(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    tab_to(page, by_id("id_body"), "the response")
    page.keyboard.type(
        "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for "
        "telling us how kind the nurses were. We have added a discharge coordinator so beds "
        "free up earlier in the day. Rita Responder, Ward Manager"
    )
    tab_to(page, by_id("id_change_status"), "Has anything changed?")
    tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Publish", "Publish")
    press_for_navigation(page, "Enter")

    expect(page.locator(".response")).to_contain_text("discharge coordinator")
    with tenant_context(cast.org_a):
        response = Response.objects.get(story__public_id=published.public_story.pk)
        assert response.responder_id == cast.responder_a.pk
    page_problems.assert_none()


def test_changing_a_live_dashboard_filter_by_keyboard(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
) -> None:
    publish_story([cast.ward_a], title="Keyboard probe: dashboard", criticality="mildly critical")
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.member_a.email)
    page.goto(f"{alpha}/dashboards/live/")
    week = page.locator("#kpi-week")
    expect(week).to_have_text(re.compile(r"^[1-9]\d*$"))

    tab_to(page, by_id("criticality"), "the criticality filter")
    page.keyboard.press("Enter")  # opens the list, focus in its search box
    expect(page.locator(".dash-dropdown-search")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("ArrowDown")  # the first option: not critical
    expect(page.locator("input[value='not critical']")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("#criticality")).to_have_text("Not critical")
    page.keyboard.press("Escape")  # closes the list, focus back on its button
    expect(page.locator("#criticality")).to_be_focused()
    assert_focus_visible(page)
    # The one story published here is mildly critical: none is left this week.
    expect(week).to_have_text("0")
    page_problems.assert_none()


def test_a_date_typed_into_the_inbox_filter_stays_shown(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
) -> None:
    """A date typed into the inbox's "Published from" is still shown after the inbox reloads
    with it (the server gives it back as YYYY-MM-DD, the only value a date input takes).

    The order of day, month and year in a date input follows the browser's own language (a
    British browser shows DD/MM/YYYY); Debian's Chromium here has only its en-US language
    files, so the test reads back whatever date the browser took rather than assuming one."""
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.member_a.email)
    page.goto(f"{alpha}/stories/")

    tab_to(page, by_id("id_since"), "Published from")
    page.keyboard.type("02032026")
    since = page.locator("#id_since")
    expect(since).to_have_value(re.compile(r"^2026-0[23]-0[23]$"))
    typed = since.input_value()
    press_for_navigation(page, "Enter")

    assert f"since={typed}" in page.url, page.url
    expect(since).to_have_value(typed)
    page_problems.assert_none()
