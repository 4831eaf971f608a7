"""What a workspace may do, given its subscription. The one place that decides.

| subscription                         | standing   | workspace                                   |
| ------------------------------------ | ---------- | ------------------------------------------- |
| none (predates billing), incomplete  | full       | everything                                  |
| trialing, active                     | full       | everything (a banner if it ends soon)       |
| past_due, within the grace period    | grace      | everything, with a banner saying pay by when |
| past_due after the grace period,     | read-only  | read, sign in and out, change password and  |
| unpaid, canceled, incomplete_expired,|            | pay; no responding or other changes, no     |
| paused                               |            | alerts. Nothing is deleted; paying restores |

Plans also switch capabilities on and off; views say which they need
(`tenants.gate.requires_capability`). Apps ask `tenants.gate`, which billing answers through
billing/provider.py; this module is what the answers are made of.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from billing.models import Subscription, SubscriptionStatus
from billing.plans import PLANS, Plan
from billing.subscriptions import subscription_for
from tenants.gate import UNRESTRICTED, OrganisationStanding, Standing, request_standing
from tenants.models import Organisation

READ_ONLY_STATUSES = frozenset(
    {
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
        SubscriptionStatus.PAUSED,
    }
)


def _standing(
    standing: Standing,
    status: str,
    plan: Plan | None,
    *,
    grace_ends_at: datetime | None = None,
    ends_at: datetime | None = None,
    covered_by: str | None = None,
) -> OrganisationStanding:
    label = SubscriptionStatus(status).label if status in SubscriptionStatus.values else status
    return OrganisationStanding(
        standing,
        status=status,
        status_label=label,
        plan_name=plan.name if plan is not None else None,
        # No plan we sell (a row naming an old one): every capability, as with no plan.
        capabilities=plan.features if plan is not None else None,
        grace_ends_at=grace_ends_at,
        ends_at=ends_at,
        covered_by=covered_by,
    )


def grace_period() -> timedelta:
    return timedelta(days=settings.BILLING_GRACE_DAYS)


def standing_of(row: Subscription | None, *, now: datetime | None = None) -> OrganisationStanding:
    # No subscription at all, or none started in Stripe yet: the organisation predates
    # billing (every demo and test organisation made before it) or has not paid its first
    # invoice. Such a workspace keeps working fully; only a subscription that stops being
    # paid restricts it.
    if row is None or row.status in (SubscriptionStatus.NONE, SubscriptionStatus.INCOMPLETE):
        return UNRESTRICTED
    now = now or timezone.now()
    plan = PLANS.get(row.plan)
    status = row.status
    if status == SubscriptionStatus.PAST_DUE:
        ends = (row.past_due_since or now) + grace_period()
        standing = Standing.GRACE if now < ends else Standing.READ_ONLY
        return _standing(standing, status, plan, grace_ends_at=ends)
    if status in READ_ONLY_STATUSES:
        return _standing(Standing.READ_ONLY, status, plan)
    ends_at = row.current_period_end if row.cancel_at_period_end else None
    return _standing(Standing.FULL, status, plan, ends_at=ends_at)


def standing_for(organisation: Organisation) -> OrganisationStanding:
    """Billing's answer to tenants.gate.standing_for (which answers for the hub itself)."""
    own = standing_of(subscription_for(organisation))
    if own.standing is not Standing.READ_ONLY:
        return own  # full, or past due within its grace period (full use, with a banner)
    return network_cover(organisation) or own


def network_cover(organisation: Organisation) -> OrganisationStanding | None:
    """A lead on the Network plan pays for its members: an active member of such a network
    whose own subscription has lapsed keeps full use while the lead's subscription is paid
    (one that never had a subscription has full use anyway; one past due keeps its banner
    through the grace period, then is covered). The plan's member limit is checked when members join
    (tenants/networks.accept_invitation)."""
    from tenants.models import MembershipStatus, NetworkMembership

    memberships = NetworkMembership.objects.filter(
        organisation=organisation, status=MembershipStatus.ACTIVE
    ).select_related("network__lead")
    for membership in memberships:
        lead_row = subscription_for(membership.network.lead)
        if lead_row is None:
            continue
        lead = standing_of(lead_row)
        plan = PLANS.get(lead_row.plan)
        if lead.standing is Standing.FULL and plan is not None and plan.network_members:
            return _standing(Standing.FULL, lead.status, plan, covered_by=membership.network.name)
    return None


# --- workspace requests -------------------------------------------------------------------------

# Writes a read-only workspace still accepts: signing in and out, passwords, and paying.
WRITES_ALLOWED_WHEN_READ_ONLY = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/password/",
    # Ending one's own sessions is a security action, never held back for an unpaid bill.
    "/accounts/sessions/",
    "/billing/",
    "/reports/pdf/",  # making a report's PDF changes nothing
)
# Dash callbacks are POSTs that only read (the dashboards stay readable).
DASH_CALLBACK = re.compile(r"^/dashboards/[a-z-]+/_dash-")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def read_only_refusal(request: HttpRequest) -> OrganisationStanding | None:
    """The standing that refuses this workspace write (read-only), or None. Costs a query
    only for writes, and asks the gate, whose answer the request keeps."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_hub or request.method in SAFE_METHODS:
        return None
    path = request.path_info
    if path.startswith(WRITES_ALLOWED_WHEN_READ_ONLY) or DASH_CALLBACK.match(path):
        return None
    standing = request_standing(request)
    return None if standing.allows_writes else standing
