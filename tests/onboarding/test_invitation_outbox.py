"""Staff and network invitation emails go through the outbox (onboarding/emails.py): one
row per invitation (and per resend), none for an invitation rolled back."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from django_tenants.utils import tenant_context

from onboarding import emails
from onboarding.invitations import invitation_url, invite_staff, resend_invitation
from onboarding.network_invitations import invite_to_network
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage
from tenants.networks import create_network
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


def rows(kind: str) -> int:
    return OutboxMessage.objects.filter(kind=f"onboarding.{kind}").count()


def test_a_staff_invitation_is_one_row_and_a_resend_another(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        invitation = invite_staff(email="once@alpha.example", role="member", actor=cast.admin_a)
        url = invitation_url(cast.org_a, invitation)
        # The same invitation queued again (a retried request, say) writes no second row.
        emails.queue_staff_invitation(cast.org_a, invitation, url, inviter="Someone")
        assert rows("staff_invitation") == 1
        resend_invitation(invitation, actor=cast.admin_a)
        assert rows("staff_invitation") == 2
    assert send_due_messages() == 2
    assert [m.to for m in mail.outbox] == [["once@alpha.example"]] * 2
    assert send_due_messages() == 0


def test_a_rolled_back_staff_invitation_writes_no_email(cast: Cast) -> None:
    with tenant_context(cast.org_a), pytest.raises(RolledBack), transaction.atomic():
        invite_staff(email="never@alpha.example", role="member", actor=cast.admin_a)
        raise RolledBack
    assert rows("staff_invitation") == 0
    assert send_due_messages() == 0 and mail.outbox == []


def test_network_invitations_are_one_row_each_and_none_when_rolled_back(cast: Cast) -> None:
    network = create_network(lead=cast.org_a, name="Alpha Care Network")
    with tenant_context(cast.org_a):
        with pytest.raises(RolledBack), transaction.atomic():
            invite_to_network(network, email="x@nowhere.example", actor=cast.admin_a)
            invite_to_network(
                network, email="y@beta.example", actor=cast.admin_a, organisation=cast.org_b
            )
            raise RolledBack
        assert rows("network_join_invitation") == rows("network_invitation") == 0

        invitation = invite_to_network(network, email="x@nowhere.example", actor=cast.admin_a)
        emails.queue_network_join_invitation(network, invitation, inviter="Someone")
        membership = invite_to_network(
            network, email="y@beta.example", actor=cast.admin_a, organisation=cast.org_b
        )
        emails.queue_network_invitation(network, membership, "y@beta.example", inviter="Someone")
    assert rows("network_join_invitation") == rows("network_invitation") == 1
    assert send_due_messages() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["x@nowhere.example", "y@beta.example"]
