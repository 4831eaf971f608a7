"""The lead's workspace page for its networks' You said, we did on its own website: the
public page, the embed, and the snippets to paste (dashboards/reports/network_public.py
serves them on the hub). Which sites may frame the embed is the widget's list, changed by
an administrator on the workspace's Widget page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability
from tenants.models import Network, Organisation, public_url


def _hub_url(name: str, slug: str) -> str:
    return public_url(
        settings.BASE_DOMAIN, reverse(name, args=[slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    )


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def network_you_said_we_did(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    networks = [
        {
            "network": network,
            "page_url": _hub_url("hub:network_you_said_we_did", network.slug),
            "embed_url": _hub_url("hub:network_you_said_we_did_embed", network.slug),
            "script_url": _hub_url("hub:network_you_said_we_did_script", network.slug),
        }
        for network in Network.objects.filter(lead=organisation).order_by("name")
    ]
    return render(
        request,
        "reports/network_you_said_we_did.html",
        {
            "networks": networks,
            "embed_hosts": list(organisation.embed_hosts),
            "is_admin": request.user.has_role(Role.ADMINISTRATOR),
        },
    )
