"""URLs of the hub: the bare domain, served from the public schema."""

from __future__ import annotations

from django.urls import path
from django.views.generic import TemplateView

from tenants.admin import site as admin_site

urlpatterns = [
    path("", TemplateView.as_view(template_name="hub/home.html"), name="hub-home"),
    path("admin/", admin_site.urls),
]
