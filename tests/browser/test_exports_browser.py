"""An export in the browser: a responder exports the inbox's view as Excel, the progress page
fills its bar as the real worker makes the file and then offers the download, which
Chromium saves; the progress page and the exports list pass the accessibility audit."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django_tenants.utils import tenant_context
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from feedback.models import StoryExport
from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.browser.test_accessibility import Audit
from tests.conftest import Cast


def test_an_export_shows_its_progress_and_downloads(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
    celery_worker_thread: object,
    tmp_path: Any,
    settings: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    publish_story([cast.ward_a], title="Export probe: kind night staff", criticality="not critical")
    alpha = live_site.url_for(cast.org_a)
    audit = Audit()
    try:
        browser_sign_in(page, alpha, cast.responder_a.email)
        page.goto(f"{alpha}/stories/?q=export+probe")
        page.locator("form.export-form select[name=format]").select_option("xlsx")
        with page.expect_navigation():
            page.get_by_role("button", name="Export this story").click()
        assert "/exports/" in page.url
        expect(page.locator("#export-progress")).to_be_visible()
        download_link = page.get_by_role("link", name="Download the file")
        expect(download_link).to_be_visible(timeout=30_000)
        expect(page.locator("#export-percent")).to_have_text("Ready: 1 story.")
        assert page.locator("#export-progress").get_attribute("value") == "100"
        audit.check(page, "an export's progress page, done")
        with page.expect_download() as caught:
            download_link.click()
        saved = caught.value
        assert saved.suggested_filename.endswith(".xlsx")
        book = load_workbook(io.BytesIO(Path(saved.path()).read_bytes()))
        titles = [row[2] for row in book["Stories"].iter_rows(min_row=2, values_only=True)]
        assert titles == ["Export probe: kind night staff"]
        page.goto(f"{alpha}/exports/")
        audit.check(page, "the exports list")
        page.goto(f"{alpha}/thanks/")
        audit.check(page, "thanks passed on")
        audit.report()
        page_problems.assert_none()
    finally:
        with tenant_context(cast.org_a):
            StoryExport.objects.all().delete()
