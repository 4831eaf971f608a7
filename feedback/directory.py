"""Finding services in the hub's public directory."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from feedback.hub.models import ServiceListing
from tenants.models import Organisation, OrganisationStatus


def active_listings() -> QuerySet[ServiceListing]:
    return ServiceListing.objects.filter(
        is_active=True, organisation__status=OrganisationStatus.ACTIVE
    ).select_related("organisation")


def search_listings(query: str, *, organisation: Organisation | None = None, limit: int = 25):
    listings = active_listings()
    if organisation is not None:
        listings = listings.filter(organisation=organisation)
    # PostgreSQL cannot take NUL in a text parameter; nobody searches for one.
    query = query.replace("\x00", "").strip()
    if query:
        for word in query.split()[:6]:
            listings = listings.filter(
                Q(name__icontains=word)
                | Q(site_name__icontains=word)
                | Q(code__iexact=word)
                | Q(organisation__name__icontains=word)
            )
    return listings.order_by("organisation__name", "site_name", "name")[:limit]


def listings_by_id(
    ids: list[int], *, organisation: Organisation | None = None
) -> list[ServiceListing]:
    listings = active_listings().filter(pk__in=ids)
    if organisation is not None:
        listings = listings.filter(organisation=organisation)
    return list(listings)
