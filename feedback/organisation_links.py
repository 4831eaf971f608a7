"""Links other apps add to an organisation's page on the hub (hub/organisation.html), so
feedback need not know their pages: dashboards adds its You said, we did page there once the
organisation publishes it. Apps add theirs from their AppConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenants.models import Organisation


@dataclass(frozen=True)
class OrganisationLink:
    label: str
    url: str


# Each gives its link for an organisation, or None when it has nothing to show for it.
LinkFor = Callable[[Organisation], OrganisationLink | None]

_link_makers: list[LinkFor] = []


def add_organisation_link(link_for: LinkFor) -> None:
    """Show `link_for`'s link on organisations' hub pages (once, however often it is added)."""
    if link_for not in _link_makers:
        _link_makers.append(link_for)


def organisation_links(organisation: Organisation) -> list[OrganisationLink]:
    """The extra links for `organisation`'s hub page, in the order they were added."""
    return [link for link in (make(organisation) for make in _link_makers) if link is not None]
