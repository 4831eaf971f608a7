"""URLs of the hub: the bare domain, served from the public schema."""

from __future__ import annotations

from django.urls import include, path

from tenants.admin import site as admin_site

urlpatterns = [
    path("admin/", admin_site.urls),
    path("", include("feedback.urls_hub")),
]
