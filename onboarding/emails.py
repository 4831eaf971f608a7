"""Onboarding emails. One function per email, named after its template."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from onboarding.models import Invitation
from tenants.models import Network, Organisation, public_url


def _send(subject: str, template: str, context: dict[str, object], to: str) -> None:
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"onboarding/email/{template}.txt", context),
        to=[to],
    )
    message.attach_alternative(
        render_to_string(f"onboarding/email/{template}.html", context), "text/html"
    )
    message.send()


def send_staff_invitation(
    organisation: Organisation, invitation: Invitation, url: str, *, inviter: str
) -> None:
    _send(
        f"You are invited to {organisation.name}'s Carevoice workspace",
        "staff_invitation",
        {
            "organisation": organisation,
            "invitation": invitation,
            "role": invitation.get_role_display().lower(),
            "url": url,
            "inviter": inviter,
        },
        invitation.email,
    )


def send_network_invitation(
    network: Network, organisation: Organisation, email: str, *, inviter: str
) -> None:
    """To an organisation already on Carevoice: the invitation waits in its workspace."""
    _send(
        f"{network.lead.name} invites {organisation.name} to {network.name}",
        "network_invitation",
        {
            "network": network,
            "organisation": organisation,
            "inviter": inviter,
            "url": organisation.workspace_url("/networks/"),
        },
        email,
    )


def send_network_join_invitation(network: Network, email: str, *, inviter: str) -> None:
    """To an organisation not on Carevoice yet: join, and the invitation will be waiting."""
    _send(
        f"{network.lead.name} invites you to {network.name} on Carevoice",
        "network_join_invitation",
        {"network": network, "inviter": inviter, "url": public_url(settings.BASE_DOMAIN, "/")},
        email,
    )
