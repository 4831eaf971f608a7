"""Network invitations as a workspace makes and answers them, on top of tenants/networks.py
(which keeps the memberships and writes the audit rows). Runs inside the acting
organisation's schema; networks themselves live in the public schema."""

from __future__ import annotations

from django.db import transaction

from onboarding import emails
from onboarding.invitations import current_organisation
from tenants.accounts.models import Role, User
from tenants.models import (
    MembershipStatus,
    Network,
    NetworkInvitation,
    NetworkMembership,
    Organisation,
)
from tenants.networks import (
    NetworkError,
    accept_invitation,
    claim_email_invitation,
    decline_invitation,
    email_invitations_for,
    invite_email_address,
    invite_organisation,
    organisation_for_email,
)


def _inviter(actor: User) -> str:
    return actor.full_name or actor.email


@transaction.atomic
def invite_to_network(
    network: Network,
    *,
    email: str,
    actor: User,
    organisation: Organisation | None = None,
) -> NetworkMembership | NetworkInvitation:
    """Invite an organisation by one of its people's email address. On Carevoice (chosen,
    or found by the address's domain): a membership invitation waiting in its workspace.
    Not on Carevoice: an email inviting it to join, the invitation kept for when it has."""
    lead = current_organisation()
    if network.lead_id != lead.pk:
        raise NetworkError("Only the network's lead organisation can invite members.")
    email = email.strip().lower()
    domain = email.rsplit("@", 1)[-1]
    if organisation is None and domain in [d.lower() for d in lead.email_domains]:
        raise NetworkError(f"{email} is in your own organisation's email domain.")
    target = organisation or organisation_for_email(email, exclude=lead)
    inviter = _inviter(actor)
    if target is not None:
        membership = invite_organisation(network, target, actor=actor)
        emails.queue_network_invitation(network, membership, email, inviter=inviter)
        return membership
    invitation = invite_email_address(network, email, actor=actor)
    emails.queue_network_join_invitation(network, invitation, inviter=inviter)
    return invitation


def administrator_emails() -> list[str]:
    return list(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).values_list("email", flat=True)
    )


def waiting_email_invitations(organisation: Organisation):  # noqa: ANN201 - a QuerySet
    """Email invitations sent before (or without knowing) that this organisation is on
    Carevoice, matched by its administrators' addresses and its email domains."""
    return email_invitations_for(organisation, administrator_emails())


def waiting_memberships(organisation: Organisation):  # noqa: ANN201 - a QuerySet
    return NetworkMembership.objects.filter(
        organisation=organisation, status=MembershipStatus.INVITED
    ).select_related("network", "network__lead")


@transaction.atomic
def answer_invitation(
    membership: NetworkMembership, *, accept: bool, benchmarking_consent: bool, actor: User
) -> NetworkMembership:
    if membership.organisation_id != current_organisation().pk:
        raise NetworkError("This invitation is for another organisation.")
    if not accept:
        return decline_invitation(membership, actor=actor)
    # Whether the lead's plan has room for one more member is the gate's call, made inside
    # tenants.networks.accept_invitation (tenants.gate.check_network_member_available);
    # inviting stays open and the first to accept take the places.
    return accept_invitation(membership, benchmarking_consent=benchmarking_consent, actor=actor)


@transaction.atomic
def answer_email_invitation(
    invitation: NetworkInvitation, *, accept: bool, benchmarking_consent: bool, actor: User
) -> NetworkMembership:
    organisation = current_organisation()
    if not waiting_email_invitations(organisation).filter(pk=invitation.pk).exists():
        raise NetworkError("This invitation is not for your organisation, or was answered.")
    membership = claim_email_invitation(invitation, organisation, actor=actor)
    return answer_invitation(
        membership, accept=accept, benchmarking_consent=benchmarking_consent, actor=actor
    )
