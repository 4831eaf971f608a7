"""`/.well-known/security.txt` (RFC 9116): where to report a vulnerability.

Served on the hub and on every organisation's host, so a researcher who finds a problem on
any Carevoice address finds the same contact. SECURITY.md says what happens next.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

# RFC 9116 asks for an expiry under a year away; the file is made on each request, so it
# never goes stale.
EXPIRES_AFTER = timedelta(days=180)


def hub_url(path: str) -> str:
    port = "" if settings.PUBLIC_PORT in (80, 443) else f":{settings.PUBLIC_PORT}"
    return f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}{path}"


@require_safe
def security_txt(request: HttpRequest) -> HttpResponse:
    expires = (timezone.now() + EXPIRES_AFTER).replace(microsecond=0)
    lines = [
        f"Contact: {settings.SECURITY_CONTACT}",
        f"Expires: {expires.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: en",
        f"Canonical: {hub_url('/.well-known/security.txt')}",
        f"Policy: {hub_url('/security/')}",
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_safe
def security_policy(request: HttpRequest) -> HttpResponse:
    """The page security.txt's `Policy` points to: how to report, and what we promise."""
    return render(request, "security.html", {"contact": settings.SECURITY_CONTACT})
