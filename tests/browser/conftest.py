"""Real-browser tests: Debian's Chromium, driven by Playwright, against the real product.

- `chromium`: one headless Chromium for all of tests/browser (Debian's package, never
  Playwright's own download; `CHROMIUM_PATH` points elsewhere).
- `live_site`: the product's own WSGI application (`config.wsgi.application`, with its
  whole middleware stack, WhiteNoise serving /static/ included) on 127.0.0.1 and a free
  port, in a thread of this process. Workspaces are at `live_site.url_for(organisation)`,
  i.e. `http://<slug>.localhost:<port>/`; Chromium resolves every `*.localhost` to
  loopback. The server's threads have their own database connections, so everything a
  test makes must be committed: `live_site` uses `committed_db`, and tests clean up.
- `page`: a fresh browser context and page per test, watched for console errors, uncaught
  page errors, Content-Security-Policy violations and failed requests (`page_problems`).
- `browser_sign_in(page, url, email)`: the workspace's own sign-in form, and the second
  step (a code computed from the account's authenticator key) when it is asked for.
- `publish_story(...)`: a committed, published story that is deleted after the test.
- `artefacts_dir`: where screenshots go (tests/artefacts/, or TEST_ARTEFACTS_DIR). A
  failing test that used `page` leaves `<test name>-failure.png` there.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django_tenants.utils import schema_context

from tests.conftest import (
    PASSWORD,
    Cast,
    forget_published_stories,
    host_of,
    tell_and_publish,
    totp_code,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
    )

    from feedback.hub.models import ServiceListing
    from tenants.models import Organisation

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# Long enough for a cold page with charts on a slow CI machine, short enough to fail fast.
DEFAULT_TIMEOUT_MS = 20_000


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One Chromium for every test under tests/browser, closed after the last of them.

    TRICKY: while Playwright's sync API is started, its asyncio loop counts as running in
    this thread, even when control is back in test code. Django then (1) refuses ORM calls
    with SynchronousOnlyOperation, and (2) keeps this thread's database connections in
    per-context storage (asgiref's Local) instead of the thread-local one, so connections
    made meanwhile are not the ones pytest-django later closes, and the test database cannot
    be dropped. Hence: package scope, not session (the rest of the suite never runs under a
    "running" loop); Django's check lifted only while Playwright runs (nothing here is
    async); and the connections made meanwhile closed before Playwright stops. The live
    server's threads never see the loop and are unaffected.
    """
    path = chromium_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.skip(
            f"Chromium is not installed (.ci/run installs Debian's chromium package): {path}"
        )
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageProblems:
    """What went wrong in the browser, as the browser reported it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        problems = {
            "console errors": self.console_errors,
            "uncaught page errors": self.page_errors,
            "Content-Security-Policy violations": self.csp_violations,
            "failed requests": self.failed_requests,
        }
        found = {kind: items for kind, items in problems.items() if items}
        assert not found, f"the browser reported problems: {found}"

    def clear(self) -> None:
        for items in (
            self.console_errors,
            self.page_errors,
            self.csp_violations,
            self.failed_requests,
        ):
            items.clear()


def watch_page(page: Page, problems: PageProblems) -> Page:
    """Record `page`'s console errors, page errors, CSP violations and failed requests."""

    def on_console(message: ConsoleMessage) -> None:
        location = message.location or {}
        url = location.get("url", "")
        if url.endswith("/favicon.ico"):
            # Chromium asks every host for /favicon.ico on its own; the product has none.
            return
        text = f"{message.text} ({url}:{location.get('lineNumber', '')})"
        if "Content Security Policy" in message.text:
            problems.csp_violations.append(text)
        if message.type == "error":
            problems.console_errors.append(text)

    def on_response(response: Response) -> None:
        # 5xx only: a 4xx can be what a test is looking for (and Chromium logs a console
        # error for a failed sub-resource anyway).
        if response.status >= 500:
            problems.failed_requests.append(f"{response.status} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.page_errors.append(str(error)))

    def on_request_failed(request: Request) -> None:
        # Requests still in flight when the page navigates away are aborted: not a failure.
        if request.failure != "net::ERR_ABORTED":
            problems.failed_requests.append(f"{request.failure} {request.url}")

    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    return page


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def browser_context(chromium: Browser) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        sessions = [c for c in context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
        context.close()
        _forget_sessions(sessions)


@pytest.fixture
def page(
    browser_context: BrowserContext,
    page_problems: PageProblems,
    artefacts_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    page = watch_page(browser_context.new_page(), page_problems)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and not page.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=artefacts_dir / f"{name}-failure.png", full_page=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Keep the call phase's report on the item, for the failure screenshot above."""
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture(scope="session")
def artefacts_dir() -> Path:
    configured = os.environ.get("TEST_ARTEFACTS_DIR")
    path = Path(configured) if configured else Path(settings.BASE_DIR) / "tests" / "artefacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the live server --------------------------------------------------------------------------


class _RequestHandler(WSGIRequestHandler):
    """Django's development request handler, closing database connections per request.

    TRICKY: Chromium keeps connections alive, and each one is served by its own thread for as
    long as Chromium keeps it, that thread holding its database connection between requests
    (CONN_MAX_AGE). One still open when pytest-django drops the test database makes that
    fail ("being accessed by other users"). So nothing stays open between requests.
    """

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            connections.close_all()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        # No access log for successful requests; 4xx and 5xx still reach `django.server`.
        if len(args) > 1 and str(args[1]).startswith(("4", "5")):
            super().log_message(format, *args)


class _LiveServer:
    def __init__(self) -> None:
        from config.wsgi import application

        self.httpd = ThreadedWSGIServer(
            ("127.0.0.1", 0), _RequestHandler, allow_reuse_address=False
        )
        self.httpd.set_app(application)
        self.port: int = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="browser-live-server", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="package")
def _live_server(django_db_setup: None) -> Iterator[_LiveServer]:
    server = _LiveServer()
    yield server
    server.stop()


@dataclass(frozen=True)
class LiveSite:
    port: int

    @property
    def hub_url(self) -> str:
        return f"http://{settings.BASE_DOMAIN}:{self.port}"

    def url_for(self, organisation: Organisation, path: str = "") -> str:
        """`http://<slug>.localhost:<port><path>`: the organisation's workspace."""
        return f"http://{host_of(organisation)}:{self.port}{path}"


@pytest.fixture
def live_site(_live_server: _LiveServer, committed_db: None, settings: Any) -> Iterator[LiveSite]:
    """The running product, for this test, with its own security settings.

    It speaks plain http, yet nothing is relaxed for it: Chromium counts http://localhost
    and every http://*.localhost as a secure context, so it stores and sends the Secure
    session and CSRF cookies that SECURE_COOKIES (on by default) asks for, and Django's CSRF
    check compares the Origin header with the request's own host and port, which match
    (no CSRF_TRUSTED_ORIGINS entry). If sign-in ever lands back on the sign-in page with no
    error, cookies were refused: see `browser_sign_in`. Only the links the product builds
    (emails, widget snippets) are pointed at this server's port.
    """
    settings.PUBLIC_SCHEME = "http"
    settings.PUBLIC_PORT = _live_server.port
    yield LiveSite(port=_live_server.port)


@pytest.fixture
def live_server_url_for(live_site: LiveSite) -> Callable[..., str]:
    """`live_server_url_for(organisation, path="")`: the organisation's live workspace URL."""
    return live_site.url_for


def _forget_sessions(cookies: list[dict[str, Any]]) -> None:
    """Delete the sessions a browser context signed in with (they were committed)."""
    from django.contrib.sessions.models import Session

    from tenants.models import Domain

    for cookie in cookies:
        host = cookie["domain"].lstrip(".")
        schema = settings.PUBLIC_SCHEMA_NAME
        if host != settings.BASE_DOMAIN:
            domain = Domain.objects.select_related("tenant").filter(domain=host).first()
            if domain is None:
                continue
            schema = domain.tenant.schema_name
        with schema_context(schema):
            Session.objects.filter(session_key=cookie["value"]).delete()


# --- acting in the browser ----------------------------------------------------------------------


def browser_sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the workspace's own form at `base_url`, and wait until signed in."""
    from playwright.sync_api import expect

    page.goto(f"{base_url.rstrip('/')}/accounts/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    if "/accounts/login/second-factor/" in page.url:
        _browser_second_factor(page, base_url, email)
    if "/accounts/login/" in page.url:
        summary = page.locator(".error-summary")
        reason = summary.inner_text() if summary.count() else "no error shown (cookies refused?)"
        raise AssertionError(f"{email} could not sign in at {base_url}: {reason}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def _browser_second_factor(page: Page, base_url: str, email: str) -> None:
    """Type the code the account's authenticator app would show (setting one up first, on
    the set-up page, if the account must have one and has none)."""
    from urllib.parse import urlsplit

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.accounts.models import User
    from tenants.models import Domain

    host = urlsplit(base_url).hostname
    schema = settings.PUBLIC_SCHEMA_NAME
    if host != settings.BASE_DOMAIN:
        schema = Domain.objects.select_related("tenant").get(domain=host).tenant.schema_name
    setting_up = "/set-up/" in page.url
    with schema_context(schema):
        user = User.objects.get(email__iexact=email)
        code = totp_code(TOTPDevice.objects.get(user=user, confirmed=not setting_up))
    page.locator("#id_code").fill(code)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm" if setting_up else "Continue").click()
    if setting_up:
        with page.expect_navigation():
            page.get_by_role("link", name="I have kept them: continue").click()


# --- committed data -----------------------------------------------------------------------------


@pytest.fixture
def publish_story(cast: Cast, committed_db: None) -> Iterator[Callable[..., Any]]:
    """`publish_story([cast.ward_a], title=..., criticality=...)`: published and committed
    through the product's own intake and moderation, so the live server sees it; deleted
    after the test. Instant alerts are not queued (alerts have their own tests)."""
    from alerts.receivers import queue_instant_alerts
    from feedback.signals import story_published

    public_ids: list[int] = []

    def publish(listings: list[ServiceListing], **kwargs: Any) -> Any:
        published = tell_and_publish(cast, listings, **kwargs)
        public_ids.append(published.public_story.pk)
        return published

    story_published.disconnect(queue_instant_alerts)
    try:
        yield publish
    finally:
        story_published.connect(queue_instant_alerts)
        forget_published_stories([cast.org_a, cast.org_b], public_ids)
