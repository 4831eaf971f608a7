"""Staff sessions: how long they last, and expired ones removed from every schema.

A signed-in session ends after STAFF_SESSION_IDLE_SECONDS without activity, and in any case
STAFF_SESSION_MAX_SECONDS after sign-in, whatever the activity (`SessionTimeoutMiddleware`).
A dashboard's own timer polls are not activity: a screen left open does not stay signed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tenants.accounts import signed_in_sessions
from tenants.audit.recording import record_audit

# Session keys: when this session signed in, and when it was last used (epoch seconds).
SIGNED_IN_AT = "_carevoice_signed_in_at"
LAST_ACTIVE_AT = "_carevoice_last_active_at"
# Activity is written at most this often, so a busy session is not saved on every request.
ACTIVITY_RESOLUTION_SECONDS = 60


def clear_expired_sessions() -> dict[str, object]:
    """Delete expired sessions in the active schema; say which schema and how many."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    signed_in_sessions.forget_ended()
    return {"schema": connection.schema_name, "deleted": deleted}


def now_seconds() -> int:
    return int(timezone.now().timestamp())


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def expiry_reason(session: SessionBase, now: int) -> str | None:
    """Why this signed-in session has ended, or None while it is current."""
    signed_in = session.get(SIGNED_IN_AT)
    last_active = session.get(LAST_ACTIVE_AT)
    if not isinstance(signed_in, int) or not isinstance(last_active, int):
        return None
    limit = settings.STAFF_SESSION_MAX_SECONDS
    if now - signed_in >= limit:
        return f"You were signed out because you signed in more than {_duration(limit)} ago."
    idle = settings.STAFF_SESSION_IDLE_SECONDS
    if now - last_active >= idle:
        return f"You were signed out after {_duration(idle)} without activity."
    return None


def is_timer_poll(request: HttpRequest) -> bool:
    """A Dash callback fired by a timer (dcc.Interval), not by the person at the screen."""
    if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
        return False
    try:
        changed = json.loads(request.body or b"{}").get("changedPropIds") or []
    except (ValueError, AttributeError):
        return False
    return bool(changed) and all(str(prop).endswith(".n_intervals") for prop in changed)


def start_clocks(session: SessionBase) -> None:
    now = now_seconds()
    session[SIGNED_IN_AT] = now
    session[LAST_ACTIVE_AT] = now


@receiver(user_logged_in, dispatch_uid="tenants.sessions.start_clocks")
def _signed_in(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    # Signing in again while signed in keeps the session's data: the clocks restart here.
    if request is not None and hasattr(request, "session"):
        start_clocks(request.session)


def sign_out_expired(request: HttpRequest, reason: str) -> None:
    """End the session (a new, empty one replaces it) and say why on the next page."""
    user = request.user
    summary = reason.removeprefix("You were ").rstrip(".")
    with transaction.atomic():
        signed_in_sessions.forget(request)
        request.session.flush()
        record_audit(
            "auth.session_expired",
            actor=user,
            summary=summary[:1].upper() + summary[1:],
            request=request,
        )
    request.user = AnonymousUser()
    messages.info(request, f"{reason} Sign in again to carry on.")


class SessionTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware.

    An expired session is signed out before the view runs, which then answers as it would
    anyone signed out (the sign-in page for a page, a 403 for a dashboard callback).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = now_seconds()
            reason = expiry_reason(request.session, now)
            if reason is not None:
                sign_out_expired(request, reason)
            elif not is_timer_poll(request):
                last_active = request.session.get(LAST_ACTIVE_AT)
                if not isinstance(last_active, int) or (
                    now - last_active >= ACTIVITY_RESOLUTION_SECONDS
                ):
                    request.session[LAST_ACTIVE_AT] = now
                    signed_in_sessions.touch(request)
        response = self.get_response(request)
        # Just signed in (or a session from before these stamps): the clocks start now.
        if request.user.is_authenticated and SIGNED_IN_AT not in request.session:
            start_clocks(request.session)
        # The second step of signing in, or a password change, gave the session a new key.
        signed_in_sessions.follow_key(request)
        return response
