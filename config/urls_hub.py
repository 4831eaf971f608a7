"""URLs of the hub: the bare domain, served from the public schema."""

from __future__ import annotations

from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.i18n import set_language

from config.security_txt import security_policy, security_txt
from dashboards.reports import network_public
from dashboards.reports import public as public_reports
from feedback import urls_hub as feedback_hub
from tenants.accounts import views as account_views
from tenants.accounts.media import serve_photo
from tenants.admin import site as admin_site

# The hub's public pages, named hub:...: feedback's, and dashboards' You said, we did (an
# organisation's, and a network's with its embed).
hub_pages = [
    *feedback_hub.urlpatterns,
    path(
        "organisations/<slug:slug>/you-said-we-did/",
        public_reports.you_said_we_did_page,
        name="you_said_we_did",
    ),
    path(
        "networks/<slug:slug>/you-said-we-did/",
        network_public.network_you_said_we_did_page,
        name="network_you_said_we_did",
    ),
    path(
        "networks/<slug:slug>/you-said-we-did/embed/",
        network_public.network_you_said_we_did_embed,
        name="network_you_said_we_did_embed",
    ),
    path(
        "networks/<slug:slug>/you-said-we-did.js",
        network_public.network_you_said_we_did_script,
        name="network_you_said_we_did_script",
    ),
]

urlpatterns = [
    path(".well-known/security.txt", security_txt, name="security-txt"),
    path("security/", security_policy, name="security-policy"),
    # Platform staff's own sessions (the workspace page, on the hub).
    path("accounts/sessions/", account_views.sessions, name="hub_sessions"),
    path("admin/", admin_site.urls),
    # The language switch on public pages (feedback/languages.py): Django's view, by POST,
    # back to the page it came from (its same-origin Referer). Exempt from CSRF: choosing the
    # display language is harmless, and a CSRF token would set a cookie on every public page,
    # which set none until the visitor acts (tests/feedback/test_privacy_notice.py).
    path("i18n/setlang/", csrf_exempt(set_language), name="set_language"),
    path("accounts/login/second-factor/", include("tenants.accounts.second_factor_urls")),
    path("media/<path:path>", serve_photo, name="media"),
    path("billing/", include("billing.urls_hub")),
    path("", include("onboarding.signup.urls")),
    path("", include((hub_pages, "hub"))),
]
