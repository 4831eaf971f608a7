"""Network invitations from the lead's workspace, answered in the invited organisation's."""

from __future__ import annotations

import pytest
from django.core import mail
from django_tenants.utils import schema_context, tenant_context

from tenants import gate
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import MembershipStatus, Network, NetworkInvitation, NetworkMembership
from tenants.networks import comparable_members, create_network
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(cast: Cast):  # noqa: ANN201
    return create_network(lead=cast.org_a, name="Alpha Care Network")


def invite(client: object, network, email: str, organisation=None) -> object:  # noqa: ANN001
    data = {f"n{network.pk}-email": email}
    if organisation is not None:
        data[f"n{network.pk}-organisation"] = organisation.pk
    return client.post(f"/networks/{network.pk}/invite/", data, follow=True)


def test_invited_by_email_then_accepted_with_consent(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
    django_capture_on_commit_callbacks: object,
) -> None:
    cast.org_b.email_domains = ["beta-trust.example"]
    cast.org_b.save(update_fields=["email_domains"])
    with django_capture_on_commit_callbacks(execute=True):
        page = invite(admin_a_client, network, "chief@beta-trust.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    assert "Invited Beta Hospitals NHS Trust" in page.content.decode()
    (message,) = mail.outbox
    assert message.to == ["chief@beta-trust.example"]
    assert "beta.localhost:8000/networks/" in message.body
    membership = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    assert membership.status == MembershipStatus.INVITED

    home = admin_b_client.get("/").content.decode()
    assert "1 network invitation waiting" in home
    assert "Alpha Care Network" in admin_b_client.get("/networks/").content.decode()
    response = admin_b_client.post(
        f"/networks/invitations/{membership.pk}/answer/",
        {"answer": "accept", "benchmarking_consent": "on"},
        follow=True,
    )
    assert "You joined Alpha Care Network and agreed to be compared" in (response.content.decode())
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.benchmarking_consent
    assert comparable_members(network) == [cast.org_b]
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="network.invited").exists()
    with tenant_context(cast.org_b):
        assert AuditEvent.objects.filter(
            action="network.joined", actor_label=cast.admin_b.email
        ).exists()


def test_declined(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
) -> None:
    invite(admin_a_client, network, "someone@beta.example", organisation=cast.org_b)
    membership = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    response = admin_b_client.post(
        f"/networks/invitations/{membership.pk}/answer/", {"answer": "decline"}, follow=True
    )
    assert "You declined to join Alpha Care Network" in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.DECLINED
    assert comparable_members(network) == []
    assert "network invitation" not in admin_b_client.get("/").content.decode()
    lead_page = admin_a_client.get("/networks/").content.decode()
    assert "Declined" in lead_page


def test_a_member_changes_consent_and_leaving_withdraws_it(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
) -> None:
    invite(admin_a_client, network, "someone@beta.example", organisation=cast.org_b)
    membership = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    admin_b_client.post(f"/networks/invitations/{membership.pk}/answer/", {"answer": "accept"})
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    assert not membership.benchmarking_consent  # not ticked

    url = f"/networks/memberships/{membership.pk}/"
    admin_b_client.post(url, {"action": "consent", "benchmarking_consent": "on"})
    membership.refresh_from_db()
    assert membership.benchmarking_consent
    assert comparable_members(network) == [cast.org_b]

    response = admin_b_client.post(url, {"action": "leave"}, follow=True)
    assert "You left Alpha Care Network" in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.LEFT
    assert membership.benchmarking_consent is False
    assert comparable_members(network) == []
    with tenant_context(cast.org_b):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"network.joined", "network.consent_changed", "network.left"} <= actions


def test_an_organisation_not_on_carevoice_is_emailed_and_finds_the_invitation_once_it_is(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        page = invite(admin_a_client, network, "director@newcomer.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    assert "is not on Carevoice yet" in page.content.decode()
    (message,) = mail.outbox
    assert "not on Carevoice yet" in message.body and "http://localhost:8000/" in message.body
    invitation = NetworkInvitation.objects.get(network=network)
    assert invitation.email == "director@newcomer.example" and invitation.is_open
    assert "director@newcomer.example" in admin_a_client.get("/networks/").content.decode()
    # B is not that organisation: it sees nothing and cannot answer it.
    assert "Alpha Care Network" not in admin_b_client.get("/networks/").content.decode()
    response = admin_b_client.post(
        f"/networks/invitations/{invitation.pk}/answer/", {"kind": "e", "answer": "accept"}
    )
    assert response.status_code == 404

    # The organisation joins Carevoice with that email domain (B stands in for it).
    cast.org_b.email_domains = ["newcomer.example"]
    cast.org_b.save(update_fields=["email_domains"])
    assert "1 network invitation waiting" in admin_b_client.get("/").content.decode()
    response = admin_b_client.post(
        f"/networks/invitations/{invitation.pk}/answer/",
        {"kind": "e", "answer": "accept", "benchmarking_consent": "on"},
        follow=True,
    )
    assert "You joined Alpha Care Network" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.claimed_at is not None
    assert invitation.membership.organisation == cast.org_b
    assert comparable_members(network) == [cast.org_b]


def test_only_the_leads_administrators_invite_and_only_the_invitee_answers(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
) -> None:
    # B is not the lead: A's network id on B's host is nothing of B's.
    response = admin_b_client.post(
        f"/networks/{network.pk}/invite/", {f"n{network.pk}-email": "x@y.example"}
    )
    assert response.status_code == 404
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    assert member.post(f"/networks/{network.pk}/invite/", {}).status_code == 403
    invite(admin_a_client, network, "someone@beta.example", organisation=cast.org_b)
    membership = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    # The lead cannot answer for B.
    response = admin_a_client.post(
        f"/networks/invitations/{membership.pk}/answer/", {"answer": "accept"}
    )
    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.INVITED
    with schema_context("public"):
        assert NetworkMembership.objects.filter(network=network).count() == 1


def test_the_lead_can_start_a_network_and_withdraw_an_invitation(
    cast: Cast, admin_a_client: object
) -> None:
    response = admin_a_client.post(
        "/networks/start/", {"name": "Alpha Second Network", "description": ""}, follow=True
    )
    assert "You lead Alpha Second Network" in response.content.decode()
    network = cast.org_a.led_networks.get(name="Alpha Second Network")
    invite(admin_a_client, network, "x@beta.example", organisation=cast.org_b)
    membership = NetworkMembership.objects.get(network=network)
    admin_a_client.post(f"/networks/invitations/{membership.pk}/withdraw/", {"kind": "m"})
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.DECLINED


def test_a_full_network_plan_refuses_the_acceptance_with_billings_reason(
    cast: Cast,
    network,  # noqa: ANN001
    admin_a_client: object,
    admin_b_client: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FullNetworkPlan(gate.GateProvider):
        """Stands in for billing: the lead's plan has no room for another member."""

        def network_member_refusal(self, asked: Network) -> str | None:
            assert asked == network
            return "The Network plan allows 12 member organisations."

    monkeypatch.setattr(gate, "_provider", FullNetworkPlan())
    invite(admin_a_client, network, "someone@beta.example", organisation=cast.org_b)
    membership = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    response = admin_b_client.post(
        f"/networks/invitations/{membership.pk}/answer/", {"answer": "accept"}, follow=True
    )
    assert response.status_code == 200
    assert "The Network plan allows 12 member organisations." in response.content.decode()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.INVITED
