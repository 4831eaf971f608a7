"""Expired sessions are removed from every schema (Django leaves them in the table)."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone


def clear_expired_sessions() -> dict[str, object]:
    """Delete expired sessions in the active schema; say which schema and how many."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return {"schema": connection.schema_name, "deleted": deleted}
