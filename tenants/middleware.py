"""Workspaces that are not ready, or no longer open, say so instead of serving pages."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tenants.models import OrganisationStatus


class OrganisationStatusMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.is_hub or tenant.status == OrganisationStatus.ACTIVE:
            return self.get_response(request)
        status = 503 if tenant.status == OrganisationStatus.PROVISIONING else 403
        response = TemplateResponse(
            request, "tenants/unavailable.html", {"tenant": tenant}, status=status
        )
        if status == 503:
            response["Retry-After"] = "5"
        return response.render()
