"""The service import's progress page in a real browser: its script (a static file, under
the product's CSP) polls the status endpoint and shows the result when the import is done."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.conftest import PASSWORD

HEADER = "site_name,site_code,service_name,service_code,service_type,parent_service_code\n"


def test_the_progress_page_follows_a_large_import_to_its_result(
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    tmp_path: Path,
    artefacts_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from onboarding import service_import, tasks
    from onboarding.models import ServiceImport
    from tenants.provisioning import provision_organisation

    # No worker here: the test runs the import itself, while the page is watching.
    monkeypatch.setattr(tasks.run_service_import, "delay", lambda import_id: None)
    organisation = provision_organisation(
        name="Epsilon Browser Trust",
        slug="epsilon-browser",
        kind="acute trust",
        admin_email="admin@epsilon-browser.example",
        admin_name="Eps Admin",
        admin_password=PASSWORD,
    ).organisation
    try:
        rows = 400
        csv_file = tmp_path / "services.csv"
        csv_file.write_text(
            HEADER + "".join(f"Epsilon General,EG1,Ward {n},EW{n},ward,\n" for n in range(rows))
        )
        base = live_site.url_for(organisation)
        browser_sign_in(page, base, "admin@epsilon-browser.example")
        page.goto(f"{base}/services/import/")
        page.locator("#id_file").set_input_files(str(csv_file))
        with page.expect_navigation():
            page.get_by_role("button", name="Check and import").click()
        expect(page.locator("#import-progress")).to_be_visible()
        expect(page.locator("#import-count")).to_have_text(f"0 of {rows} services")
        page.screenshot(path=artefacts_dir / "onboarding-import-progress.png", full_page=True)

        with tenant_context(organisation):
            record = ServiceImport.objects.get()
            assert service_import.run_import(record.pk) == "done"
        # The script notices, and reloads into the result.
        expect(page.get_by_text(f"{rows} services added")).to_be_visible(timeout=20_000)
        expect(page.locator("#import-progress")).to_have_count(0)
        page_problems.assert_none()
    finally:
        organisation.delete(force_drop=True)
