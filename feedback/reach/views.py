"""Reach pages: the workspace's leaflets, posters, paper form, campaign counts and display
screen links; the hub's display screen itself."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as clock

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from feedback.hub.models import ServiceListing
from feedback.reach.campaigns import campaign_counts, campaign_for, tell_url
from feedback.reach.forms import PeriodForm, ScreenForm
from feedback.reach.leaflets import DRAWERS
from feedback.reach.models import CampaignKind, DisplayScreen
from feedback.reach.screens import (
    create_screen,
    revoke_screen,
    screen_campaign,
    screen_for,
    stories_for,
)
from feedback.service_limits import administers_everything, limited_services
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.audit.recording import record_audit
from tenants.models import Organisation

# Which printed thing each download URL names.
PRINTED = {
    "leaflet": CampaignKind.LEAFLET,
    "poster": CampaignKind.POSTER,
    "paper-form": CampaignKind.PAPER_FORM,
}
# How long a waiting-room screen shows one story before it reloads with the next.
ROTATE_SECONDS = 20
DEFAULT_PERIOD = timedelta(days=90)


def _listing(organisation: Organisation, raw: str | None) -> ServiceListing | None:
    """The organisation's active listing named by `raw`, None for "the whole organisation";
    anything else (another organisation's, a malformed id) is a 404."""
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise Http404("No such service")
    return get_object_or_404(
        ServiceListing, pk=int(raw), organisation_id=organisation.pk, is_active=True
    )


def _period(form: PeriodForm) -> tuple[datetime | None, datetime | None]:
    if not form.is_bound:
        return timezone.now() - DEFAULT_PERIOD, None
    if not form.is_valid():
        return None, None
    zone = timezone.get_current_timezone()
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    return (
        datetime.combine(since, clock.min, tzinfo=zone) if since else None,
        datetime.combine(until + timedelta(days=1), clock.min, tzinfo=zone) if until else None,
    )


@role_required(Role.RESPONDER)
def reach_page(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    period_form = PeriodForm(request.GET or None)
    since, until = _period(period_form)
    # A person limited to some services (feedback/service_limits.py) prints for theirs only,
    # sees only their campaigns and screens, and makes no screens.
    within = limited_services(request.user)
    is_admin = administers_everything(request.user)
    listings = ServiceListing.objects.filter(organisation_id=organisation.pk, is_active=True)
    counts = campaign_counts(organisation.pk, since=since, until=until)
    screens = DisplayScreen.objects.filter(organisation_id=organisation.pk)
    if within is not None:
        listings = listings.filter(service_id__in=within)
        counts = [
            c for c in counts if c.campaign.service and c.campaign.service.service_id in within
        ]
        screens = screens.filter(service__service_id__in=within)
    return render(
        request,
        "reach/workspace.html",
        {
            "listings": listings.order_by("site_name", "name"),
            "counts": counts,
            "period_form": period_form,
            "is_admin": is_admin,
            "whole_organisation": within is None,
            "screens": screens.select_related("service").order_by("-created_at"),
            "screen_form": ScreenForm(organisation_id=organisation.pk) if is_admin else None,
        },
        status=400 if period_form.errors else 200,
    )


@require_GET
@role_required(Role.RESPONDER)
def download(request: HttpRequest, printed: str) -> HttpResponse:
    organisation: Organisation = request.tenant
    kind = PRINTED.get(printed)
    if kind is None:
        raise Http404("No such printed thing")
    listing = _listing(organisation, request.GET.get("service"))
    within = limited_services(request.user)
    if within is not None and (listing is None or listing.service_id not in within):
        raise Http404("No such service among yours")
    campaign = campaign_for(organisation, listing, kind, created_by=request.user.email)
    pdf = DRAWERS[kind](campaign)
    record_audit(
        "reach.downloaded",
        actor=request.user,
        target=None,
        summary=f"Downloaded {campaign.get_kind_display().lower()} {campaign.code}"
        + (f" for {listing.name}" if listing else ""),
        detail={
            "campaign": campaign.code,
            "kind": kind,
            "service": listing.pk if listing else None,
        },
        request=request,
    )
    name = f"carevoice-{printed}-{campaign.code}.pdf"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@role_required(Role.ADMINISTRATOR)
def add_screen(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    form = ScreenForm(request.POST, organisation_id=organisation.pk)
    if not form.is_valid():
        return render(request, "reach/screen_refused.html", {"form": form}, status=400)
    listing = _listing(organisation, str(form.cleaned_data["service"] or ""))
    made = create_screen(
        organisation, name=form.cleaned_data["name"], service=listing, actor=request.user
    )
    # Shown once, like an API key: the link itself is not stored.
    return render(request, "reach/screen_made.html", {"screen": made.screen, "url": made.url})


@require_POST
@role_required(Role.ADMINISTRATOR)
def revoke_screen_view(request: HttpRequest, pk: int) -> HttpResponse:
    organisation: Organisation = request.tenant
    get_object_or_404(DisplayScreen, pk=pk, organisation_id=organisation.pk)
    screen = revoke_screen(organisation, pk, actor=request.user)
    messages.success(request, f"Revoked “{screen.name}”. Its link now shows nothing.")
    return redirect("feedback:reach")


@never_cache
@require_GET
def display(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """A waiting-room screen: one recent positive story at a time, reloading itself."""
    screen = screen_for(slug, token)
    if screen is None:
        raise Http404("No such screen")
    stories = list(stories_for(screen))
    shown = stories[int(time.time() // ROTATE_SECONDS) % len(stories)] if stories else None
    link = tell_url(screen_campaign(screen))
    qr_svg = segno.make(link, error="m").svg_inline(scale=6, omitsize=True)
    response = render(
        request,
        "reach/display.html",
        {
            "screen": screen,
            "for_organisation": screen.organisation,
            "story": shown,
            "refresh": ROTATE_SECONDS,
            "qr_svg": qr_svg,
            "tell_link": link,
        },
    )
    # The token is in the path: never send it on as a referrer.
    response["Referrer-Policy"] = "no-referrer"
    return response
