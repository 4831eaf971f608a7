"""URLs of an organisation's workspace: `<slug>.<BASE_DOMAIN>`, served from its own schema."""

from __future__ import annotations

from django.urls import include, path

from config.security_txt import security_policy, security_txt
from tenants.accounts.media import serve_photo

urlpatterns = [
    path(".well-known/security.txt", security_txt, name="security-txt"),
    path("security/", security_policy, name="security-policy"),
    path("media/<path:path>", serve_photo, name="media"),
    path("accounts/login/second-factor/", include("tenants.accounts.second_factor_urls")),
    path("accounts/", include("tenants.accounts.urls")),
    path("alerts/", include("alerts.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("reports/", include("dashboards.reports.urls")),
    path("reports/", include("dashboards.reports.urls_saved")),
    path("billing/", include("billing.urls_workspace")),
    path("", include("onboarding.urls")),
    path("", include("feedback.urls_workspace")),
    path("", include("tenants.urls")),
]
