"""The first administrator's invitation (`manage.py create_organisation` without a password)
is written to the outbox in the provisioning's transaction: one message per organisation
and account, none for a workspace that rolled back, sent by the outbox with the link."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django_tenants.utils import schema_exists, tenant_context

from tenants import tasks as tenant_tasks
from tenants.accounts.models import User
from tenants.emails import queue_first_admin_invitation
from tenants.management.commands import create_organisation
from tenants.messages import send_due_messages
from tenants.models import Organisation, OutboxMessage

pytestmark = pytest.mark.django_db

ARGUMENTS = [
    "Kappa Hospice",
    "--kind",
    "hospice",
    "--admin-email",
    "lead@kappa.example",
    "--admin-name",
    "Kay Lead",
]


class InvitationFailed(Exception):
    pass


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    return sent


def invitations() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="tenants.first_admin_invitation"))


def test_the_invitation_is_written_with_the_workspace_once_and_sent_by_the_outbox() -> None:
    call_command(*["create_organisation", *ARGUMENTS])
    organisation = Organisation.objects.get(slug="kappa-hospice")
    with tenant_context(organisation):
        admin = User.objects.get()
    (message,) = invitations()
    assert message.key == f"tenants.first_admin_invitation:{organisation.pk}:{admin.pk}"
    assert message.organisation == organisation
    assert mail.outbox == []

    queue_first_admin_invitation(organisation, admin)  # the same again: still one message
    assert len(invitations()) == 1

    assert send_due_messages() == 1
    (sent,) = mail.outbox
    assert sent.to == ["lead@kappa.example"]
    assert sent.subject == "Your Carevoice workspace for Kappa Hospice is ready"
    assert "http://kappa-hospice.localhost:8000/" in sent.body
    assert send_due_messages() == 0


def test_a_provisioning_that_rolls_back_writes_no_invitation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def write_then_fail(organisation: Organisation, admin: User) -> None:
        queue_first_admin_invitation(organisation, admin)
        raise InvitationFailed

    monkeypatch.setattr(create_organisation, "queue_first_admin_invitation", write_then_fail)
    with pytest.raises(InvitationFailed):
        call_command(*["create_organisation", *ARGUMENTS])
    # The invitation and the workspace went together.
    assert invitations() == []
    assert not Organisation.objects.filter(slug="kappa-hospice").exists()
    assert not schema_exists("org_kappa_hospice")


def test_an_administrator_given_a_password_gets_no_invitation() -> None:
    call_command(*["create_organisation", *ARGUMENTS, "--admin-password", "a-long-pass-phrase-42"])
    assert Organisation.objects.filter(slug="kappa-hospice").exists()
    assert invitations() == []
