"""Staff invitations: a signed, expiring link to one workspace, used once, within the plan."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from onboarding.invitations import invite_staff
from onboarding.models import Invitation
from tenants import gate
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import Organisation
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-password-42"


def link_in(message: mail.EmailMessage) -> str:
    return re.search(r"http://\S+/invitation/\S+/", message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def invite(client: object, email: str, role: str = "responder") -> object:
    return client.post("/staff/invitations/", {"email": email, "role": role})


def accept(client: object, url: str, name: str = "Nia New", password: str = NEW_PASSWORD):  # noqa: ANN201
    return client.post(
        path_of(url), {"full_name": name, "password1": password, "password2": password}
    )


def test_an_invitation_is_emailed_and_accepting_makes_the_account_in_that_schema(
    cast: Cast, admin_a_client: object, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(admin_a_client, "Nia.New@Alpha.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["nia.new@alpha.example"]
    assert "Alpha Hospitals NHS Trust" in message.subject
    url = link_in(message)
    assert url.startswith("http://alpha.localhost:8000/invitation/")
    assert "as a responder" in message.body
    listing = admin_a_client.get("/staff/invitations/").content.decode()
    assert "nia.new@alpha.example" in listing and "Waiting" in listing

    visitor = client_for(cast.org_a)
    page = visitor.get(path_of(url))
    assert page.status_code == 200
    assert "nia.new@alpha.example" in page.content.decode()
    weak = accept(visitor, url, password="password")
    assert weak.status_code == 400
    assert "too short" in weak.content.decode() or "too common" in weak.content.decode()

    response = accept(visitor, url)
    assert response.status_code == 302 and response["Location"] == "/"
    assert "Nia New" in visitor.get("/").content.decode()  # signed in
    with tenant_context(cast.org_a):
        user = User.objects.get(email="nia.new@alpha.example")
        assert user.role == Role.RESPONDER and user.full_name == "Nia New"
        assert user.check_password(NEW_PASSWORD)
        assert Invitation.objects.get(email=user.email).accepted_user == user
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"staff.invited", "staff.invitation_accepted"} <= actions
    with tenant_context(cast.org_b):
        assert not User.objects.filter(email="nia.new@alpha.example").exists()
    fresh = client_for(cast.org_a)
    assert sign_in(fresh, "nia.new@alpha.example", NEW_PASSWORD).status_code == 302


def test_a_link_used_twice_says_so(
    cast: Cast, admin_a_client: object, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin_a_client, "twice@alpha.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    url = link_in(mail.outbox[-1])
    assert accept(client_for(cast.org_a), url).status_code == 302
    again = client_for(cast.org_a)
    page = again.get(path_of(url))
    assert page.status_code == 410
    assert "used already" in page.content.decode()
    response = accept(again, url, name="Someone Else", password="another-password-77")
    assert response.status_code == 410
    with tenant_context(cast.org_a):
        assert User.objects.filter(email="twice@alpha.example").count() == 1


def test_expired_revoked_replaced_and_forged_links_give_a_clear_page(
    cast: Cast, admin_a_client: object, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin_a_client, "late@alpha.example")
        invite(admin_a_client, "revoked@alpha.example")
        invite(admin_a_client, "resent@alpha.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    late, revoked, resent = (link_in(m) for m in mail.outbox)
    with tenant_context(cast.org_a):
        Invitation.objects.filter(email="late@alpha.example").update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
        revoked_pk = Invitation.objects.get(email="revoked@alpha.example").pk
        resent_pk = Invitation.objects.get(email="resent@alpha.example").pk
    assert admin_a_client.post(f"/staff/invitations/{revoked_pk}/revoke/").status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_a_client.post(f"/staff/invitations/{resent_pk}/resend/").status_code == 302
    send_due_messages()  # the outbox sends what the invitation wrote
    newest = link_in(mail.outbox[-1])
    assert newest != resent

    visitor = client_for(cast.org_a)
    for url, status, words in [
        (late, 410, "has expired"),
        (revoked, 410, "was withdrawn"),
        (resent, 410, "has been replaced"),
        (resent[:-6] + "xxxxx/", 404, "not valid here"),
        ("http://alpha.localhost:8000/invitation/not-a-token/", 404, "not valid here"),
    ]:
        for response in (visitor.get(path_of(url)), accept(visitor, url)):
            assert response.status_code == status, (url, words)
            assert words in response.content.decode()
    assert accept(visitor, newest).status_code == 302
    with tenant_context(cast.org_a):
        assert not User.objects.filter(
            email__in=["late@alpha.example", "revoked@alpha.example"]
        ).exists()
        assert {"staff.invitation_revoked", "staff.invitation_resent"} <= set(
            AuditEvent.objects.values_list("action", flat=True)
        )


def test_a_link_for_organisation_a_does_nothing_on_b(
    cast: Cast, admin_a_client: object, django_capture_on_commit_callbacks: object
) -> None:
    with tenant_context(cast.org_b):
        # B has an invitation with the same id, so only the organisation in the link differs.
        invite_staff(email="b-person@beta.example", role="member", actor=cast.admin_b)
    with django_capture_on_commit_callbacks(execute=True):
        invite(admin_a_client, "crossing@alpha.example")
    send_due_messages()  # the outbox sends what the invitation wrote
    url = link_in(mail.outbox[-1]).replace("alpha.localhost", "beta.localhost")
    on_b = client_for(cast.org_b)
    assert on_b.get(path_of(url)).status_code == 404
    assert accept(on_b, url).status_code == 404
    with tenant_context(cast.org_b):
        assert not User.objects.filter(email="crossing@alpha.example").exists()
        assert Invitation.objects.get(email="b-person@beta.example").accepted_at is None


def test_the_seat_limit_is_checked_on_invite_and_on_accept(
    cast: Cast,
    admin_a_client: object,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: object,
) -> None:
    limit = {"seats": 100}

    class PlanWithLimit(gate.GateProvider):
        """Stands in for billing: a plan whose staff limit the test moves."""

        def seat_limit(self, organisation: Organisation) -> int | None:
            assert organisation == cast.org_a
            return limit["seats"]

        def seat_refusal(self, organisation: Organisation, active_staff_count: int) -> str | None:
            assert organisation == cast.org_a
            if active_staff_count >= limit["seats"]:
                return f"The plan includes {limit['seats']} active staff accounts."
            return None

    monkeypatch.setattr(gate, "_provider", PlanWithLimit())
    with tenant_context(cast.org_a):
        active = User.objects.filter(is_active=True).count()

    limit["seats"] = active + 1  # room for one invitation
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(admin_a_client, "first@alpha.example").status_code == 302
    send_due_messages()  # the outbox sends what the invitation wrote
    url = link_in(mail.outbox[-1])
    refused = invite(admin_a_client, "second@alpha.example")
    assert refused.status_code == 400
    assert "includes" in refused.content.decode() and "active staff accounts" in (
        refused.content.decode()
    )

    limit["seats"] = active  # the plan shrank before the invitation was accepted
    response = accept(client_for(cast.org_a), url)
    assert response.status_code == 400
    assert "no free staff account" in response.content.decode()
    limit["seats"] = active + 1
    assert accept(client_for(cast.org_a), url).status_code == 302
    with tenant_context(cast.org_a):
        assert User.objects.filter(is_active=True).count() == active + 1


def test_inviting_someone_with_an_account_or_an_open_invitation_is_refused(
    cast: Cast, admin_a_client: object
) -> None:
    response = invite(admin_a_client, cast.responder_a.email)
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert invite(admin_a_client, "once@alpha.example").status_code == 302
    response = invite(admin_a_client, "ONCE@alpha.example")
    assert response.status_code == 400
    assert "invited already" in response.content.decode()


def test_only_administrators_invite(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email)
    assert client.get("/staff/invitations/").status_code == 403
    assert invite(client, "sneaky@alpha.example").status_code == 403
    with tenant_context(cast.org_a):
        assert not Invitation.objects.exists()
