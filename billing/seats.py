"""Seat limits: how many active staff accounts a plan allows, and how many member
organisations a network its subscriber leads may have.

An organisation with no subscription (one that predates billing) has no limits.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from billing.models import SubscriptionStatus
from billing.plans import PLANS, Plan
from billing.subscriptions import BillingError, subscription_for
from tenants.accounts.models import User
from tenants.models import MembershipStatus, Network, Organisation


class SeatLimitReached(BillingError):
    """Adding this account (or member) would go over the plan's limit."""


def current_plan(organisation: Organisation) -> Plan | None:
    row = subscription_for(organisation)
    if row is None or row.status == SubscriptionStatus.NONE or row.plan not in PLANS:
        return None
    return PLANS[row.plan]


def seat_limit(organisation: Organisation) -> int | None:
    """Active staff accounts the organisation's plan allows; None for no limit."""
    plan = current_plan(organisation)
    return plan.staff_seats if plan is not None else None


def active_staff_count(organisation: Organisation) -> int:
    if connection.schema_name == organisation.schema_name:
        return User.objects.filter(is_active=True).count()
    with tenant_context(organisation):
        return User.objects.filter(is_active=True).count()


def check_seat_available(organisation: Organisation, active_staff_count: int) -> None:
    """Raise SeatLimitReached unless one more active account fits the plan.

    `active_staff_count` is how many are active now, before the one being added.
    """
    limit = seat_limit(organisation)
    if limit is not None and active_staff_count >= limit:
        plan = current_plan(organisation)
        name = plan.name if plan else "current"
        raise SeatLimitReached(
            f"The {name} plan includes {limit} active staff accounts and {active_staff_count} "
            "are in use. Deactivate an account, or an administrator can change plan on the "
            "Billing page."
        )


def check_plan_fits(organisation: Organisation, plan: Plan) -> None:
    """Before moving to `plan`: the staff and network members in use must fit it."""
    staff = active_staff_count(organisation)
    if staff > plan.staff_seats:
        raise SeatLimitReached(
            f"The {plan.name} plan includes {plan.staff_seats} active staff accounts and "
            f"{staff} are active. Deactivate {staff - plan.staff_seats} first."
        )
    for network in Network.objects.filter(lead=organisation):
        members = network_member_count(network)
        if members > plan.network_members:
            raise SeatLimitReached(
                f"The {plan.name} plan allows {plan.network_members} member organisations in "
                f"a network you lead, and {network.name} has {members}."
            )


def network_member_limit(network: Network) -> int | None:
    plan = current_plan(network.lead)
    return plan.network_members if plan is not None else None


def network_member_count(network: Network) -> int:
    """Member organisations: those that accepted and have not left (not open invitations)."""
    return network.memberships.filter(status=MembershipStatus.ACTIVE).count()


def check_network_member_available(network: Network) -> None:
    """Raise SeatLimitReached unless the lead's plan allows one more member organisation
    (tenants/networks.accept_invitation asks before a membership becomes active)."""
    limit = network_member_limit(network)
    if limit is None:
        return
    members = network_member_count(network)
    if members >= limit:
        plan = current_plan(network.lead)
        raise SeatLimitReached(
            f"{network.lead.name}'s {plan.name if plan else ''} plan allows {limit} member "
            f"organisations in a network, and {network.name} has {members}."
        )
