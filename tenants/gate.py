"""What an organisation may do: the one gate every app asks.

Apps ask here, never `billing`: whether a capability is in the plan (`has_capability`,
`requires_capability` on a view), whether the workspace takes writes and sends alerts, the
staff seats and network members its plan allows, and its standing (full, grace, read-only)
for banners and refusal pages.

Tenants defines the questions and the shapes of the answers; one provider supplies them.
Billing registers it in `BillingConfig.ready()` (billing/provider.py). With none registered,
everything is allowed, as for an organisation that predates billing.

TRICKY: a request's standing is read once and kept on the request, keyed by its
organisation, so the middleware, the view's decorator and the banner share one lookup and
a request that changes organisation never reuses another's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

if TYPE_CHECKING:
    from tenants.models import Network, Organisation


class Capability(models.TextChoices):
    """What a plan may switch on. The values are stored in plans and data: never change one."""

    NETWORK_COMPARISON = "network_comparison", "Network comparison dashboards"
    API_ACCESS = "api_access", "Read API keys"
    WIDGET = "widget", "Website widget and kiosk"


class Standing(Enum):
    FULL = "full"
    GRACE = "grace"
    READ_ONLY = "read-only"


@dataclass(frozen=True)
class OrganisationStanding:
    """An organisation's standing, as the provider sees it."""

    standing: Standing
    # The provider's word for the state ("past_due"; "" for none) and its words for people.
    status: str = ""
    status_label: str = ""
    # The plan in force, for refusal pages; None when no plan applies.
    plan_name: str | None = None
    # The capabilities the plan includes; None: every one (no plan restricts it).
    capabilities: frozenset[str] | None = None
    # Grace: when the workspace becomes (or became) read-only.
    grace_ends_at: datetime | None = None
    # Ending at the end of the period as asked: when.
    ends_at: datetime | None = None
    # Paid for by the lead of this network, not by the organisation.
    covered_by: str | None = None

    @property
    def allows_writes(self) -> bool:
        return self.standing is not Standing.READ_ONLY

    @property
    def alerts_enabled(self) -> bool:
        return self.standing is not Standing.READ_ONLY

    @property
    def is_read_only(self) -> bool:
        return self.standing is Standing.READ_ONLY

    def has(self, capability: Capability | str) -> bool:
        return self.capabilities is None or capability in self.capabilities


UNRESTRICTED = OrganisationStanding(Standing.FULL)


class SeatLimitReached(Exception):
    """Adding this account (or member organisation) would go over the plan's limit; the
    message, the provider's, says what to do."""


class GateProvider:
    """The answers a provider gives. This base answers as if none were registered
    (everything allowed); a provider overrides what it decides."""

    def standing_for(self, organisation: Organisation) -> OrganisationStanding:
        return UNRESTRICTED

    def seat_limit(self, organisation: Organisation) -> int | None:
        """Active staff accounts the organisation may have; None for no limit."""
        return None

    def seat_refusal(self, organisation: Organisation, active_staff_count: int) -> str | None:
        """Why one more active account does not fit beside `active_staff_count`, or None."""
        return None

    def network_member_limit(self, network: Network) -> int | None:
        """Member organisations the network may have; None for no limit."""
        return None

    def network_member_refusal(self, network: Network) -> str | None:
        """Why the network may not take one more member organisation, or None."""
        return None

    def capability_refusal(
        self, request: HttpRequest, standing: OrganisationStanding, capability: Capability
    ) -> HttpResponse:
        """The page refusing a view whose capability the standing lacks."""
        message = f"{capability.label} is not in your organisation's plan."
        return render(request, "403.html", {"exception": message}, status=403)


_provider: GateProvider | None = None


def register_provider(provider: GateProvider | None) -> GateProvider | None:
    """Make `provider` the one that answers (None: nobody, everything allowed). Returns
    the one it replaces."""
    global _provider
    previous, _provider = _provider, provider
    return previous


# --- standing -----------------------------------------------------------------------------------


def standing_for(organisation: Organisation | None) -> OrganisationStanding:
    """The organisation's standing. The hub, an unsaved organisation and any organisation
    when no provider is registered have full use."""
    provider = _provider
    if (
        provider is None
        or organisation is None
        or getattr(organisation, "is_hub", True)
        or not organisation.pk
    ):
        return UNRESTRICTED
    return provider.standing_for(organisation)


def request_standing(request: HttpRequest) -> OrganisationStanding:
    """The standing of the request's organisation, read once per request."""
    organisation = getattr(request, "tenant", None)
    key = getattr(organisation, "pk", None)
    cached = getattr(request, "_gate_standing", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    standing = standing_for(organisation)
    request._gate_standing = (key, standing)
    return standing


def has_capability(organisation: Organisation, capability: Capability | str) -> bool:
    return standing_for(organisation).has(capability)


def allows_writes(organisation: Organisation) -> bool:
    return standing_for(organisation).allows_writes


def alerts_allowed(organisation: Organisation) -> bool:
    return standing_for(organisation).alerts_enabled


# --- seats --------------------------------------------------------------------------------------


def seat_limit(organisation: Organisation) -> int | None:
    """Active staff accounts the organisation's plan allows; None for no limit."""
    return None if _provider is None else _provider.seat_limit(organisation)


def check_seat_available(organisation: Organisation, active_staff_count: int) -> None:
    """Raise SeatLimitReached unless one more active account fits the plan.
    `active_staff_count` is how many are active (or held) now, before the one being added."""
    provider = _provider
    refusal = None if provider is None else provider.seat_refusal(organisation, active_staff_count)
    if refusal is not None:
        raise SeatLimitReached(refusal)


def network_member_limit(network: Network) -> int | None:
    """Member organisations the network's plan allows; None for no limit."""
    return None if _provider is None else _provider.network_member_limit(network)


def check_network_member_available(network: Network) -> None:
    """Raise SeatLimitReached unless the network may take one more member organisation."""
    refusal = None if _provider is None else _provider.network_member_refusal(network)
    if refusal is not None:
        raise SeatLimitReached(refusal)


# --- views --------------------------------------------------------------------------------------

View = Callable[..., HttpResponse]


def requires_capability(capability: Capability) -> Callable[[View], View]:
    """A view that needs `capability` in the organisation's plan; refused (403, the
    provider's page) otherwise. Put it outermost, so the plan answers before anything else."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            standing = request_standing(request)
            provider = _provider
            if provider is not None and not standing.has(capability):
                return provider.capability_refusal(request, standing, capability)
            return view(request, *args, **kwargs)

        wrapped.required_capability = capability  # type: ignore[attr-defined]
        return wrapped

    return decorator
