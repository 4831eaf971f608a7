from __future__ import annotations

import pytest

from tenants.models import MembershipStatus
from tenants.networks import (
    NetworkError,
    accept_invitation,
    comparable_members,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_members_are_compared_only_while_active_and_consenting(cast: Cast) -> None:
    network = create_network(lead=cast.org_a, name="Alpha Network")
    membership = invite_organisation(network, cast.org_b)
    assert membership.status == MembershipStatus.INVITED
    assert comparable_members(network) == []

    accept_invitation(membership, benchmarking_consent=False)
    assert comparable_members(network) == []

    set_benchmarking_consent(membership, True)
    assert comparable_members(network) == [cast.org_b]

    leave_network(membership)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.LEFT
    assert membership.benchmarking_consent is False
    assert comparable_members(network) == []


def test_network_rules(cast: Cast) -> None:
    network = create_network(lead=cast.org_a, name="Rules Network")
    with pytest.raises(NetworkError, match="lead organisation"):
        invite_organisation(network, cast.org_a)
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    with pytest.raises(NetworkError, match="already an active member"):
        invite_organisation(network, cast.org_b)
    with pytest.raises(NetworkError, match="open invitation"):
        accept_invitation(membership, benchmarking_consent=True)
    leave_network(membership)
    again = invite_organisation(network, cast.org_b)
    assert again.pk == membership.pk
    assert again.status == MembershipStatus.INVITED


def test_the_lead_sees_its_members_and_the_member_sees_its_network(cast: Cast) -> None:
    from tests.conftest import client_for, sign_in

    network = create_network(lead=cast.org_a, name="Visible Network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)

    lead = client_for(cast.org_a)
    sign_in(lead, cast.member_a.email)
    body = lead.get("/").content.decode()
    assert "Networks you lead" in body and cast.org_b.name in body

    member = client_for(cast.org_b)
    sign_in(member, cast.admin_b.email)
    body = member.get("/").content.decode()
    assert "Visible Network" in body and "agreed to comparison" in body
