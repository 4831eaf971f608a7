"""Reach's part of the demo: a leaflet and a poster for one of the first provider's
services, and a waiting-room screen link for that service. Made once (seeding again reuses
the same campaign codes and the same screen)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from feedback.choices import Criticality
from feedback.hub.models import PublicStory, ServiceListing
from feedback.reach.campaigns import campaign_for
from feedback.reach.models import Campaign, CampaignKind, DisplayScreen
from feedback.reach.screens import create_screen, hash_token, screen_url
from tenants.schemas import public_schema

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

SCREEN_NAME = "Outpatients waiting room"


@dataclass(frozen=True)
class ReachDemo:
    leaflet_url: str
    poster_url: str
    paper_form_url: str
    screen_url: str
    service_name: str
    leaflet: Campaign
    poster: Campaign


def demo_screen_token() -> str:
    """The same screen token on every run of this machine's demo, so it can be printed
    again (like the demo's API key)."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"carevoice-demo-screen", hashlib.sha256)
    return "demo_" + digest.hexdigest()[:40]


def _service(organisation) -> ServiceListing:
    listings = ServiceListing.objects.filter(organisation=organisation, is_active=True)
    praised = PublicStory.objects.filter(
        organisations=organisation,
        criticality__in=(Criticality.NOT_CRITICAL, Criticality.MINIMALLY_CRITICAL),
    ).values("services")
    return listings.filter(pk__in=praised).order_by("pk").first() or listings.order_by("pk")[0]


def seed_reach_step(context: DemoContext) -> ReachDemo:
    trust = context.organisations[0]
    with public_schema():
        service = _service(trust)
        leaflet = campaign_for(trust, service, CampaignKind.LEAFLET, created_by="demo")
        poster = campaign_for(trust, service, CampaignKind.POSTER, created_by="demo")
        campaign_for(trust, service, CampaignKind.PAPER_FORM, created_by="demo")
        token = demo_screen_token()
        if not DisplayScreen.objects.filter(token_hash=hash_token(token)).exists():
            create_screen(trust, name=SCREEN_NAME, service=service, token=token)
    query = f"?service={service.pk}"
    return ReachDemo(
        leaflet_url=trust.workspace_url(f"/reach/leaflet.pdf{query}"),
        poster_url=trust.workspace_url(f"/reach/poster.pdf{query}"),
        paper_form_url=trust.workspace_url(f"/reach/paper-form.pdf{query}"),
        screen_url=screen_url(trust, token),
        service_name=service.name,
        leaflet=leaflet,
        poster=poster,
    )


def describe_reach_demo(context: DemoContext) -> list[str]:
    demo: ReachDemo = context.results["feedback.reach"]
    trust = context.organisations[0]
    return [
        f"\n  Leaflets, posters and screens ({demo.service_name}, {trust.name}):",
        f"    A5 leaflet (code {demo.leaflet.code}): {demo.leaflet_url}",
        f"    A4 poster (code {demo.poster.code}): {demo.poster_url}",
        f"    paper form: {demo.paper_form_url}",
        f"    counts by leaflet or poster: {trust.workspace_url('/reach/')}",
        f"    waiting-room screen (no sign-in): {demo.screen_url}",
    ]
