"""The lead's page for its networks' response standards (dashboards/network_standards.py):
every member of the lead's staff sees them; its administrators change them."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboards.forms import NetworkStandardsForm
from dashboards.network_standards import (
    StandardsError,
    led_networks,
    set_network_standards,
    standards_of,
)
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability
from tenants.models import Network


def _led(request: HttpRequest, pk: int) -> Network:
    network = next((n for n in led_networks(request.tenant) if n.pk == pk), None)
    if network is None:
        raise Http404("Your organisation does not lead that network.")
    return network


def _page(request: HttpRequest, bound: tuple[int, NetworkStandardsForm] | None = None):  # noqa: ANN202
    rows = []
    for network in led_networks(request.tenant):
        standards = standards_of(network)
        form = (
            bound[1]
            if bound and bound[0] == network.pk
            else NetworkStandardsForm(standards=standards, prefix=f"n{network.pk}")
        )
        rows.append((network, standards, form))
    return render(
        request,
        "dashboards/network_standards.html",
        {"rows": rows, "is_admin": request.user.has_role(Role.ADMINISTRATOR)},
        status=400 if bound else 200,
    )


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def network_standards(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.ADMINISTRATOR)
def change_network_standards(request: HttpRequest, pk: int) -> HttpResponse:
    network = _led(request, pk)
    form = NetworkStandardsForm(
        request.POST, standards=standards_of(network), prefix=f"n{network.pk}"
    )
    if not form.is_valid():
        return _page(request, (network.pk, form))
    try:
        set_network_standards(
            network,
            form.allowances(),
            met_percent=form.cleaned_data["met_percent"],
            actor=request.user,
            request=request,
        )
    except StandardsError as exc:
        form.add_error(None, str(exc))
        return _page(request, (network.pk, form))
    messages.success(request, f"Saved the response standards of {network.name}.")
    return redirect("dashboards:network_standards")
