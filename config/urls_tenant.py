"""URLs of an organisation's workspace: `<slug>.<BASE_DOMAIN>`, served from its own schema."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("tenants.accounts.urls")),
    path("", include("feedback.urls_workspace")),
    path("", include("tenants.urls")),
]
