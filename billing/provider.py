"""Billing's answers to the gate in tenants (tenants/gate.py): what an organisation may do,
given its subscription and plan. Registered in `BillingConfig.ready()`; apps ask the gate,
never this module."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from billing import access, seats
from tenants.gate import Capability, GateProvider, OrganisationStanding
from tenants.models import Network, Organisation


class BillingProvider(GateProvider):
    def standing_for(self, organisation: Organisation) -> OrganisationStanding:
        return access.standing_for(organisation)

    def seat_limit(self, organisation: Organisation) -> int | None:
        return seats.seat_limit(organisation)

    def seat_refusal(self, organisation: Organisation, active_staff_count: int) -> str | None:
        return seats.seat_refusal(organisation, active_staff_count)

    def network_member_limit(self, network: Network) -> int | None:
        return seats.network_member_limit(network)

    def network_member_refusal(self, network: Network) -> str | None:
        return seats.network_member_refusal(network)

    def capability_refusal(
        self, request: HttpRequest, standing: OrganisationStanding, capability: Capability
    ) -> HttpResponse:
        return refusal_page(request, "billing/no_feature.html", standing, capability)


def refusal_page(
    request: HttpRequest,
    template: str,
    standing: OrganisationStanding,
    capability: Capability | None = None,
) -> HttpResponse:
    """The 403 page saying why the subscription does not allow this, and what to do."""
    response = TemplateResponse(
        request,
        template,
        {
            "standing": standing,
            "feature": capability.label if capability else "",
            "grace_days": settings.BILLING_GRACE_DAYS,
        },
        status=403,
    )
    return response.render()
