"""Thin views: each Dash app behind the workspace's own login."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from dashboards import network_app, tenant_app
from dashboards.serving import serve
from tenants.gate import Capability, requires_capability
from tenants.networks import comparison_networks


def index(request: HttpRequest) -> HttpResponse:
    return redirect("dashboards:live")


def live(request: HttpRequest, path: str = "") -> HttpResponse:
    return serve(tenant_app.app, request, may_view=lambda r: True)


@requires_capability(Capability.NETWORK_COMPARISON)
def network(request: HttpRequest, path: str = "") -> HttpResponse:
    return serve(network_app.app, request, may_view=lambda r: bool(comparison_networks(r.tenant)))
