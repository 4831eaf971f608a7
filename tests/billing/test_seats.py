"""Seat limits: the plan's staff accounts, enforced where accounts become active, asked of
the gate in tenants (tenants/gate.py), which billing answers."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from billing.models import Subscription
from billing.plans import ESSENTIALS, NETWORK
from billing.subscriptions import BillingError, change_plan
from tenants.accounts.models import Role, User
from tenants.gate import (
    SeatLimitReached,
    check_network_member_available,
    check_seat_available,
    network_member_limit,
    seat_limit,
)
from tenants.models import Organisation
from tenants.networks import (
    NetworkError,
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
)
from tests.billing.conftest import activate
from tests.conftest import PASSWORD, Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def test_no_subscription_no_limit(cast: Cast) -> None:
    assert seat_limit(cast.org_a) is None
    check_seat_available(cast.org_a, 10_000)


def test_the_plan_sets_the_limit_and_the_check_says_what_to_do(cast: Cast, plans) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    assert seat_limit(cast.org_a) == ESSENTIALS.staff_seats == 10
    check_seat_available(cast.org_a, 9)
    with pytest.raises(SeatLimitReached, match="Essentials plan includes 10 active staff"):
        check_seat_available(cast.org_a, 10)
    assert seat_limit(cast.org_b) is None  # another organisation's plan is its own


def _fill(cast: Cast, active: int) -> None:
    with tenant_context(cast.org_a):
        for n in range(active - User.objects.filter(is_active=True).count()):
            User.objects.create_user(f"extra{n}@alpha.example", PASSWORD, full_name=f"Extra {n}")


def test_reactivating_an_account_needs_a_free_seat(cast: Cast, plans) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    with tenant_context(cast.org_a):
        leaver = User.objects.create_user(
            "leaver@alpha.example", PASSWORD, full_name="Lee Leaver", is_active=False
        )
    _fill(cast, 10)
    admin = client_for(cast.org_a)
    sign_in(admin, cast.admin_a.email)
    page = admin.post(f"/staff/{leaver.pk}/active/", {"active": "1"}, follow=True)
    assert "includes 10 active staff accounts and 10 are in use" in page.content.decode()
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=leaver.pk).is_active
        User.objects.filter(email="extra0@alpha.example").update(is_active=False)
    admin.post(f"/staff/{leaver.pk}/active/", {"active": "1"})
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=leaver.pk).is_active


def test_moving_to_a_smaller_plan_needs_the_staff_to_fit(cast: Cast, plans) -> None:
    activate(cast.org_a)  # Organisation: 100 seats
    _fill(cast, 11)
    with tenant_context(cast.org_a), pytest.raises(BillingError, match="Deactivate 1 first"):
        change_plan(cast.org_a, "essentials", "monthly", actor=None)
    assert Subscription.objects.get(organisation=cast.org_a).plan == "organisation"


def test_a_network_plan_allows_twelve_members(cast: Cast, plans) -> None:
    network = create_network(lead=cast.org_a, name="Alpha Network")
    assert network_member_limit(network) is None
    activate(cast.org_a, plan=NETWORK)
    assert network_member_limit(network) == 12
    for n in range(12):
        # Rows only: a membership needs no schema.
        member = Organisation.objects.create(
            name=f"Member {n}", slug=f"member-{n}", schema_name=f"member_{n}", kind="hospice"
        )
        accept_invitation(invite_organisation(network, member), benchmarking_consent=True)
    invitation = invite_organisation(network, cast.org_b)  # inviting is always allowed
    with pytest.raises(NetworkError, match="allows 12 member organisations"):
        accept_invitation(invitation, benchmarking_consent=True)
    with pytest.raises(SeatLimitReached):
        check_network_member_available(network)

    leave_network(network.memberships.get(organisation__slug="member-0"))
    accept_invitation(invitation, benchmarking_consent=True)  # a place came free
    with pytest.raises(BillingError, match="allows 0 member organisations"):
        change_plan(cast.org_a, "organisation", "annual", actor=None)


def test_staff_roles_are_unaffected_by_seats(cast: Cast, plans) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    _fill(cast, 10)
    admin = client_for(cast.org_a)
    sign_in(admin, cast.admin_a.email)
    response = admin.post(f"/staff/{cast.member_a.pk}/role/", {"role": Role.RESPONDER})
    assert response.status_code == 302
