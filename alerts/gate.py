"""Whether an organisation gets alerts at all. The one place that decides (billing will add
its own reasons here)."""

from __future__ import annotations

from django.db import connection

from tenants.models import OrganisationStatus


def alerts_enabled() -> bool:
    """For the organisation whose schema is active."""
    tenant = connection.tenant
    return getattr(tenant, "status", None) == OrganisationStatus.ACTIVE
