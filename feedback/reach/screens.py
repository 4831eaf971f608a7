"""Waiting-room display screens: a link with a secret token that shows recent positive
published stories, their responses and changes, and a QR code to tell your own.

Like API keys (feedback/apikeys.py), the token is shown to the administrator once and only
its SHA-256 is stored; revoking the screen makes its link answer 404, the same answer a
wrong token gets.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.choices import POSITIVE_CRITICALITIES
from feedback.hub.models import PublicResponse, PublicStory, ServiceListing
from feedback.reach.campaigns import campaign_for
from feedback.reach.models import Campaign, CampaignKind, DisplayScreen
from tenants.audit.recording import record_audit
from tenants.models import Organisation, public_url
from tenants.schemas import public_schema

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
# Stories a screen shows: positive ones only.
POSITIVE = POSITIVE_CRITICALITIES
SHOWN = 8


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def screen_path(organisation: Organisation, token: str) -> str:
    return f"/o/{organisation.slug}/display/{token}/"


def screen_url(organisation: Organisation, token: str) -> str:
    return public_url(settings.BASE_DOMAIN, screen_path(organisation, token))


@dataclass(frozen=True)
class NewScreen:
    screen: DisplayScreen
    # The screen's link: shown to its maker once and never stored.
    url: str


def create_screen(
    organisation: Organisation,
    *,
    name: str,
    service: ServiceListing | None = None,
    actor=None,
    token: str | None = None,
) -> NewScreen:
    """Make a display link for `organisation` (or one of its services), by an
    administrator (`actor`). `token` is for the demo only, which derives its own so it can
    print the same link on every run; everyone else gets a fresh random one."""
    if service is not None and service.organisation_id != organisation.pk:
        raise ValueError("That service is not one of the organisation's.")
    token = token or secrets.token_urlsafe(32)
    if not TOKEN_PATTERN.fullmatch(token):
        raise ValueError("A display token is 32 to 64 URL-safe characters.")
    made_by = getattr(actor, "email", "") or "system"
    with transaction.atomic():
        with public_schema():
            screen = DisplayScreen.objects.create(
                organisation=organisation,
                service=service,
                name=name.strip()[:100],
                token_hash=hash_token(token),
                created_by=made_by,
            )
            # The QR code on the screen is counted like a poster's.
            campaign_for(organisation, service, CampaignKind.DISPLAY_SCREEN, created_by=made_by)
        with tenant_context(organisation):  # the audit row goes where the actor lives
            record_audit(
                "display_screen.created",
                actor=actor,
                target=screen,
                summary=f"Made display screen link “{screen.name}”",
            )
    return NewScreen(screen=screen, url=screen_url(organisation, token))


def revoke_screen(organisation: Organisation, screen_id: int, *, actor=None) -> DisplayScreen:
    with transaction.atomic():
        with public_schema():
            screen = DisplayScreen.objects.select_for_update().get(
                pk=screen_id, organisation=organisation
            )
            if screen.revoked_at is None:
                screen.revoked_at = timezone.now()
                screen.save(update_fields=["revoked_at"])
        with tenant_context(organisation):
            record_audit(
                "display_screen.revoked",
                actor=actor,
                target=screen,
                summary=f"Revoked display screen link “{screen.name}”",
            )
    return screen


def screen_for(slug: str, token: str) -> DisplayScreen | None:
    """The active screen of the active organisation `slug` with this token, or None: a
    wrong, revoked or another organisation's token, or a suspended organisation, all look
    the same."""
    if not TOKEN_PATTERN.fullmatch(token or ""):
        return None
    with public_schema():
        return (
            DisplayScreen.objects.select_related("organisation", "service")
            .filter(
                token_hash=hash_token(token),
                revoked_at__isnull=True,
                organisation__slug=slug,
                organisation__in=Organisation.objects.ready(),
            )
            .first()
        )


def stories_for(screen: DisplayScreen) -> QuerySet[PublicStory]:
    """Recent positive published stories about the screen's organisation (or its service),
    each with that organisation's public responses."""
    stories = PublicStory.objects.filter(
        organisations=screen.organisation_id, criticality__in=POSITIVE
    )
    if screen.service_id is not None:
        stories = stories.filter(services=screen.service_id)
    responses = PublicResponse.objects.filter(organisation_id=screen.organisation_id)
    return (
        stories.distinct()
        .order_by("-published_at", "-id")
        .prefetch_related(Prefetch("responses", queryset=responses))[:SHOWN]
    )


def screen_campaign(screen: DisplayScreen) -> Campaign:
    return campaign_for(
        screen.organisation,
        screen.service,
        CampaignKind.DISPLAY_SCREEN,
        created_by=screen.created_by,
    )
