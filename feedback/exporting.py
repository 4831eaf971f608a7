"""Bulk exports of stories, made by a worker and kept for a week behind a signed link.

A member of staff asks from the inbox (its filters, as CSV or Excel); a network lead's staff
ask from the network inbox. `queue_export` writes a StoryExport row in the organisation's
schema and queues `exports.build_story_export` after the commit; the worker writes the file
to MEDIA_ROOT/exports/<schema>/<token>.<format>, moving the row's percentage on as it goes,
and the export's page shows it. Only `export_views.download` serves the file: it builds the
path from the requesting workspace's own schema, and its link is signed, names the schema
and the export, and lapses with the file after KEEP_DAYS. /media/ does not serve it.

Like long reports (dashboards/reports/long_reports.py), an organisation has at most
`STORY_EXPORTS_PER_ORGANISATION` exports waiting or being made at once and a person
`STORY_EXPORTS_PER_USER_PER_HOUR` an hour, counted from the rows under a lock on the
organisation's row; a build whose worker died stops counting once it has not moved on for
STALE_AFTER, and one whose message was lost is sent again by the sweeper.

A story withdrawn at its author's request must not stay in a file anyone can download, so
every export made in the schemas it was about, and in their network leads', is deleted
(`withdraw_made_exports`, on `story_withdrawn`).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import asdict, fields
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback import export_rows
from feedback.hub.models import ServiceListing
from feedback.inbox import InboxFilters, filtered_stories
from feedback.models import (
    ExportFormat,
    ExportScope,
    ExportState,
    Service,
    StoryExport,
    Tag,
)
from feedback.network_inbox import (
    NetworkInboxFilters,
    filtered_network_stories,
    network_members,
)
from feedback.signals import story_withdrawn
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.build_limits import TooManyBuilds, check_room, hold_organisation
from tenants.models import Network, Organisation, public_url
from tenants.queueing import queue_after_commit

TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP_DAYS = 7
KEEP_SECONDS = KEEP_DAYS * 24 * 60 * 60
STALE_AFTER = timedelta(minutes=30)
QUEUED_TOO_LONG = timedelta(minutes=10)
SIGNING_SALT = "feedback.story-export"
WITHDRAWN_NOTE = (
    "A story in this export was withdrawn at its author's request, so the file was deleted. "
    "Export again to have it without that story."
)
FAILED_NOTE = "The export could not be made. Please export again, or ask us for help."
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Filters = InboxFilters | NetworkInboxFilters


class TooManyExports(TooManyBuilds):
    """Refused: a limit is reached; `retry_after` is in seconds."""


def file_path(export: StoryExport, schema_name: str | None = None) -> Path:
    """Where an export's file lives: under the active (or named) schema's own folder."""
    if not TOKEN.match(export.token):
        raise ValueError("Not an export token.")
    schema = schema_name or connection.schema_name
    return Path(settings.MEDIA_ROOT) / "exports" / schema / f"{export.token}.{export.format}"


def file_name(export: StoryExport) -> str:
    kind = "network-stories" if export.scope == ExportScope.NETWORK else "stories"
    day = timezone.localtime(export.created_at)
    return f"{kind}-{day:%Y-%m-%d}-{export.token[:8]}.{export.format}"


# --- filters, kept as JSON on the row ------------------------------------------------------


def filters_to(filters: Filters) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in asdict(filters).items()
    }


def filters_from(scope: str, data: dict[str, Any]) -> Filters:
    kind = NetworkInboxFilters if scope == ExportScope.NETWORK else InboxFilters
    values = {}
    for field in fields(kind):
        if field.name not in data:
            continue
        value = data[field.name]
        if field.name in ("since", "until") and value:
            value = date.fromisoformat(value)
        values[field.name] = value
    return kind(**values)


def describe(scope: str, filters: Filters) -> str:
    """The filters in words: 'All stories', or 'Service: Ward 7; Critical; from 2026-01-01'."""
    parts: list[str] = []
    if isinstance(filters, NetworkInboxFilters):
        if filters.member is not None:
            member = Organisation.objects.filter(pk=filters.member).only("name").first()
            parts.append(f"Member: {member.name if member else filters.member}")
        if filters.service is not None:
            listing = ServiceListing.objects.filter(pk=filters.service).only("name").first()
            parts.append(f"Service: {listing.name if listing else filters.service}")
        if filters.tag:
            parts.append(f"Tag: {filters.tag.partition(':')[2] or filters.tag}")
    else:
        if filters.service is not None:
            service = Service.objects.filter(pk=filters.service).only("name").first()
            parts.append(f"Service: {service.name if service else filters.service}")
        if filters.tag is not None:
            tag = Tag.objects.filter(pk=filters.tag).only("name").first()
            parts.append(f"Tag: {tag.name if tag else filters.tag}")
        if filters.overdue:
            parts.append("Overdue")
        if filters.assigned_to_me:
            parts.append("Assigned to the person who asked")
        if filters.language:
            parts.append(f"Language: {filters.language}")
        if filters.within is not None:
            parts.append("Only the services of the person who asked")
    if filters.criticality:
        parts.append(f"Criticality: {filters.criticality.replace('_', ' ')}")
    if filters.progress:
        parts.append(f"Progress: {filters.progress}")
    if filters.responded:
        parts.append("Responded" if filters.responded == "yes" else "Not responded")
    if filters.since:
        parts.append(f"Published from {filters.since:%Y-%m-%d}")
    if filters.until:
        parts.append(f"Published up to {filters.until:%Y-%m-%d}")
    if filters.q:
        parts.append(f"Search: {filters.q}")
    everything = "All members' stories" if scope == ExportScope.NETWORK else "All stories"
    return "; ".join(parts)[:500] if parts else everything


# --- asking --------------------------------------------------------------------------------


def builds_in_progress(now: datetime | None = None) -> int:
    since = (now or timezone.now()) - STALE_AFTER
    return StoryExport.objects.filter(
        state__in=[ExportState.QUEUED, ExportState.RUNNING], updated_at__gte=since
    ).count()


def queue_export(
    *,
    scope: str,
    format: str,  # noqa: A002 - the model's word
    filters: Filters,
    user: User,
    request: HttpRequest | None = None,
) -> StoryExport:
    """Ask for an export (in the active organisation's schema); the row, or TooManyExports
    when a limit is reached, queuing nothing."""
    from feedback.tasks import build_story_export

    if scope not in ExportScope.values or format not in ExportFormat.values:
        raise ValueError("No such export.")
    with transaction.atomic():
        now = timezone.now()
        hold_organisation()
        check_room(
            what="exports",
            in_progress=builds_in_progress(now),
            at_once=settings.STORY_EXPORTS_PER_ORGANISATION,
            asked_at=StoryExport.objects.filter(
                requested_by=user, created_at__gte=now - timedelta(hours=1)
            ).values_list("created_at", flat=True),
            per_hour=settings.STORY_EXPORTS_PER_USER_PER_HOUR,
            now=now,
            refused=TooManyExports,
        )
        export = StoryExport.objects.create(
            token=secrets.token_hex(16),
            scope=scope,
            format=format,
            filters=filters_to(filters),
            description=describe(scope, filters),
            requested_by=user,
        )
        record_audit(
            "stories.export_queued",
            actor=user,
            target=export,
            summary=f"Asked for an export of {export.get_scope_display().lower()} as "
            f"{export.get_format_display()}: {export.description}",
            request=request,
        )
        # The broker down: the row waits at "queued" for `requeue_lost_exports`.
        queue_after_commit(build_story_export, export.pk, what="a story export")
    return export


def requeue_lost_exports(now: datetime | None = None) -> list[int]:
    """Send again the exports still waiting QUEUED_TOO_LONG after they were asked for or last
    sent (their task message was lost), in the active schema; the ids sent. A build sent
    twice does no harm: `build_export` keeps a file already written."""
    from feedback.tasks import build_story_export

    now = now or timezone.now()
    sent = []
    lost = StoryExport.objects.filter(
        state=ExportState.QUEUED,
        updated_at__lt=now - QUEUED_TOO_LONG,
        created_at__gte=now - timedelta(days=1),
    )
    for export in lost:
        claimed = StoryExport.objects.filter(
            pk=export.pk, state=ExportState.QUEUED, updated_at=export.updated_at
        ).update(updated_at=now)
        if claimed:
            build_story_export.delay(export.pk)
            sent.append(export.pk)
    return sent


# --- making --------------------------------------------------------------------------------


def _move_on(export: StoryExport, **values: object) -> None:
    values["updated_at"] = timezone.now()
    StoryExport.objects.filter(pk=export.pk).update(**values)


def build_export(export_id: int) -> str:
    """Write the export's file (in the active schema); its path, or "" when there is none to
    make. Idempotent: a file already written is kept."""
    export = StoryExport.objects.filter(pk=export_id).select_related("requested_by").first()
    if export is None or export.state == ExportState.FAILED:
        return ""
    target = file_path(export)
    if target.is_file():
        _move_on(export, state=ExportState.DONE, percent=100)
        return str(target)
    _move_on(export, state=ExportState.RUNNING, percent=1)
    filters = filters_from(export.scope, export.filters)
    story_url = lambda public_id: public_url(  # noqa: E731
        settings.BASE_DOMAIN, f"/stories/{public_id}/"
    )
    if export.scope == ExportScope.NETWORK:
        members = network_members(connection.tenant)
        stories = filtered_network_stories(filters, members)
        total = stories.count()
        rows = export_rows.network_rows(stories, members, story_url)
        header = export_rows.NETWORK_HEADER
    else:
        stories = filtered_stories(filters, user_id=export.requested_by_id or 0)
        total = stories.count()
        rows = export_rows.organisation_rows(stories, story_url)
        header = export_rows.ORGANISATION_HEADER

    def moved_on(written: int) -> None:
        _move_on(export, percent=min(99, 2 + 97 * written // max(total, 1)))

    target.parent.mkdir(parents=True, exist_ok=True)
    # Its own partial file: a redelivered task running alongside never writes into this one.
    partial = target.with_name(f"{export.token}.{secrets.token_hex(4)}.part")
    try:
        if export.format == ExportFormat.XLSX:
            written = export_rows.write_xlsx(partial, header, rows, moved_on, _about(export))
        else:
            written = export_rows.write_csv(partial, header, rows, moved_on)
    except Exception:
        partial.unlink(missing_ok=True)
        _move_on(export, state=ExportState.FAILED, note=FAILED_NOTE)
        raise
    except BaseException:  # the worker stopping: the message is delivered again
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, target)  # a reader sees the whole file or none
    remove_old(target.parent)
    _move_on(export, state=ExportState.DONE, percent=100, rows=written, finished_at=timezone.now())
    return str(target)


def _about(export: StoryExport) -> list[tuple[str, str]]:
    made = timezone.localtime()
    return [
        ("Organisation", connection.tenant.name),
        ("Stories", export.get_scope_display()),
        ("Filters", export.description),
        ("Asked for by", export.requested_by.full_name if export.requested_by else ""),
        ("Made", f"{made:%Y-%m-%d %H:%M} ({made.tzname()})"),
        ("Times", f"Local time ({settings.TIME_ZONE})"),
        ("Kept until", f"{made + timedelta(days=KEEP_DAYS):%Y-%m-%d}"),
        (
            "Privacy",
            "Stories as published. Authors' contact details are never exported. Handle "
            "this file under your organisation's information governance policy.",
        ),
    ]


def remove_old(folder: Path, *, now: float | None = None) -> int:
    """Delete this schema's export files older than KEEP_SECONDS; how many went."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for path in folder.iterdir():
        if path.suffix in (".csv", ".xlsx", ".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# --- the signed link -----------------------------------------------------------------------


def signed_link(export: StoryExport, schema_name: str | None = None) -> str:
    """The value of the download link: names the schema and the export, and lapses after
    KEEP_DAYS (the file with it)."""
    schema = schema_name or connection.schema_name
    return signing.TimestampSigner(salt=SIGNING_SALT).sign(f"{schema}.{export.token}")


def export_for_link(value: str) -> StoryExport | None:
    """The active schema's export a signed link names, if the link is genuine, not lapsed,
    and for this schema; None otherwise."""
    try:
        named = signing.TimestampSigner(salt=SIGNING_SALT).unsign(value, max_age=KEEP_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return None
    schema, _, token = named.rpartition(".")
    if schema != connection.schema_name or not TOKEN.match(token):
        return None
    return StoryExport.objects.filter(token=token).first()


def is_ready(export: StoryExport) -> bool:
    return export.state == ExportState.DONE and file_path(export).is_file()


# --- withdrawals ---------------------------------------------------------------------------


@receiver(story_withdrawn, dispatch_uid="feedback-exports-withdrawn")
def forget_withdrawn_story(sender: Any, *, schemas: list[str], **kwargs: Any) -> None:
    leads = set(
        Network.objects.filter(memberships__organisation__schema_name__in=schemas).values_list(
            "lead__schema_name", flat=True
        )
    )
    for schema_name in sorted(set(schemas) | leads):
        withdraw_made_exports(schema_name)


def withdraw_made_exports(schema_name: str) -> int:
    """Delete the organisation's exports already made (any may hold the story); how many."""
    removed = 0
    with schema_context(schema_name), transaction.atomic():
        for export in StoryExport.objects.select_for_update().filter(state=ExportState.DONE):
            file_path(export, schema_name).unlink(missing_ok=True)
            export.state = ExportState.FAILED
            export.note = WITHDRAWN_NOTE
            export.updated_at = timezone.now()
            export.save(update_fields=["state", "note", "updated_at"])
            removed += 1
    return removed
