"""Native Dash apps served through a Django view (see STACK.md for why not
django-plotly-dash): Django's middleware gives every request its tenant, session, CSRF check
and login; the view hands the request to the Dash app's WSGI callable and returns what it
says. Callbacks find who is asking through `current_viewer()`.

TRICKY: one Dash app object serves every organisation; everything tenant-specific comes
from the request being answered, never from the app.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import flask
from dash import Dash
from dash.exceptions import PreventUpdate
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string

from tenants.accounts.models import User
from tenants.models import Organisation


@dataclass(frozen=True)
class Viewer:
    """The signed-in member of staff a Dash request is answered for, and their organisation."""

    user: User
    organisation: Organisation
    request: HttpRequest


_viewer: ContextVar[Viewer | None] = ContextVar("dash_viewer", default=None)


def current_viewer() -> Viewer:
    """For callbacks: who is asking. Anything but a signed-in user of the organisation whose
    schema is active gets nothing (Dash answers 204, no content)."""
    viewer = _viewer.get()
    if (
        viewer is None
        or not viewer.user.is_authenticated
        or not viewer.user.is_active
        or connection.tenant is None
        or viewer.organisation.pk != connection.tenant.pk
        or connection.schema_name == settings.PUBLIC_SCHEMA_NAME
    ):
        raise PreventUpdate
    return viewer


def viewer_or_none() -> Viewer | None:
    """For layouts, which Dash also builds once outside any request to check their ids."""
    try:
        return current_viewer()
    except PreventUpdate:
        return None


class PageDash(Dash):
    """A Dash app whose page is one of ours: the workspace header and navigation around it,
    rendered by Django's templates for the request being answered."""

    def __init__(self, *, page_template: str, page_title: str, **kwargs: Any) -> None:
        self.page_template = page_template
        self.page_title = page_title
        super().__init__(**kwargs)

    def interpolate_index(self, **parts: str) -> str:
        viewer = _viewer.get()
        context = {f"dash_{name}": value for name, value in parts.items()}
        context["page_title"] = self.page_title
        if viewer is not None:
            from tenants.networks import comparison_networks

            context["comparison_networks"] = comparison_networks(viewer.organisation)
        return render_to_string(
            self.page_template, context, request=viewer.request if viewer else None
        )


def make_app(name: str, mount: str, *, page_template: str, page_title: str) -> PageDash:
    return PageDash(
        name=name,
        server=flask.Flask(name),
        requests_pathname_prefix=mount,
        routes_pathname_prefix=mount,
        serve_locally=True,
        compress=False,
        use_async=False,
        # Django's cookie, whatever it is called (__Host-csrftoken in production).
        csrf_token_name=settings.CSRF_COOKIE_NAME,
        csrf_header_name="X-CSRFToken",
        title=page_title,
        update_title=None,
        suppress_callback_exceptions=False,
        page_template=page_template,
        page_title=page_title,
    )


def prime(app: Dash) -> None:
    """Register the app's script and style files now. Dash does it while rendering its page,
    so a worker process whose first Dash request is for a script, not the page, would refuse
    it ("not a registered library")."""
    with app.server.test_request_context(app.config.requests_pathname_prefix):
        app._generate_css_dist_html()  # noqa: SLF001 - Dash has no public way to do this
        app._generate_scripts_html()  # noqa: SLF001


HOP_BY_HOP = {"connection", "content-length", "set-cookie", "transfer-encoding"}


def serve(
    app: Dash,
    request: HttpRequest,
    *,
    may_view: Callable[[HttpRequest], bool],
) -> HttpResponse:
    """Answer `request` (a page, asset, layout or callback under the app's mount path)."""
    if not request.user.is_authenticated:
        if request.method == "GET" and request.path == app.config.requests_pathname_prefix:
            return redirect_to_login(request.get_full_path())
        return JsonResponse({"error": "Sign in to see this dashboard."}, status=403)
    if not may_view(request):
        if request.method == "GET" and request.path == app.config.requests_pathname_prefix:
            return render(
                request,
                "403.html",
                {"exception": "Your organisation does not take part in this dashboard."},
                status=403,
            )
        return JsonResponse({"error": "You cannot see this dashboard."}, status=403)
    if request.path.endswith("/_dash-update-component"):
        problem = _callback_problem(app, request)
        if problem:
            return JsonResponse({"error": problem}, status=400)
    is_page = request.path == app.config.requests_pathname_prefix
    if is_page:
        get_token(request)  # Dash sends Django's CSRF cookie back as X-CSRFToken
        # Scripts: Dash's own files and its one inline script, by hash. Styles: Plotly and
        # Dash's components inject <style> elements and style attributes, and offer no
        # nonce, so dashboard pages (only) allow inline styles.
        request.csp_extra = {
            "script-src": list(app.csp_hashes()),
            "style-src": ["'unsafe-inline'"],
        }
    environ = dict(request.environ)
    body = request.body
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):  # noqa: ANN202
        started["status"], started["headers"] = status, headers
        return lambda data: None

    token = _viewer.set(Viewer(request.user, connection.tenant, request))
    try:
        chunks = app.server.wsgi_app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
    finally:
        _viewer.reset(token)
    response = HttpResponse(content, status=int(started["status"].split(" ", 1)[0]))
    for name, value in started["headers"]:
        if name.lower() not in HOP_BY_HOP:
            response[name] = value
    if is_page:
        response["Cache-Control"] = "no-store"
    return response


def _callback_problem(app: Dash, request: HttpRequest) -> str | None:
    """Why a callback request is malformed, if it is: Dash itself answers those with a 500."""
    if request.method != "POST":
        return "Callbacks are sent with POST."
    try:
        body = json.loads(request.body)
    except ValueError:
        return "The request is not JSON."
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        return "The request does not name a callback's inputs."
    if body.get("output") not in app.callback_map:
        return "There is no such callback."
    return None
