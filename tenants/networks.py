"""Networks: a lead organisation and the members that agree to be compared."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from tenants.audit.recording import record_audit
from tenants.gate import SeatLimitReached, check_network_member_available
from tenants.models import (
    MembershipStatus,
    Network,
    NetworkInvitation,
    NetworkMembership,
    NetworkStandards,
    Organisation,
)


def _who(actor) -> dict:  # noqa: ANN001 - a User of some organisation's schema, or None
    """Networks live in the public schema; their actors are organisations' staff, named
    rather than linked (a link would point into the wrong schema)."""
    return {"actor": None, "actor_label": getattr(actor, "email", None)}


class NetworkError(Exception):
    """The change is not allowed; the message says why."""


@transaction.atomic
def create_network(*, lead: Organisation, name: str, description: str = "", actor=None) -> Network:
    network = Network.objects.create(
        lead=lead, name=name, slug=slugify(name)[:60], description=description
    )
    record_audit(
        "network.created", **_who(actor), summary=f"Created network {name}", target=network
    )
    return network


@transaction.atomic
def invite_organisation(
    network: Network, organisation: Organisation, *, actor=None
) -> NetworkMembership:
    if organisation == network.lead:
        raise NetworkError("The lead organisation is part of its network already.")
    membership, created = NetworkMembership.objects.get_or_create(
        network=network, organisation=organisation
    )
    if not created and membership.status == MembershipStatus.ACTIVE:
        raise NetworkError(f"{organisation} is already an active member.")
    membership.status = MembershipStatus.INVITED
    membership.invited_at = timezone.now()
    membership.left_at = None
    membership.save()
    record_audit(
        "network.invited",
        **_who(actor),
        summary=f"Invited {organisation} to {network}",
        target=membership,
    )
    return membership


@transaction.atomic
def accept_invitation(
    membership: NetworkMembership, *, benchmarking_consent: bool, actor=None
) -> NetworkMembership:
    if membership.status != MembershipStatus.INVITED:
        raise NetworkError("Only an open invitation can be accepted.")
    try:
        check_network_member_available(membership.network)
    except SeatLimitReached as exc:
        raise NetworkError(str(exc)) from None
    now = timezone.now()
    membership.status = MembershipStatus.ACTIVE
    membership.joined_at = now
    membership.benchmarking_consent = benchmarking_consent
    membership.consent_changed_at = now
    membership.save()
    record_audit(
        "network.joined",
        **_who(actor),
        summary=f"{membership.organisation} joined {membership.network}"
        + (" and agreed to comparison" if benchmarking_consent else ""),
        target=membership,
    )
    return membership


@transaction.atomic
def decline_invitation(membership: NetworkMembership, *, actor=None) -> NetworkMembership:
    if membership.status != MembershipStatus.INVITED:
        raise NetworkError("Only an open invitation can be declined.")
    membership.status = MembershipStatus.DECLINED
    membership.declined_at = timezone.now()
    membership.benchmarking_consent = False
    membership.save(update_fields=["status", "declined_at", "benchmarking_consent"])
    record_audit(
        "network.declined",
        **_who(actor),
        summary=f"{membership.organisation} declined to join {membership.network}",
        target=membership,
    )
    return membership


@transaction.atomic
def set_benchmarking_consent(membership: NetworkMembership, consent: bool, *, actor=None) -> None:
    membership.benchmarking_consent = consent
    membership.consent_changed_at = timezone.now()
    membership.save(update_fields=["benchmarking_consent", "consent_changed_at"])
    record_audit(
        "network.consent_changed",
        **_who(actor),
        summary=f"{membership.organisation} {'gave' if consent else 'withdrew'} consent "
        "to comparison",
        target=membership,
    )


@transaction.atomic
def leave_network(membership: NetworkMembership, *, actor=None) -> None:
    if membership.status != MembershipStatus.ACTIVE:
        raise NetworkError("Only an active member can leave.")
    membership.status = MembershipStatus.LEFT
    membership.left_at = timezone.now()
    membership.benchmarking_consent = False
    membership.save(update_fields=["status", "left_at", "benchmarking_consent"])
    record_audit(
        "network.left",
        **_who(actor),
        summary=f"{membership.organisation} left {membership.network}",
        target=membership,
    )


def comparable_members(network: Network) -> list[Organisation]:
    """The organisations that may appear by name in this network's comparisons."""
    return [
        m.organisation
        for m in network.memberships.select_related("organisation").filter(
            status=MembershipStatus.ACTIVE, benchmarking_consent=True
        )
    ]


def member_standards(organisation: Organisation) -> list[NetworkStandards]:
    """The response standards of the networks `organisation` is an active member of (whether
    or not it agreed to be compared: it is measured only if it did, but it answers to the
    standards either way). Never another network's."""
    return list(
        NetworkStandards.objects.filter(
            network__memberships__organisation=organisation,
            network__memberships__status=MembershipStatus.ACTIVE,
        )
        .select_related("network", "network__lead")
        .order_by("network__name")
    )


def comparison_networks(organisation: Organisation) -> list[Network]:
    """The networks whose comparison `organisation`'s staff may see: those it leads, and
    those it is an active member of and agreed to be compared in."""
    return list(
        Network.objects.filter(
            Q(lead=organisation)
            | Q(
                memberships__organisation=organisation,
                memberships__status=MembershipStatus.ACTIVE,
                memberships__benchmarking_consent=True,
            )
        )
        .distinct()
        .order_by("name")
    )


# --- invitations by email -------------------------------------------------------------------
# A lead's administrator invites an organisation by an email address. If the organisation is
# on Carevoice (chosen, or found by the address's domain), the invitation is a membership
# waiting in its workspace; if not, a NetworkInvitation holds the address until an
# organisation whose administrators or email domains match it answers.


def organisation_for_email(
    email: str, *, exclude: Organisation | None = None
) -> Organisation | None:
    """The one organisation on Carevoice whose email domains include the address's, if any."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    matches = Organisation.objects.ready().filter(email_domains__contains=[domain])
    if exclude is not None:
        matches = matches.exclude(pk=exclude.pk)
    found = list(matches[:2])
    return found[0] if len(found) == 1 else None


@transaction.atomic
def invite_email_address(network: Network, email: str, *, actor=None) -> NetworkInvitation:
    email = email.strip().lower()
    if NetworkInvitation.objects.filter(
        network=network, email=email, claimed_at__isnull=True, revoked_at__isnull=True
    ).exists():
        raise NetworkError(f"{email} has been invited to {network} already.")
    invitation = NetworkInvitation.objects.create(
        network=network, email=email, invited_by=getattr(actor, "email", "") or ""
    )
    record_audit(
        "network.invited_by_email",
        **_who(actor),
        summary=f"Invited {email} (not on Carevoice yet) to {network}",
        target=invitation,
    )
    return invitation


def email_invitations_for(organisation: Organisation, addresses: list[str]):  # noqa: ANN201
    """Open email invitations meant for `organisation`: sent to one of `addresses` (its
    administrators) or to an address in one of its email domains."""
    match = Q(email__in=[a.lower() for a in addresses])
    for domain in organisation.email_domains:
        match |= Q(email__iendswith=f"@{domain.lower()}")
    return (
        NetworkInvitation.objects.filter(match, claimed_at__isnull=True, revoked_at__isnull=True)
        .exclude(network__lead=organisation)
        .select_related("network", "network__lead")
    )


@transaction.atomic
def claim_email_invitation(
    invitation: NetworkInvitation, organisation: Organisation, *, actor=None
) -> NetworkMembership:
    """The organisation an email invitation was meant for takes it up: it becomes an open
    membership invitation (then accepted or declined as usual)."""
    invitation = NetworkInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise NetworkError("This invitation has been answered or withdrawn already.")
    membership = NetworkMembership.objects.filter(
        network=invitation.network, organisation=organisation
    ).first()
    if membership is None or membership.status != MembershipStatus.INVITED:
        membership = invite_organisation(invitation.network, organisation, actor=actor)
    invitation.membership = membership
    invitation.claimed_at = timezone.now()
    invitation.save(update_fields=["membership", "claimed_at"])
    return membership


@transaction.atomic
def revoke_email_invitation(invitation: NetworkInvitation, *, actor=None) -> None:
    invitation = NetworkInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise NetworkError("This invitation has been answered or withdrawn already.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_audit(
        "network.invitation_withdrawn",
        **_who(actor),
        summary=f"Withdrew the invitation of {invitation.email} to {invitation.network}",
        target=invitation,
    )


@transaction.atomic
def withdraw_invitation(membership: NetworkMembership, *, actor=None) -> None:
    """The lead withdraws an invitation its invitee has not answered."""
    if membership.status != MembershipStatus.INVITED:
        raise NetworkError("Only an unanswered invitation can be withdrawn.")
    membership.status = MembershipStatus.DECLINED
    membership.declined_at = timezone.now()
    membership.save(update_fields=["status", "declined_at"])
    record_audit(
        "network.invitation_withdrawn",
        **_who(actor),
        summary=f"Withdrew the invitation of {membership.organisation} to {membership.network}",
        target=membership,
    )
