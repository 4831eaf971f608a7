"""The billing banner every workspace page shows when the subscription needs attention."""

from __future__ import annotations

from django.http import HttpRequest

from tenants.gate import Standing, request_standing


def billing(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_hub:
        return {"billing_standing": None}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"billing_standing": None}
    standing = request_standing(request)
    needs_banner = standing.standing is not Standing.FULL or standing.ends_at is not None
    return {"billing_standing": standing if needs_banner else None}
