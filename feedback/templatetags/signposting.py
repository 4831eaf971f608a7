"""What an author is told before writing a story: which organisations' complaints and PALS
details to show (feedback/templates/hub/_what_to_expect.html)."""

from __future__ import annotations

from typing import Any

from django import template

from tenants.models import Organisation

register = template.Library()


@register.simple_tag(takes_context=True)
def story_organisations(context: template.Context) -> list[Organisation]:
    """The organisations the story being written is about, as far as the form knows: the
    widget's or kiosk's own, else those of the services already chosen on the hub form.
    Empty when nothing is chosen yet (the general advice is shown instead)."""
    organisation = context.get("for_organisation")
    if organisation is not None:
        return [organisation]
    service: Any = context.get("service")
    listings = [service] if service is not None else list(context.get("chosen") or [])
    found: dict[int, Organisation] = {}
    for listing in listings:
        found.setdefault(listing.organisation_id, listing.organisation)
    return list(found.values())
