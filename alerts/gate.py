"""Whether an organisation gets alerts at all. The one place alerts ask: the organisation
must be active, and the gate in tenants must allow it (tenants/gate.py: no alerts while a
workspace is read-only for want of payment)."""

from __future__ import annotations

from django.db import connection

from tenants.gate import alerts_allowed
from tenants.models import OrganisationStatus


def alerts_enabled() -> bool:
    """For the organisation whose schema is active."""
    tenant = connection.tenant
    if getattr(tenant, "status", None) != OrganisationStatus.ACTIVE:
        return False
    return alerts_allowed(tenant)
