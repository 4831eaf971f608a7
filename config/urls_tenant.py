"""URLs of an organisation's workspace: `<slug>.<BASE_DOMAIN>`, served from its own schema."""

from __future__ import annotations

from django.urls import include, path

from tenants.accounts.media import serve_photo

urlpatterns = [
    path("media/<path:path>", serve_photo, name="media"),
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
