"""Onboarding emails. One function per email, named after its template. Each is written to
the outbox (tenants/messages.py) in the transaction of the invitation it tells of, with a
key for that invitation (and, for one sent again, that sending), so a rolled-back invitation
sends nothing and the outbox sends each exactly once."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from feedback.models import Service
from onboarding.models import Invitation
from tenants.messages import enqueue_email
from tenants.models import (
    Network,
    NetworkInvitation,
    NetworkMembership,
    Organisation,
    public_url,
)


def _queue(
    *,
    event: str,
    subject: str,
    template: str,
    context: dict[str, object],
    to: str,
    organisation: Organisation | None = None,
) -> None:
    """Write the email to the outbox; `event` (e.g. "12:4:ab12") is its key's end."""
    enqueue_email(
        kind=f"onboarding.{template}",
        key=f"onboarding.{template}:{event}",
        recipient=to,
        subject=subject,
        text_body=render_to_string(f"onboarding/email/{template}.txt", context),
        html_body=render_to_string(f"onboarding/email/{template}.html", context),
        organisation=organisation,
    )


def queue_staff_invitation(
    organisation: Organisation, invitation: Invitation, url: str, *, inviter: str
) -> None:
    """Keyed by the invitation's nonce, which every resend replaces: a resend is a new email."""
    _queue(
        event=f"{organisation.pk}:{invitation.pk}:{invitation.nonce}",
        subject=f"You are invited to {organisation.name}'s Carevoice workspace",
        template="staff_invitation",
        context={
            "organisation": organisation,
            "invitation": invitation,
            "role": invitation.get_role_display().lower(),
            # The services the account will be limited to, if any (service_limits.py).
            "services": list(
                Service.objects.filter(pk__in=invitation.limited_to or []).values_list(
                    "name", flat=True
                )
            ),
            "url": url,
            "inviter": inviter,
        },
        to=invitation.email,
        organisation=organisation,
    )


def queue_network_invitation(
    network: Network, membership: NetworkMembership, email: str, *, inviter: str
) -> None:
    """To an organisation already on Carevoice: the invitation waits in its workspace. Keyed
    by the membership and when it was (re-)invited."""
    organisation = membership.organisation
    _queue(
        event=f"{membership.pk}:{membership.invited_at.timestamp():.6f}",
        subject=f"{network.lead.name} invites {organisation.name} to {network.name}",
        template="network_invitation",
        context={
            "network": network,
            "organisation": organisation,
            "inviter": inviter,
            "url": organisation.workspace_url("/networks/"),
        },
        to=email,
        organisation=network.lead,
    )


def queue_network_join_invitation(
    network: Network, invitation: NetworkInvitation, *, inviter: str
) -> None:
    """To an organisation not on Carevoice yet: join, and the invitation will be waiting."""
    _queue(
        event=f"{invitation.pk}",
        subject=f"{network.lead.name} invites you to {network.name} on Carevoice",
        template="network_join_invitation",
        context={
            "network": network,
            "inviter": inviter,
            "url": public_url(settings.BASE_DOMAIN, "/"),
        },
        to=invitation.email,
        organisation=network.lead,
    )
