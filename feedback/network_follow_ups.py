"""The network lead's story log: its staff mark a member's story "followed up offline", with
a private note (who spoke to whom, and the outcome). Entries live in the lead's own schema
(feedback.models.NetworkFollowUp), so no member ever sees them; a story may have several.

Every entry and every export is audited in the lead's schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.inbox import start_of
from feedback.models import NetworkFollowUp
from feedback.network_inbox import network_members, network_story, stories_by_id
from tenants.audit.recording import record_audit
from tenants.models import Organisation


class FollowUpError(Exception):
    """The entry cannot be made; the message says why."""


@transaction.atomic
def log_follow_up(
    lead: Organisation,
    public_story_id: int,
    *,
    member_id: int,
    spoke_with: str,
    outcome: str,
    author,  # noqa: ANN001 - a User of the lead's schema
    request: HttpRequest | None = None,
) -> NetworkFollowUp:
    """Record that `author` followed a member's story up offline. The story must be one the
    lead's network inbox shows, and the member one it is about."""
    spoke_with, outcome = spoke_with.strip(), outcome.strip()
    if not spoke_with or not outcome:
        raise FollowUpError("Say who you spoke to and what came of it.")
    with tenant_context(lead):
        story = network_story(public_story_id, network_members(lead))
        if story is None:
            raise FollowUpError("This story is not one of your network members' stories.")
        member = next((m for m in story.members if m.pk == member_id), None)
        if member is None:
            raise FollowUpError("Choose the member the story is about.")
        entry = NetworkFollowUp.objects.create(
            public_story_id=public_story_id,
            member_id=member.pk,
            member_name=member.name,
            spoke_with=spoke_with,
            outcome=outcome,
            author=author,
            author_name=author.full_name or author.email,
        )
        record_audit(
            "network.follow_up_logged",
            actor=author,
            summary=f"Logged an offline follow-up with {member.name} on network story "
            f"{public_story_id}",
            target=entry,
            request=request,
        )
    return entry


@dataclass
class LogFilters:
    member: int | None = None
    since: date | None = None
    until: date | None = None
    # The author's account id in the lead's schema.
    who: int | None = None


def follow_up_log(filters: LogFilters) -> QuerySet[NetworkFollowUp]:
    """The active schema's (the lead's) log, newest first, filtered."""
    entries = NetworkFollowUp.objects.all()
    if filters.member is not None:
        entries = entries.filter(member_id=filters.member)
    if filters.since:
        entries = entries.filter(created_at__gte=start_of(filters.since))
    if filters.until:
        entries = entries.filter(created_at__lt=start_of(filters.until, next_day=True))
    if filters.who is not None:
        entries = entries.filter(author_id=filters.who)
    return entries.order_by("-created_at", "-id")


def logged_members() -> list[tuple[int, str]]:
    """(id, name) of every member the active schema's log names, for its member filter:
    members that have since left are still in the log."""
    names: dict[int, str] = {}
    for member_id, name in NetworkFollowUp.objects.order_by("created_at").values_list(
        "member_id", "member_name"
    ):
        names[member_id] = name
    return sorted(names.items(), key=lambda item: item[1])


def logged_authors() -> list[tuple[int, str]]:
    """(account id, name) of everyone who has written in the log, for its "who" filter."""
    rows = (
        NetworkFollowUp.objects.filter(author__isnull=False)
        .values_list("author_id", "author__full_name")
        .distinct()
    )
    return sorted(rows, key=lambda item: item[1])


CSV_HEADER = [
    "Logged at",
    "Logged by",
    "Member",
    "Story id",
    "Story title",
    "Spoke with",
    "Outcome",
]


def export_follow_ups(
    lead: Organisation,
    filters: LogFilters,
    *,
    actor,  # noqa: ANN001 - a User of the lead's schema
    request: HttpRequest | None = None,
) -> list[list[object]]:
    """The lead's log as CSV rows (CSV_HEADER), audited: who took a copy, and how many."""
    with transaction.atomic(), tenant_context(lead):
        rows = list(_csv_rows(list(follow_up_log(filters)), network_members(lead)))
        record_audit(
            "network.follow_ups_exported",
            actor=actor,
            summary=f"Exported {len(rows)} network follow-up{'' if len(rows) == 1 else 's'} as CSV",
            detail={
                "member": filters.member,
                "since": filters.since.isoformat() if filters.since else None,
                "until": filters.until.isoformat() if filters.until else None,
                "who": filters.who,
            },
            request=request,
        )
    return rows


def _csv_rows(
    entries: list[NetworkFollowUp], members: list[Organisation]
) -> Iterator[list[object]]:
    titles = stories_by_id([e.public_story_id for e in entries], members)
    for entry in entries:
        story = titles.get(entry.public_story_id)
        yield [
            timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M"),
            entry.author_name,
            entry.member_name,
            entry.public_story_id,
            story.title if story else "(no longer shared)",
            entry.spoke_with,
            entry.outcome,
        ]
