"""The workspace in a real browser: signing in, the inbox, and one organisation's session
never opening another's workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.conftest import Cast, host_of


def test_an_administrator_signs_in_and_reads_the_inbox(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
    artefacts_dir: Path,
) -> None:
    publish_story([cast.ward_a], title="Browser probe: kind staff on Ward One")
    alpha = live_site.url_for(cast.org_a)

    browser_sign_in(page, alpha, cast.admin_a.email)

    assert page.url == f"{alpha}/"
    # The product's own cookie settings, as the browser keeps them.
    (session,) = [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    assert (session["domain"], session["httpOnly"], session["sameSite"]) == (
        host_of(cast.org_a),
        True,
        "Lax",
    )
    assert session["secure"] is settings.SESSION_COOKIE_SECURE
    expect(page.get_by_role("heading", level=1)).to_have_text(cast.org_a.name)
    expect(page.get_by_text(f"Signed in as {cast.admin_a.full_name}")).to_be_visible()
    # The stylesheet came from /static/ and applied (WhiteNoise, in the product's own app).
    assert page.evaluate("document.styleSheets.length > 0 && !!document.styleSheets[0].cssRules")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Stories", exact=True
    ).click()
    expect(page).to_have_url(f"{alpha}/stories/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Stories about {cast.org_a.name}")
    expect(page.get_by_role("link", name="Browser probe: kind staff on Ward One")).to_be_visible()

    screenshot = artefacts_dir / "workspace-stories-inbox.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0
    page_problems.assert_none()


def test_a_signed_in_alpha_browser_cannot_read_beta(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
) -> None:
    publish_story([cast.ward_b], title="Browser probe: private to Beta")
    alpha = live_site.url_for(cast.org_a)
    beta = live_site.url_for(cast.org_b)
    browser_sign_in(page, alpha, cast.admin_a.email)

    for path in ("/", "/stories/"):
        response = page.goto(f"{beta}{path}")
        assert response is not None and response.ok
        # Sent to Beta's own sign-in page, as a stranger.
        assert page.url.startswith(f"{beta}/accounts/login/"), page.url
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign in to {cast.org_b.name}")
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        content = page.content()
        assert "Browser probe: private to Beta" not in content
        assert cast.admin_a.email not in content

    # Alpha's session cookie belongs to Alpha's host alone, and still works there.
    session_hosts = {
        c["domain"]
        for c in page.context.cookies()
        if c["name"] == settings.SESSION_COOKIE_NAME and c["value"]
    }
    assert session_hosts == {host_of(cast.org_a)}
    page.goto(f"{alpha}/stories/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Stories about {cast.org_a.name}")
    expect(page.get_by_text("Browser probe: private to Beta")).to_have_count(0)
    page_problems.assert_none()
