"""Every onboarding page and endpoint stays within its organisation: A's staff on B's host
are strangers, and B's ids on A's host reach nothing of B's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from onboarding import service_import
from onboarding.invitations import invite_staff
from onboarding.models import Invitation, ServiceImport
from onboarding.training.booking import book_place, schedule_session
from onboarding.training.models import Audience, Booking, BookingState, TrainingSession
from tenants.models import MembershipStatus, NetworkMembership
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

HEADER = "site_name,site_code,service_name,service_code,service_type,parent_service_code\n"


def onboarding_paths(pk: int) -> list[str]:
    names = [
        ("import_services", {}),
        ("service_import", {"pk": pk}),
        ("service_import_status", {"pk": pk}),
        ("staff_invitations", {}),
        ("resend_invitation", {"pk": pk}),
        ("revoke_invitation", {"pk": pk}),
        ("networks", {}),
        ("start_network", {}),
        ("invite_member", {"pk": pk}),
        ("withdraw_invitation", {"pk": pk}),
        ("answer_invitation", {"pk": pk}),
        ("change_membership", {"pk": pk}),
        ("training", {}),
        ("book_training", {"pk": pk}),
        ("cancel_training", {"pk": pk}),
    ]
    return [
        reverse(f"onboarding:{name}", kwargs=kwargs, urlconf="config.urls_tenant")
        for name, kwargs in names
    ]


@pytest.fixture
def b_has_one_of_everything(cast: Cast) -> dict[str, int]:
    with tenant_context(cast.org_b):
        imported = service_import.import_services(
            data=(HEADER + "Beta Secret Site,,Beta Secret Clinic,BSC,clinic,\n").encode(),
            filename="beta-secret.csv",
            actor=cast.admin_b,
        )
        invitation = invite_staff(
            email="beta-invitee@beta.example", role="member", actor=cast.admin_b
        )
    session = schedule_session(
        TrainingSession(
            title="Isolation session",
            audience=Audience.RESPONDERS,
            starts_at=timezone.now() + timedelta(days=3),
            capacity=5,
            place="Online",
        ),
        actor=None,
    )
    booking = book_place(
        session.pk, organisation=cast.org_b, email=cast.admin_b.email, full_name="Beta Booker"
    )
    network = create_network(lead=cast.org_b, name="Beta Secret Network")
    membership = invite_organisation(network, cast.org_a)
    return {
        "import": imported.pk,
        "invitation": invitation.pk,
        "session": session.pk,
        "booking": booking.pk,
        "network": network.pk,
        "membership": membership.pk,
    }


@pytest.mark.parametrize("path", onboarding_paths(pk=1))
def test_staff_of_a_are_strangers_on_b_for_every_onboarding_page(
    cast: Cast, admin_a_client: object, b_has_one_of_everything: dict[str, int], path: str
) -> None:
    admin_a_client.defaults["HTTP_HOST"] = "beta.localhost"
    for method in (admin_a_client.get, admin_a_client.post):
        response = method(path)
        assert response.status_code in (302, 405), (path, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")
        body = response.content.decode()
        for secret in ("beta-invitee@beta.example", "Beta Secret", "Beta Booker"):
            assert secret not in body


def test_b_ids_on_a_host_reach_nothing_of_b(
    cast: Cast, admin_a_client: object, b_has_one_of_everything: dict[str, int]
) -> None:
    ids = b_has_one_of_everything
    with tenant_context(cast.org_a):
        assert not ServiceImport.objects.filter(pk=ids["import"]).exists()
        assert not Invitation.objects.filter(pk=ids["invitation"]).exists()
    # Tenant rows: the same id on A's host names A's own row, of which there is none.
    assert admin_a_client.get(f"/services/import/{ids['import']}/").status_code == 404
    status = admin_a_client.get(f"/services/import/{ids['import']}/status/")
    assert status.status_code == 404 and status.json() == {"error": "There is no such import."}
    for action in ("resend", "revoke"):
        response = admin_a_client.post(f"/staff/invitations/{ids['invitation']}/{action}/")
        assert response.status_code == 404
    assert "beta-invitee" not in admin_a_client.get("/staff/invitations/").content.decode()
    assert "Beta Secret" not in admin_a_client.get("/services/import/").content.decode()
    # Public rows: global ids, filtered by the organisation asking.
    assert admin_a_client.post(f"/training/bookings/{ids['booking']}/cancel/").status_code == 404
    assert Booking.objects.get(pk=ids["booking"]).state == BookingState.BOOKED
    assert "Beta Booker" not in admin_a_client.get("/training/").content.decode()
    response = admin_a_client.post(
        f"/networks/{ids['network']}/invite/", {f"n{ids['network']}-email": "x@x.example"}
    )
    assert response.status_code == 404  # A does not lead B's network
    # The membership is A's invitation to B's network: A can answer it, but not withdraw it.
    assert (
        admin_a_client.post(
            f"/networks/invitations/{ids['membership']}/withdraw/", {"kind": "m"}
        ).status_code
        == 404
    )
    assert NetworkMembership.objects.get(pk=ids["membership"]).status == MembershipStatus.INVITED


def test_b_cannot_change_a_membership_of_a(cast: Cast, admin_b_client: object) -> None:
    network = create_network(lead=cast.org_b, name="Beta Led")
    membership = invite_organisation(network, cast.org_a)
    accept_invitation(membership, benchmarking_consent=True)
    # The lead (B) cannot leave, or withdraw consent, on A's behalf.
    url = f"/networks/memberships/{membership.pk}/"
    assert admin_b_client.post(url, {"action": "leave"}).status_code == 404
    assert admin_b_client.post(url, {"action": "consent"}).status_code == 404
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.benchmarking_consent


def test_the_import_task_runs_in_the_schema_it_was_sent_from(cast: Cast) -> None:
    """The worker reads the import by id in its own schema: B's id run in A does nothing."""
    with tenant_context(cast.org_b):
        queued = ServiceImport.objects.create(
            filename="b.csv", state="queued", total_rows=1, content=HEADER + "S,,X,,ward,\n"
        )
    with tenant_context(cast.org_a):
        assert not ServiceImport.objects.filter(pk=queued.pk).exists()
        assert service_import.run_import(queued.pk) == "not claimed"
    with tenant_context(cast.org_b):
        assert service_import.run_import(queued.pk) == "done"
