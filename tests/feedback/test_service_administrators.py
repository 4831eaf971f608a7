"""Service-level permissions, staff: a service administrator of A's ward invites members and
responders limited within the ward (the limit made with the account, or no account at all),
sees and resends only those invitations, and switches off and on the accounts of the staff
limited within the ward, never anyone else's."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from feedback.models import Service, ServiceLimit
from feedback.service_limits import limited_services, set_limit
from onboarding.invitations import invite_staff
from onboarding.models import Invitation
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-42"


@pytest.fixture
def service_admin(cast: Cast) -> Client:
    """The member made service administrator of the ward; the responder limited to it."""
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        set_limit(cast.responder_a, [ward], actor=cast.admin_a)
        set_limit(cast.member_a, [ward], actor=cast.admin_a, manages=True)
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def accept(url: str, cast: Cast, name: str = "Wren Ward") -> Client:
    visitor = client_for(cast.org_a)
    path = "/" + url.split("/", 3)[3]
    response = visitor.post(
        path, {"full_name": name, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return visitor


def test_a_service_administrator_invites_staff_limited_to_their_services(
    cast: Cast, service_admin: Client, django_capture_on_commit_callbacks: object
) -> None:
    ward, clinic = cast.ward_a.service_id, cast.clinic_a.service_id
    page = service_admin.get("/staff/invitations/").content.decode()
    assert cast.ward_a.name in page and cast.clinic_a.name not in page
    assert 'value="administrator"' not in page  # members and responders only
    asked = {"email": "wren@alpha.example", "role": "responder"}
    # Every service (none ticked), another service, or an administrator: refused.
    for refused in (
        asked,
        {**asked, "services": [clinic]},
        {**asked, "services": [ward], "role": "administrator"},
    ):
        response = service_admin.post("/staff/invitations/", refused)
        assert response.status_code == 400, refused
    with tenant_context(cast.org_a):
        assert not Invitation.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        sent = service_admin.post("/staff/invitations/", {**asked, "services": [ward]})
    assert sent.status_code == 302
    send_due_messages()
    (message,) = mail.outbox
    assert cast.ward_a.name in message.body and cast.clinic_a.name not in message.body
    url = re.search(r"http://\S+/invitation/\S+/", message.body).group(0)
    newcomer = accept(url, cast)
    with tenant_context(cast.org_a):
        user = User.objects.get(email="wren@alpha.example")
        assert user.role == Role.RESPONDER
        assert limited_services(user) == frozenset({ward})
        assert AuditEvent.objects.filter(
            action="staff.services_limited", target_id=str(user.pk)
        ).exists()
    # Limited from their first page: the services page is closed to them.
    assert newcomer.get("/services/").status_code == 403
    # Their service administrator now manages them.
    assert "Wren Ward" in service_admin.get("/services/limits/").content.decode()


def test_an_invitation_whose_services_are_gone_makes_no_account(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    """An account that would see every service because its limit's services were deleted
    is not made at all."""
    with tenant_context(cast.org_a):
        site = Service.objects.get(pk=cast.ward_a.service_id).site
        doomed = Service.objects.create(site=site, name="Closing ward", code="CW", type="ward")
        with django_capture_on_commit_callbacks(execute=True):
            invite_staff(
                email="late@alpha.example",
                role=Role.MEMBER,
                actor=cast.admin_a,
                services=[doomed.pk],
            )
        doomed.delete()
    send_due_messages()
    url = re.search(r"http://\S+/invitation/\S+/", mail.outbox[-1].body).group(0)
    visitor = client_for(cast.org_a)
    response = visitor.post(
        "/" + url.split("/", 3)[3],
        {"full_name": "Late Comer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "no longer exist" in response.content.decode()
    with tenant_context(cast.org_a):
        assert not User.objects.filter(email="late@alpha.example").exists()


def test_they_see_and_resend_only_their_services_invitations(
    cast: Cast, service_admin: Client
) -> None:
    with tenant_context(cast.org_a):
        everywhere = invite_staff(email="all@alpha.example", role=Role.MEMBER, actor=cast.admin_a)
        on_the_ward = invite_staff(
            email="ward@alpha.example",
            role=Role.MEMBER,
            actor=cast.admin_a,
            services=[cast.ward_a.service_id],
        )
    page = service_admin.get("/staff/invitations/").content.decode()
    assert "ward@alpha.example" in page and "all@alpha.example" not in page
    resend = f"/staff/invitations/{everywhere.pk}/resend/"
    assert service_admin.post(resend).status_code == 404
    assert service_admin.post(f"/staff/invitations/{everywhere.pk}/revoke/").status_code == 404
    assert service_admin.post(f"/staff/invitations/{on_the_ward.pk}/revoke/").status_code == 302
    # An administrator sees both, each with its services.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    listed = admin.get("/staff/invitations/").content.decode()
    assert "all@alpha.example" in listed and "Every service" in listed
    # Staff limited without managing, and members, invite nobody.
    responder = client_for(cast.org_a)
    assert sign_in(responder, cast.responder_a.email).status_code == 302
    assert responder.get("/staff/invitations/").status_code == 403
    assert (
        responder.post(
            "/staff/invitations/", {"email": "x@alpha.example", "role": "member"}
        ).status_code
        == 403
    )


def test_they_switch_off_and_on_only_the_staff_of_their_services(
    cast: Cast, service_admin: Client
) -> None:
    url = f"/services/limits/{cast.responder_a.pk}/account/"
    assert service_admin.post(url, {"active": "no"}).status_code == 302
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.responder_a.pk).is_active
        assert AuditEvent.objects.filter(
            action="staff.deactivated", actor_id=cast.member_a.pk
        ).exists()
    responder = client_for(cast.org_a)
    assert sign_in(responder, cast.responder_a.email).status_code != 302  # cannot sign in
    listed = service_admin.get("/services/limits/").content.decode()
    assert "(switched off)" in listed
    assert service_admin.post(url, {"active": "yes"}).status_code == 302
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.responder_a.pk).is_active
    # An administrator, someone not limited within the ward, and themselves: not theirs.
    for other in (cast.admin_a.pk, cast.member_a.pk):
        assert (
            service_admin.post(f"/services/limits/{other}/account/", {"active": "no"}).status_code
            == 404
        )
    with tenant_context(cast.org_a):
        clinic = Service.objects.get(pk=cast.clinic_a.service_id)
        set_limit(cast.responder_a, [clinic], actor=cast.admin_a)
        assert ServiceLimit.objects.get(user=cast.responder_a).services.get() == clinic
    assert service_admin.post(url, {"active": "no"}).status_code == 404
    # Another organisation's workspace holds none of A's staff: its page never shows them.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    assert cast.responder_a.full_name not in other.get("/services/limits/").content.decode()
