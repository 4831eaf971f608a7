"""Both dashboards in a real Chromium against the running product: they render, no Dash or
Content-Security-Policy error appears, and a story published through the product reaches
the live KPIs without a reload."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from tenants.models import Network
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.conftest import Cast

LIVE_WITHIN_SECONDS = 20


def wait_for_charts(page: Page, at_least: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=at_least,
        timeout=20_000,
    )


def assert_no_dash_errors(page: Page) -> None:
    # Dash shows callback failures in its error overlay (debug) or leaves a loading state;
    # in production it logs them to the console, which page_problems records.
    assert page.locator(".dash-fe-error__title, .dash-debug-alert").count() == 0


def test_the_live_dashboard_renders_and_a_new_story_reaches_its_kpis(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
    artefacts_dir: Path,
) -> None:
    publish_story([cast.ward_a], title="Dashboard probe: a kind ward", criticality="not critical")
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.member_a.email)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    expect(page).to_have_url(f"{alpha}/dashboards/live/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Live dashboard")
    wait_for_charts(page, 4)
    week = page.locator("#kpi-week")
    expect(week).to_have_text(re.compile(r"^\d+$"))
    before = int(week.inner_text())
    assert before >= 1
    expect(page.get_by_role("link", name=cast.ward_a.name)).to_be_visible()  # services table
    assert_no_dash_errors(page)

    published_at = time.monotonic()
    publish_story(
        [cast.ward_a], title="Dashboard probe: a second story", criticality="severely critical"
    )
    expect(week).to_have_text(str(before + 1), timeout=LIVE_WITHIN_SECONDS * 1000)
    seconds = time.monotonic() - published_at
    assert seconds < LIVE_WITHIN_SECONDS

    page.screenshot(path=artefacts_dir / "dashboard-live.png", full_page=True)
    assert_no_dash_errors(page)
    page_problems.assert_none()

    # The services table drills into the inbox, filtered to that service.
    page.get_by_role("link", name=cast.ward_a.name).click()
    expect(page).to_have_url(re.compile(rf"{re.escape(alpha)}/stories/\?service=\d+$"))
    expect(page.get_by_role("link", name="Dashboard probe: a second story")).to_be_visible()


@pytest.fixture
def network(cast: Cast, committed_db: None) -> Iterator[Network]:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        network = create_network(lead=cast.org_a, name="Browser probe network")
        accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    yield network
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        network.memberships.all().delete()
        network.delete()


def test_the_network_comparison_renders_for_the_lead(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    publish_story: Callable[..., Any],
    network: Network,
    artefacts_dir: Path,
) -> None:
    for index in range(9):
        publish_story([cast.ward_b], title=f"Network probe {index}", criticality="mildly critical")
    alpha = live_site.url_for(cast.org_a)
    browser_sign_in(page, alpha, cast.member_a.email)

    page.goto(f"{alpha}/dashboards/network/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Network comparison")
    wait_for_charts(page, 2)
    league = page.locator("#league")
    expect(league.get_by_role("link", name=cast.org_b.name)).to_be_visible()
    expect(league).to_contain_text("9")
    assert_no_dash_errors(page)
    page.screenshot(path=artefacts_dir / "dashboard-network.png", full_page=True)
    page_problems.assert_none()
