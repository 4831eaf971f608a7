"""The widget on a trust's own website, in a real browser: another site frames it, an author
tells their story inside the frame, and the story reaches moderation without any cookie."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from feedback.hub.models import Submission
from tests.browser.conftest import LiveSite, PageProblems
from tests.browser.widget_fixtures import TrustSite, embed_widget_on, trust_site
from tests.conftest import Cast

__all__ = ["embed_widget_on", "trust_site"]  # fixtures, used by name below

TITLE = "Cross-site widget probe: the ward was calm"


def test_a_story_told_in_the_widget_framed_by_another_site_reaches_moderation(
    cast: Cast,
    live_site: LiveSite,
    trust_site: TrustSite,
    embed_widget_on: Callable[[str], None],
    page: Page,
    page_problems: PageProblems,
) -> None:
    embed_widget_on(trust_site.host)
    # The trust's page carries the snippet the workspace tells administrators to paste.
    trust_site.html = (
        "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<title>Alpha Hospitals: your feedback</title></head><body>"
        "<h1>Tell us about your care</h1>"
        f'<script src="{live_site.hub_url}/o/{cast.org_a.slug}/widget.js"></script>'
        "</body></html>"
    )
    try:
        page.goto(trust_site.url)
        expect(page.get_by_role("heading", name="Tell us about your care")).to_be_visible()
        frame = page.frame_locator("iframe[title='Carevoice stories']")
        expect(
            frame.get_by_role("heading", name=f"Tell {cast.org_a.name} your story")
        ).to_be_visible()

        frame.get_by_label("Alpha Ward One").check()
        frame.get_by_label("Give your story a title").fill(TITLE)
        frame.get_by_label("What was good?").fill("The nurses kept the ward calm at night.")
        frame.get_by_label("Who are you in this story?").select_option("patient")
        frame.get_by_label("I agree to the terms").check()
        frame.get_by_role("button", name="Send my story").click()

        expect(frame.get_by_role("heading", name="Thank you for your story")).to_be_visible()
        submission = Submission.objects.get(title=TITLE)
        assert (submission.state, submission.route) == ("pending", "widget")
        assert list(submission.services.all()) == [cast.ward_a]
        # The parent page is still the trust's: the story was told inside the frame.
        assert page.url == trust_site.url
        # Nothing here needed a cookie, so the hub left none (a cross-site frame gets none).
        assert page.context.cookies() == []
        page_problems.assert_none()
    finally:
        Submission.objects.filter(title=TITLE).delete()
