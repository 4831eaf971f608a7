"""Write audit rows. Every staff or moderator operation calls `record_audit` in its transaction."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Concat
from django.http import HttpRequest

from tenants.audit.models import AuditEvent
from tenants.ratelimit import client_address

SYSTEM = "system"


def record_audit(
    action: str,
    *,
    actor: Any | None,
    summary: str,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Record that `actor` did `action`, in the schema that is active now.

    `actor` must be an account of the active schema. For someone from another schema
    (platform staff acting in an organisation's workspace), pass `actor=None` and name
    them in `actor_label`.
    """
    is_person = actor is not None and getattr(actor, "is_authenticated", False)
    address = client_address(request) if request is not None else None
    return AuditEvent.objects.create(
        actor=actor if is_person else None,
        actor_label=actor_label
        or ((getattr(actor, "email", "") or str(actor)) if is_person else SYSTEM),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        summary=summary[:300],
        detail=detail or {},
        ip_address=address if address and address != "unknown" else None,
    )


# What a summary says once the words it quoted are gone (feedback/withdrawal.py, retention).
WORDING_REMOVED = "[wording removed with the story's text]"


def remove_wording(rows: QuerySet[AuditEvent]) -> int:
    """Take the wording out of these rows' summaries (a story's title or a note, quoted when
    the action was taken) once the story it came from has been withdrawn or purged. The rows
    stay: who did what, to which record, and when. Returns how many changed."""
    return rows.exclude(summary__startswith=WORDING_REMOVED).update(
        summary=Concat(Value(WORDING_REMOVED + " "), F("action"))
    )
