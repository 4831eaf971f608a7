"""Long reports, made by a worker: a PDF over a long period is built by a Celery task in the
organisation's schema and written to MEDIA_ROOT/reports/<schema_name>/<token>.pdf, with its
progress in the cache (whose keys the tenant key function prefixes with the schema).

The file is only ever served by `views.long_pdf_download`, which builds its path from the
requesting workspace's own schema name and a token that must look like one we make, so a
file of one organisation is never found on another's domain. /media/ does not serve it.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection

# Periods longer than this (in days) are made by a worker, with a progress page.
LONG_DAYS = 180
KINDS = ("summary", "you-said-we-did")
TOKEN = re.compile(r"^[0-9a-f]{32}$")
PROGRESS_SECONDS = 24 * 60 * 60
# A made PDF (and any partial file left by a dead worker) is deleted after this long.
KEEP_SECONDS = 7 * 24 * 60 * 60


def new_token() -> str:
    return secrets.token_hex(16)


def is_long(start: date, end: date) -> bool:
    return (end - start).days + 1 > LONG_DAYS


def file_path(token: str, schema_name: str | None = None) -> Path:
    """Where a report's PDF lives: under the active (or named) schema's own folder."""
    if not TOKEN.match(token):
        raise ValueError("Not a report token.")
    schema = schema_name or connection.schema_name
    return Path(settings.MEDIA_ROOT) / "reports" / schema / f"{token}.pdf"


def progress_key(token: str) -> str:
    return f"reports:long-pdf:{token}"


def progress(token: str) -> dict[str, object] | None:
    return cache.get(progress_key(token))


def set_progress(token: str, percent: int, state: str, **extra: object) -> None:
    cache.set(
        progress_key(token),
        {"percent": percent, "state": state, **extra},
        timeout=PROGRESS_SECONDS,
    )


def build(token: str, kind: str, start: str, end: str, service: int | None) -> str:
    """Make the PDF (in the active schema). Idempotent: a file already written is kept."""
    from dashboards.filters import tenant_scope
    from dashboards.reports import pdf
    from dashboards.reports.summary import stories_summary
    from dashboards.reports.views import period_label
    from dashboards.reports.you_said_we_did import changes_made

    target = file_path(token)
    if target.is_file():
        set_progress(token, 100, "done", kind=kind)
        return str(target)
    if kind not in KINDS:
        set_progress(token, 100, "failed", kind=kind)
        return ""
    set_progress(token, 10, "running", kind=kind)
    scope = tenant_scope(
        connection.tenant.pk,
        start=start,
        end=end,
        service=service,
        criticality=None,
        today=date.fromisoformat(end),
    )
    label = period_label(scope)
    name = connection.tenant.name
    if kind == "summary":
        summary = stories_summary(scope)
        set_progress(token, 50, "running", kind=kind)
        content = pdf.summary_pdf(
            summary, title="Stories summary", organisation_name=name, period_label=label
        )
    else:
        items = changes_made(scope)
        set_progress(token, 50, "running", kind=kind)
        content = pdf.you_said_we_did_pdf(
            items, title="You said, we did", organisation_name=name, period_label=label
        )
    set_progress(token, 90, "running", kind=kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Its own partial file: a redelivered task running alongside never writes into this one.
    partial = target.with_name(f"{token}.{secrets.token_hex(4)}.part")
    partial.write_bytes(content)
    os.replace(partial, target)  # a reader sees the whole file or none
    remove_old(target.parent)
    set_progress(token, 100, "done", kind=kind)
    return str(target)


def remove_old(folder: Path, *, now: float | None = None) -> int:
    """Delete this schema's report files older than KEEP_SECONDS; how many went."""
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    removed = 0
    for path in folder.glob("*.p*"):
        if path.suffix in (".pdf", ".part") and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
