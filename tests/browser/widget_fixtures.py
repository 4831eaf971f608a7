"""A trust's own website, for the widget's browser tests.

- `trust_site`: a plain `http.server` on 127.0.0.1 and a free port, in a thread, serving one
  page the test writes. Chromium reaches it as `http://www.trust-site.localhost:<port>/`
  (it resolves every `*.localhost` to loopback), which is another *site* than the hub at
  `http://localhost:<live port>`: a `SameSite=Lax` cookie the hub set is not sent with a
  POST from a frame inside that page. (An IP address such as 127.0.0.1 would be another
  site too, but an organisation cannot list one as a widget host.)
- `embed_widget_on(organisation, host)`: the organisation's administrator lists `host` on the
  workspace's widget settings page, as a real administrator would; the list is put back
  after the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Cast, client_for, sign_in

TRUST_HOST = "www.trust-site.localhost"


@dataclass
class TrustSite:
    port: int
    # What "/" answers with; the test writes it.
    html: str = "<!doctype html><title>Empty</title>"
    requests: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        """The host an organisation lists so that this site may frame its widget."""
        return f"{TRUST_HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}/"


def _handler_for(site: TrustSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the base's name
            site.requests.append(self.path)
            if self.path != "/":
                self.send_error(404)
                return
            body = site.html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            pass

    return Handler


@pytest.fixture
def trust_site() -> Iterator[TrustSite]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    site = TrustSite(port=httpd.server_address[1])
    httpd.RequestHandlerClass = _handler_for(site)
    thread = threading.Thread(target=httpd.serve_forever, name="trust-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _save_widget_hosts(cast: Cast, hosts: list[str]) -> None:
    """The administrator's own form: workspace → Widget → "Websites allowed to show your
    widget"."""
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302, "the admin could not sign in"
    try:
        response = admin.post("/widget/", {"hosts": "\n".join(hosts)})
        assert response.status_code == 302, response.content.decode()[:2000]
    finally:
        admin.post("/accounts/logout/")


@pytest.fixture
def embed_widget_on(cast: Cast, committed_db: None) -> Iterator[Callable[[str], None]]:
    """`embed_widget_on(host)`: Alpha's administrator lets `host` show Alpha's widget."""
    from tenants.models import Organisation

    previous = list(Organisation.objects.get(pk=cast.org_a.pk).embed_hosts)
    changed = False

    def embed(host: str) -> None:
        nonlocal changed
        changed = True
        _save_widget_hosts(cast, [*previous, host])

    yield embed
    if changed:
        _save_widget_hosts(cast, previous)
