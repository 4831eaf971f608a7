"""The Content-Security-Policy every response carries.

Pages may not be framed, except where a view names the hosts that may frame it
(`allow_framing_by`): the widget, which an organisation embeds on the sites it lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_exempt

BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
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


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = build_policy(
                getattr(request, "csp_frame_ancestors", None),
                getattr(request, "csp_extra", None),
            )
        return response


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
