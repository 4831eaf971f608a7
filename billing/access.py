"""What a workspace may do, given its subscription. The one place that decides.

| subscription                         | standing   | workspace                                   |
| ------------------------------------ | ---------- | ------------------------------------------- |
| none (predates billing), incomplete  | full       | everything                                  |
| trialing, active                     | full       | everything (a banner if it ends soon)       |
| past_due, within the grace period    | grace      | everything, with a banner saying pay by when |
| past_due after the grace period,     | read-only  | read, sign in and out, change password and  |
| unpaid, canceled, incomplete_expired,|            | pay; no responding or other changes, no     |
| paused                               |            | alerts. Nothing is deleted; paying restores |

Plans also switch features on and off (`FEATURE_PATHS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from billing.models import Subscription, SubscriptionStatus
from billing.plans import PLANS, Feature, Plan
from billing.subscriptions import subscription_for
from tenants.models import Organisation


class Standing(Enum):
    FULL = "full"
    GRACE = "grace"
    READ_ONLY = "read-only"


READ_ONLY_STATUSES = frozenset(
    {
        SubscriptionStatus.UNPAID,
        SubscriptionStatus.CANCELED,
        SubscriptionStatus.INCOMPLETE_EXPIRED,
        SubscriptionStatus.PAUSED,
    }
)


@dataclass(frozen=True)
class BillingStanding:
    standing: Standing
    status: str
    plan: Plan | None
    # Past due: when the workspace becomes (or became) read-only.
    grace_ends_at: datetime | None = None
    # Active but cancelled at the end of the period: when it ends.
    ends_at: datetime | None = None
    # Paid for by the lead of this network (on the Network plan), not by the organisation.
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

    @property
    def status_label(self) -> str:
        if self.status in SubscriptionStatus.values:
            return SubscriptionStatus(self.status).label
        return self.status

    def has(self, feature: str) -> bool:
        # No plan (no subscription yet): every feature, as before billing existed.
        return self.plan is None or self.plan.has(feature)


# No subscription at all, or none started in Stripe yet: the organisation predates billing
# (every demo and test organisation made before it) or has not paid its first invoice.
# Such a workspace keeps working fully; only a subscription that stops being paid restricts it.
UNRESTRICTED = BillingStanding(Standing.FULL, SubscriptionStatus.NONE, None)


def grace_period() -> timedelta:
    return timedelta(days=settings.BILLING_GRACE_DAYS)


def standing_of(row: Subscription | None, *, now: datetime | None = None) -> BillingStanding:
    if row is None or row.status in (SubscriptionStatus.NONE, SubscriptionStatus.INCOMPLETE):
        return UNRESTRICTED
    now = now or timezone.now()
    plan = PLANS.get(row.plan)
    status = row.status
    if status == SubscriptionStatus.PAST_DUE:
        ends = (row.past_due_since or now) + grace_period()
        standing = Standing.GRACE if now < ends else Standing.READ_ONLY
        return BillingStanding(standing, status, plan, grace_ends_at=ends)
    if status in READ_ONLY_STATUSES:
        return BillingStanding(Standing.READ_ONLY, status, plan)
    ends_at = row.current_period_end if row.cancel_at_period_end else None
    return BillingStanding(Standing.FULL, status, plan, ends_at=ends_at)


def standing_for(organisation: Organisation | None) -> BillingStanding:
    if organisation is None or getattr(organisation, "is_hub", True) or not organisation.pk:
        return UNRESTRICTED
    own = standing_of(subscription_for(organisation))
    if own.standing is not Standing.READ_ONLY:
        return own  # full, or past due within its grace period (full use, with a banner)
    return network_cover(organisation) or own


def network_cover(organisation: Organisation) -> BillingStanding | None:
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
        if lead.standing is Standing.FULL and lead.plan is not None and lead.plan.network_members:
            return BillingStanding(
                Standing.FULL, lead.status, lead.plan, covered_by=membership.network.name
            )
    return None


def request_standing(request: HttpRequest) -> BillingStanding:
    """The request's organisation's standing, read once per request."""
    cached = getattr(request, "_billing_standing", None)
    if cached is None:
        cached = standing_for(getattr(request, "tenant", None))
        request._billing_standing = cached
    return cached


def alerts_allowed(organisation: Organisation) -> bool:
    return standing_for(organisation).alerts_enabled


def has_feature(organisation: Organisation, feature: Feature | str) -> bool:
    return standing_for(organisation).has(feature)


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

# Workspace pages that need a feature of the plan.
FEATURE_PATHS: dict[str, Feature] = {
    "/dashboards/network/": Feature.NETWORK_COMPARISON,
    "/reports/committee": Feature.NETWORK_COMPARISON,  # the page, its CSV and its PDF
    "/api-keys/": Feature.API_ACCESS,
    "/widget/": Feature.WIDGET,
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Refusal:
    reason: str  # "read-only" or "feature"
    standing: BillingStanding
    feature: Feature | None = None


def refusal_for(request: HttpRequest) -> Refusal | None:
    """Why billing refuses this workspace request, or None. Costs a query only for writes
    and for pages behind a plan feature."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_hub:
        return None
    path = request.path_info
    feature = next((f for prefix, f in FEATURE_PATHS.items() if path.startswith(prefix)), None)
    is_write = request.method not in SAFE_METHODS
    if feature is None and not is_write:
        return None
    standing = request_standing(request)
    if feature is not None and not standing.has(feature):
        return Refusal("feature", standing, feature)
    if (
        is_write
        and not standing.allows_writes
        and not path.startswith(WRITES_ALLOWED_WHEN_READ_ONLY)
        and not DASH_CALLBACK.match(path)
    ):
        return Refusal("read-only", standing)
    return None
