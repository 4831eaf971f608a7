"""Audit rows for what Django itself does on staff's behalf: logins, logouts, admin edits."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

from tenants.audit.recording import record_audit


@receiver(user_logged_in)
def audit_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record_audit("auth.login", actor=user, summary="Signed in", request=request)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_audit("auth.logout", actor=user, summary="Signed out", request=request)


@receiver(user_login_failed)
def audit_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:254]
    record_audit(
        "auth.login_failed",
        actor=None,
        summary=f"Failed sign-in for {attempted or 'an empty address'}",
        detail={"attempted": attempted},
        request=request,
    )


@receiver(post_save, sender=LogEntry)
def audit_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    verb = {LogEntry.ADDITION: "added", LogEntry.CHANGE: "changed", LogEntry.DELETION: "deleted"}
    record_audit(
        f"admin.{verb.get(instance.action_flag, 'acted')}",
        actor=instance.user,
        summary=f"Admin {verb.get(instance.action_flag, 'acted on')} {instance.object_repr}"[:300],
        detail={
            "content_type": str(instance.content_type) if instance.content_type else "",
            "object_id": instance.object_id or "",
            "change_message": instance.get_change_message(),
        },
    )
