"""Seat limits: how many active staff accounts a plan allows, and how many member
organisations a network its subscriber leads may have.

Apps ask tenants.gate (check_seat_available, check_network_member_available), which raises
its SeatLimitReached with the refusals written here (billing/provider.py answers it). An
organisation with no subscription (one that predates billing) has no limits.
"""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context

from billing.models import SubscriptionStatus
from billing.plans import PLANS, Plan
from billing.subscriptions import BillingError, subscription_for
from tenants.accounts.models import User
from tenants.models import MembershipStatus, Network, Organisation


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


def seat_refusal(organisation: Organisation, active_staff_count: int) -> str | None:
    """Why one more active account does not fit the plan, or None if it does.

    `active_staff_count` is how many are active now, before the one being added.
    """
    plan = current_plan(organisation)
    if plan is None or active_staff_count < plan.staff_seats:
        return None
    return (
        f"The {plan.name} plan includes {plan.staff_seats} active staff accounts and "
        f"{active_staff_count} are in use. Deactivate an account, or an administrator can "
        "change plan on the Billing page."
    )


def check_plan_fits(organisation: Organisation, plan: Plan) -> None:
    """Before moving to `plan`: the staff and network members in use must fit it (raises
    BillingError saying what to deactivate or remove)."""
    staff = active_staff_count(organisation)
    if staff > plan.staff_seats:
        raise BillingError(
            f"The {plan.name} plan includes {plan.staff_seats} active staff accounts and "
            f"{staff} are active. Deactivate {staff - plan.staff_seats} first."
        )
    for network in Network.objects.filter(lead=organisation):
        members = network_member_count(network)
        if members > plan.network_members:
            raise BillingError(
                f"The {plan.name} plan allows {plan.network_members} member organisations in "
                f"a network you lead, and {network.name} has {members}."
            )


def network_member_limit(network: Network) -> int | None:
    plan = current_plan(network.lead)
    return plan.network_members if plan is not None else None


def network_member_count(network: Network) -> int:
    """Member organisations: those that accepted and have not left (not open invitations)."""
    return network.memberships.filter(status=MembershipStatus.ACTIVE).count()


def network_member_refusal(network: Network) -> str | None:
    """Why the lead's plan allows no more member organisations, or None if it allows one
    more (tenants/networks.accept_invitation asks before a membership becomes active)."""
    plan = current_plan(network.lead)
    if plan is None:
        return None
    members = network_member_count(network)
    if members < plan.network_members:
        return None
    return (
        f"{network.lead.name}'s {plan.name} plan allows {plan.network_members} member "
        f"organisations in a network, and {network.name} has {members}."
    )
