"""You said, we did for a network: the changes its members' published responses say they
made, grouped by member, for the lead to show on the hub and on its own website.

Public data only (the hub's PublicResponse rows, written when a response is published), and
only of the members that may appear by name: active members that agreed to be compared
(tenants.networks.comparable_members). The lead itself is not a member, and a member that
left, never joined or withdrew its consent is absent. The page is public while the lead's
plan includes network comparison (tenants/gate.py), as the comparison itself is.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from dashboards.reports.excerpts import excerpt
from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse
from tenants.gate import Capability, has_capability
from tenants.models import Network, Organisation, OrganisationStatus
from tenants.networks import comparable_members

# The rhythm: a quality report every two months.
DEFAULT_MONTHS = 2
# A public page answers for at most a year at a time.
MAX_DAYS = 366
# The newest changes shown per member; the rest are counted and left to its own page.
PER_MEMBER = 25


@dataclass(frozen=True)
class NetworkChange:
    story_pk: int
    story_title: str
    said: str
    change: str
    at: datetime


@dataclass(frozen=True)
class MemberChanges:
    organisation: Organisation
    # The member's page on the hub (which links to its own You said, we did, if it publishes
    # one: asking here would open every member's schema, and cross-tenant pages read only
    # the public schema).
    page_path: str
    changes: list[NetworkChange]
    # How many changes in the period are not listed (beyond PER_MEMBER).
    more: int


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day when shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_period(today: date) -> tuple[date, date]:
    """The last two months, today included."""
    return months_before(today, DEFAULT_MONTHS) + timedelta(days=1), today


def public_network(slug: str) -> Network | None:
    """The network whose You said, we did the hub shows: its lead is an active subscriber
    whose plan includes network comparison."""
    network = (
        Network.objects.select_related("lead")
        .filter(slug=slug, lead__in=Organisation.objects.ready())
        .first()
    )
    if network is None or not has_capability(network.lead, Capability.NETWORK_COMPARISON):
        return None
    return network


def _hub_path(name: str, slug: str) -> str:
    return reverse(name, args=[slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def network_changes_made(network: Network, start: date, end: date) -> list[MemberChanges]:
    """Each consenting active member's changes made, in responses published from `start` to
    `end` (both included), newest first; members in name order, those with none included."""
    members = sorted(
        (m for m in comparable_members(network) if m.status == OrganisationStatus.ACTIVE),
        key=lambda m: m.name.lower(),
    )
    if not members:
        return []
    made = PublicResponse.objects.filter(
        organisation__in=members,
        change_status=ChangeStatus.MADE,
        published_at__gte=_midnight(start),
        published_at__lt=_midnight(end + timedelta(days=1)),
    )
    totals = dict(
        made.values("organisation_id").annotate(n=Count("pk")).values_list("organisation_id", "n")
    )
    newest = (
        made.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("organisation_id")],
                order_by=[F("published_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=PER_MEMBER)
        .select_related("public_story")
        .order_by("organisation_id", "-published_at", "-pk")
    )
    by_member: dict[int, list[NetworkChange]] = {}
    for response in newest:
        story = response.public_story
        by_member.setdefault(response.organisation_id, []).append(
            NetworkChange(
                story_pk=story.pk,
                story_title=story.title,
                said=excerpt(story.body),
                change=response.change_description or excerpt(response.body),
                at=response.published_at,
            )
        )
    result = []
    for member in members:
        changes = by_member.get(member.pk, [])
        result.append(
            MemberChanges(
                organisation=member,
                page_path=_hub_path("hub:organisation", member.slug),
                changes=changes,
                more=totals.get(member.pk, 0) - len(changes),
            )
        )
    return result
