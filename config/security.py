"""The headers every response carries, and the methods no view answers.

- A Content-Security-Policy. Pages may not be framed, except where a view names the hosts
  that may frame it (`allow_framing_by`): the widget, which an organisation embeds on the
  sites it lists.
- `Cache-Control: private, no-store` on anything served to a signed-in person, so a shared
  computer's browser cache or a proxy keeps no copy of a staff page (ASVS 14.3.2).
- TRACE and TRACK are refused before any view sees them (ASVS 13.4.4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.clickjacking import xframe_options_exempt

BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    # No page sets <base>; 'none' stops injected markup from re-pointing relative URLs.
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def build_policy(
    frame_ancestors: Iterable[str] | None = None,
    extra: dict[str, list[str]] | None = None,
) -> str:
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    for name, sources in (extra or {}).items():
        policy.setdefault(name, ["'self'"]).extend(sources)
    hosts = [host for host in (frame_ancestors or []) if host]
    if hosts:
        policy["frame-ancestors"] = ["'self'", *hosts]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


# Methods that echo or that no Carevoice view is written for.
REFUSED_METHODS = frozenset({"TRACE", "TRACK", "CONNECT"})
ANSWERED_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in REFUSED_METHODS:
            response: HttpResponse = HttpResponseNotAllowed(ANSWERED_METHODS)
        else:
            response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = build_policy(
                getattr(request, "csp_frame_ancestors", None),
                getattr(request, "csp_extra", None),
            )
        if _is_signed_in(request) and not _is_cacheable_static(response):
            # TRICKY: replace, not add: a view's `max-age` on a staff page would still let
            # the browser keep the page on disk.
            response["Cache-Control"] = "private, no-store"
        return response


def _is_signed_in(request: HttpRequest) -> bool:
    # `user` is set later in the chain than this middleware; read it on the way out.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def _is_cacheable_static(response: HttpResponse) -> bool:
    """Files that are the same for everyone (Dash's fingerprinted bundles, static files)."""
    content_type = response.get("Content-Type", "")
    return content_type.startswith(("application/javascript", "text/javascript", "text/css"))


def allow_framing_by(
    hosts_for: Callable[[HttpRequest], Iterable[str]],
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Let the hosts `hosts_for(request)` returns, and only those, frame this view."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @xframe_options_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            hosts = list(hosts_for(request))
            if hosts:
                request.csp_frame_ancestors = hosts
            else:
                # Nobody listed: behave like every other page.
                response["X-Frame-Options"] = "DENY"
            return response

        return wrapped

    return decorator
