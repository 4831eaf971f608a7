"""Accessibility, measured: axe-core run in Chromium on every public page, the story form's
error state, the kiosk, the display screen, the staff inbox, a story with its response form,
and the live dashboard.

axe-core is the copy bundled in the `axe-playwright-python` wheel (pinned in pyproject.toml's
dev extra and constraints.txt), read from disk, never fetched. It is run with
`page.evaluate`, which goes through the DevTools protocol and so is not subject to the page's
Content-Security-Policy: the site's CSP stays exactly as served (no `bypass_csp`), and
`page_problems` still records any violation the page itself causes.

The target is no serious or critical violation anywhere. Moderate and minor ones are printed
(run with `-s` to see them) and each is listed, with its reason, in README.md's
"Accessibility, measured".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.conftest import Cast

BLOCKING = ("serious", "critical")
# WCAG 2.0/2.1/2.2 A and AA, and axe's best practices.
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on `page` as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": RUN_ONLY}, "resultTypes": ["violations"]},
    )
    return results["violations"]


def describe(violation: dict[str, Any]) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:4]]
    return f"{violation['impact']}: {violation['id']} ({violation['help']}) at {targets}"


class Audit:
    """Violations by page; serious and critical ones fail the test at the end."""

    def __init__(self) -> None:
        self.by_page: dict[str, list[dict[str, Any]]] = {}

    def check(self, page: Page, name: str, exempt: dict[str, str] | None = None) -> None:
        """Run axe on `page`. `exempt` maps a rule to the reason it does not apply to this
        page (each one listed in README.md): reported, never counted."""
        found = axe(page)
        for violation in found:
            if violation["id"] in (exempt or {}):
                print(f"axe {name}: exempt, {exempt[violation['id']]}: {describe(violation)}")
        self.by_page[name] = [v for v in found if v["id"] not in (exempt or {})]

    def report(self) -> None:
        print()
        for name, violations in self.by_page.items():
            for violation in violations:
                print(f"axe {name}: {describe(violation)}")
        blocking = {
            name: [describe(v) for v in violations if v["impact"] in BLOCKING]
            for name, violations in self.by_page.items()
        }
        blocking = {name: found for name, found in blocking.items() if found}
        assert not blocking, f"serious or critical accessibility violations: {blocking}"


@pytest.fixture
def audit() -> Audit:
    return Audit()


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"


@pytest.fixture
def author_link(
    cast: Cast, publish_story: Callable[..., Any], live_site: LiveSite
) -> Iterator[tuple[int, str]]:
    """A published story with a response, and the author's link to it (the product's own
    signed link, as its email carries)."""
    from feedback.author_links import make_token
    from feedback.hub.models import PublicResponse
    from feedback.models import Story
    from feedback.responding import Draft, publish_response

    published = publish_story(
        [cast.ward_a], title="Accessibility probe: a calm ward", criticality="not critical"
    )
    public_id = published.public_story.pk
    with tenant_context(cast.org_a):
        publish_response(
            Story.objects.get(public_id=public_id),
            Draft(
                "Thank you for telling us about the calm on Alpha Ward One. We have shared "
                "your story with the ward team, who were glad to read it, and we will keep "
                "the quiet hours you mentioned."
            ),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        response = PublicResponse.objects.get(public_story_id=public_id)
        token = make_token(response)
    yield public_id, f"{live_site.hub_url}/r/{token}/"


@pytest.fixture
def display_screen(cast: Cast, committed_db: None, live_site: LiveSite) -> Iterator[str]:
    from feedback.reach.models import DisplayScreen
    from feedback.reach.screens import create_screen, screen_path

    made = create_screen(cast.org_a, name="Accessibility probe screen", actor=cast.admin_a)
    token = made.url.rstrip("/").rsplit("/", 1)[-1]
    yield f"{live_site.hub_url}{screen_path(cast.org_a, token)}"
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        DisplayScreen.objects.filter(pk=made.screen.pk).delete()


@pytest.fixture
def forget_sent_story(committed_db: None) -> Iterator[str]:
    """The title of the story sent through the form below: deleted after the test."""
    from feedback.hub.models import Submission

    title = "Accessibility probe: sent page"
    yield title
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for submission in Submission.objects.filter(title=title):
            submission.services.clear()
            submission.delete()


def test_public_pages_have_no_serious_or_critical_violations(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    author_link: tuple[int, str],
    display_screen: str,
    forget_sent_story: str,
    audit: Audit,
) -> None:
    public_id, reply_url = author_link
    hub = live_site.hub_url
    pages = {
        "hub home": f"{hub}/",
        "browse stories": f"{hub}/stories/",
        "a story": f"{hub}/stories/{public_id}/",
        "an organisation": f"{hub}/organisations/{cast.org_a.slug}/",
        "privacy": f"{hub}/privacy/",
        "pricing": f"{hub}/pricing/",
        "the story form": f"{hub}/tell/",
        "the widget": f"{hub}/o/{cast.org_a.slug}/widget/",
        "the kiosk": f"{hub}/o/{cast.org_a.slug}/kiosk/",
        "a service's kiosk": f"{hub}/o/{cast.org_a.slug}/kiosk/{cast.ward_a.pk}/",
        "the author's response page": reply_url,
        "asking about your story": f"{hub}/your-story/ask/",
        # Last: the choice of Welsh is remembered (a cookie), and forgotten below.
        "the hub home in Welsh": f"{hub}/?language=cy",
        "the story form in Welsh": f"{hub}/tell/?language=cy",
    }
    for name, url in pages.items():
        visit(page, url)
        audit.check(page, name)
    assert page.evaluate("document.documentElement.lang") == "cy"  # says it is in Welsh
    page.context.clear_cookies()
    # A waiting-room screen nobody operates moves on by itself (a script, not a meta refresh).
    visit(page, display_screen)
    audit.check(page, "the display screen")

    # The story form's error state: sent empty.
    visit(page, f"{hub}/tell/")
    with page.expect_navigation():
        page.get_by_role("button", name="Send my story").click()
    expect(page.locator("#error-summary")).to_be_visible()
    audit.check(page, "the story form, sent empty")
    # Each field in error is invalid and described by its own error message.
    invalid = page.locator("[aria-invalid=true]")
    assert invalid.count() >= 3
    for field in invalid.all():
        described = field.evaluate(
            """e => (e.getAttribute('aria-describedby') || '').split(/\\s+/)
                .map(id => document.getElementById(id)).filter(Boolean)
                .map(d => d.textContent.trim()).join(' ')"""
        )
        assert described, f"{field.get_attribute('id')} has no description of its error"
    # The server answers an invalid form with 400, which Chromium logs; that is expected.
    page_problems.console_errors[:] = [
        error for error in page_problems.console_errors if "400 (Bad Request)" not in error
    ]

    # The sent page, after a story found and sent through the form.
    visit(page, f"{hub}/tell/")
    page.locator("#id_q").fill(cast.ward_a.name)
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    page.get_by_label(cast.ward_a.name, exact=False).first.check()
    page.locator("#id_title").fill(forget_sent_story)
    page.locator("#id_what_was_good").fill("Everyone was patient and kind with my father.")
    page.locator("#id_author_role").select_option("patient")
    page.locator("#id_consent").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send my story").click()
    assert "/tell/sent/" in page.url, page.url
    audit.check(page, "the story form's sent page")

    audit.report()
    page_problems.assert_none()


def test_staff_pages_have_no_serious_or_critical_violations(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
    audit: Audit,
) -> None:
    publish_story(
        [cast.ward_a], title="Accessibility probe: the inbox", criticality="mildly critical"
    )
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.responder_a.email)

    visit(page, f"{alpha}/stories/")
    audit.check(page, "the staff inbox")
    with page.expect_navigation():
        page.get_by_role("link", name="Accessibility probe: the inbox").click()
    expect(page.locator("#id_body")).to_be_visible()
    audit.check(page, "a story with its response form")

    visit(page, f"{alpha}/dashboards/live/")
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=4,
        timeout=20_000,
    )
    audit.check(page, "the live dashboard")

    audit.report()
    page_problems.assert_none()
