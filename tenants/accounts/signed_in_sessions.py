"""Each signed-in session, so its owner can see it and end it (ASVS 7.5.2), and every other
session of theirs ends when their password or second factor changes (7.4.3).

A `SignedInSession` row is made at sign-in, in the schema of the account (beside the session
itself), and removed at sign-out. Its `session_key` follows the session when the key changes
(at the second step of signing in, or a password change: `follow_key`, from
tenants/sessions.py), and `last_seen_at` follows the once-a-minute activity stamp there, so
the request path gains no write of its own. The key is never shown: pages name a row by its id.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from tenants.accounts.models import SignedInSession, User
from tenants.audit.recording import record_audit
from tenants.ratelimit import client_address

# In the session's data: the key its SignedInSession row has, to notice when the key changes.
RECORDED_KEY = "_carevoice_recorded_key"
USER_AGENT_LENGTH = 200


class SessionError(Exception):
    """The session cannot be ended this way; the message says why."""


def record_sign_in(request: HttpRequest, user: User) -> SignedInSession | None:
    """Note the session `request` has just signed in with (in the active schema)."""
    session = getattr(request, "session", None)
    if session is None or not getattr(user, "pk", None):
        return None
    if session.session_key is None:
        session.save()
    key = session.session_key
    address = client_address(request)
    with transaction.atomic():
        earlier = session.get(RECORDED_KEY)
        if earlier and earlier != key:
            SignedInSession.objects.filter(session_key=earlier).delete()
        now = timezone.now()
        record, _ = SignedInSession.objects.update_or_create(
            session_key=key,
            defaults={
                "user": user,
                "signed_in_at": now,
                "last_seen_at": now,
                "ip_address": address if address and address != "unknown" else None,
                "user_agent": request.headers.get("User-Agent", "")[:USER_AGENT_LENGTH],
            },
        )
    session[RECORDED_KEY] = key
    return record


def follow_key(request: HttpRequest) -> None:
    """The session has a new key (`cycle_key`): its row follows. One write, only then."""
    session = getattr(request, "session", None)
    if session is None:
        return
    recorded = session.get(RECORDED_KEY)
    current = session.session_key
    if not recorded or not current or recorded == current:
        return
    SignedInSession.objects.filter(session_key=recorded).update(session_key=current)
    session[RECORDED_KEY] = current


def touch(request: HttpRequest) -> None:
    """The session was used (called at most once a minute, with the activity stamp)."""
    key = request.session.session_key
    if key:
        SignedInSession.objects.filter(session_key=key).update(last_seen_at=timezone.now())


def forget(request: HttpRequest) -> None:
    """The session is ending (sign-out, or timed out): its row goes too."""
    session = getattr(request, "session", None)
    if session is None:
        return
    keys = {k for k in (session.session_key, session.get(RECORDED_KEY)) if k}
    if keys:
        SignedInSession.objects.filter(session_key__in=keys).delete()


def forget_ended() -> int:
    """Rows whose session is gone (expired and cleared); returns how many were deleted."""
    deleted, _ = SignedInSession.objects.exclude(
        session_key__in=Session.objects.values("session_key")
    ).delete()
    return deleted


def live_sessions(user: User) -> QuerySet[SignedInSession]:
    """`user`'s sessions that are still signed in, most recently used first."""
    now = timezone.now()
    return SignedInSession.objects.filter(
        user=user,
        session_key__in=Session.objects.filter(expire_date__gt=now).values("session_key"),
        last_seen_at__gt=now - timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS),
        signed_in_at__gt=now - timedelta(seconds=settings.STAFF_SESSION_MAX_SECONDS),
    )


def current_keys(request: HttpRequest | None) -> set[str]:
    """The keys that name the session of `request` (before and after a key change)."""
    session = getattr(request, "session", None) if request is not None else None
    if session is None:
        return set()
    return {k for k in (session.session_key, session.get(RECORDED_KEY)) if k}


def end_sessions(user: User, *, keep: HttpRequest | None = None) -> int:
    """End `user`'s sessions in the active schema, all but the one of `keep` if given;
    returns how many. For use inside another operation's transaction (which audits it)."""
    kept = current_keys(keep) if keep is not None and keep.user.pk == user.pk else set()
    records = SignedInSession.objects.filter(user=user).exclude(session_key__in=kept)
    keys = list(records.values_list("session_key", flat=True))
    live = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).count()
    Session.objects.filter(session_key__in=keys).delete()
    records.delete()
    return live


def sign_out_other_sessions(user: User, *, request: HttpRequest) -> int:
    """End every session of `user` but this one; returns how many were signed in."""
    with transaction.atomic():
        ended = end_sessions(user, keep=request)
        record_audit(
            "auth.sessions_ended",
            actor=user,
            target=user,
            summary=f"Signed out everywhere else ({ended} session{'s' if ended != 1 else ''})",
            detail={"sessions_ended": ended, "everywhere_else": True},
            request=request,
        )
    return ended


def sign_out_session(user: User, record_id: int, *, request: HttpRequest) -> None:
    """End one other session of `user`, named by its row's id. Someone else's row is
    SignedInSession.DoesNotExist, as if there were none."""
    with transaction.atomic():
        record = live_sessions(user).select_for_update().get(pk=record_id)
        if record.session_key in current_keys(request):
            raise SessionError("That is this session: use Sign out to end it.")
        Session.objects.filter(session_key=record.session_key).delete()
        record.delete()
        record_audit(
            "auth.sessions_ended",
            actor=user,
            target=user,
            summary=f"Signed out a session from {describe_browser(record.user_agent)}",
            detail={"sessions_ended": 1, "everywhere_else": False},
            request=request,
        )


def describe_browser(user_agent: str) -> str:
    """A short name for a browser, such as "Firefox on Windows"."""
    browsers = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    systems = [
        ("Windows", "Windows"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for mark, name in browsers if mark in user_agent), "")
    system = next((name for mark, name in systems if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "An unknown browser"


@receiver(user_logged_in, dispatch_uid="tenants.accounts.signed_in_sessions.record")
def _on_sign_in(sender: object, request: HttpRequest | None, user: User, **kwargs: object) -> None:
    if request is not None:
        record_sign_in(request, user)


@receiver(user_logged_out, dispatch_uid="tenants.accounts.signed_in_sessions.forget")
def _on_sign_out(sender: object, request: HttpRequest | None, **kwargs: object) -> None:
    if request is not None:
        forget(request)
