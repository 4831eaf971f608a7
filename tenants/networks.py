"""Networks: a lead organisation and the members that agree to be compared."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tenants.audit.recording import record_audit
from tenants.models import MembershipStatus, Network, NetworkMembership, Organisation


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
