"""A password alone reaches only the pages that finish signing in.

Whoever must use a second factor (tenants/accounts/second_factor.py says who), and anyone who
set one up, is sent to the code step (or, without a device yet, to set one up) until this
session has passed it. Everything else about access stays in each view.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import Resolver404, resolve, reverse

from tenants.accounts.second_factor import has_second_factor, is_second_factor_required
from tenants.accounts.sso import signed_in_through_provider

# Pages an unverified session may still see: the steps of signing in and out.
SIGN_IN_VIEWS = frozenset(
    {
        "accounts:login",
        "accounts:logout",
        "accounts:password_reset",
        "accounts:password_reset_done",
        "accounts:password_reset_confirm",
        "accounts:password_reset_complete",
        "accounts:sso_start",
        "accounts:sso_callback",
        "second_factor:verify",
        "second_factor:set_up",
        "admin:login",
        "admin:logout",
    }
)
# Hub pages anyone may see without signing in: an unverified session gains nothing there.
PUBLIC_HUB_VIEWS = frozenset(
    {
        "hub:home",
        "hub:tell",
        "hub:sent",
        "hub:browse",
        "hub:story",
        "hub:author_response",
        "hub:organisation",
        "hub:you_said_we_did",
        "hub:widget",
        "hub:widget_sent",
        "hub:widget_script",
        "hub:kiosk",
        "hub:kiosk_service",
        "hub:kiosk_sent",
        "signup:pricing",
        "security-txt",
        "security-policy",
    }
)
# Answered before routing or by WhiteNoise; listed so the rule is written down in one place.
UNGUARDED_PREFIXES = ("/static/", "/healthz", "/livez")
# Session key: this account was found to have no second factor (and needs none).
NO_SECOND_FACTOR_KEY = "_second_factor_none"


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def _refusal(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if request.path_info.startswith(UNGUARDED_PREFIXES):
            return None
        view_name = _view_name(request)
        if view_name in SIGN_IN_VIEWS:
            return None
        if signed_in_through_provider(request):
            # The organisation's provider checked its own second factor (tenants/accounts/sso.py).
            return None
        organisation = getattr(request, "tenant", None)
        is_hub = organisation is None or organisation.is_hub
        if is_hub and view_name in PUBLIC_HUB_VIEWS:
            return None
        required = is_second_factor_required(user, organisation)
        if not required and _known_without_second_factor(request):
            return None
        enrolled = has_second_factor(user)
        if not enrolled and not required:
            # Most staff: remembered for the session, so their pages and Dash polls cost no
            # query here. TRICKY: safe to keep, because setting one up either verifies this
            # session or, from another, ends this one (second_factor.end_sessions).
            request.session[NO_SECOND_FACTOR_KEY] = user.pk
            return None
        if _wants_json(request):
            return JsonResponse(
                {"error": "Finish signing in with your second factor first."}, status=403
            )
        step = "second_factor:verify" if enrolled else "second_factor:set_up"
        query = urlencode({"next": request.get_full_path()})
        url = reverse(step, urlconf=getattr(request, "urlconf", None))
        return HttpResponseRedirect(f"{url}?{query}")


def _known_without_second_factor(request: HttpRequest) -> bool:
    return request.session.get(NO_SECOND_FACTOR_KEY) == request.user.pk


def _view_name(request: HttpRequest) -> str:
    try:
        return resolve(request.path_info, urlconf=getattr(request, "urlconf", None)).view_name
    except Resolver404:
        return ""


def _wants_json(request: HttpRequest) -> bool:
    """Dash callbacks and API calls: a redirect to an HTML page would only confuse them."""
    accept = request.headers.get("Accept", "")
    return (
        "/_dash-" in request.path_info
        or request.content_type == "application/json"
        or ("application/json" in accept and "text/html" not in accept)
    )
