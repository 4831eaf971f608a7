"""A second factor: an authenticator app (TOTP) and single-use recovery codes (django-otp).

Who must use one: platform staff in the hub (superusers, Django admin staff, moderators),
every organisation's administrators, and all of an organisation's staff once it requires it.
Anyone else may set one up, and is then asked for it too. The devices live in the account's
own schema, like the account, so a device of one organisation never verifies a session of
another. `second_factor_middleware.py` enforces it; these operations change it.
"""

from __future__ import annotations

import hashlib
import secrets
from base64 import b32encode
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import ratelimit
from tenants.accounts.models import Role, User
from tenants.accounts.signed_in_sessions import end_sessions
from tenants.audit.recording import record_audit
from tenants.models import Organisation

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 15  # 120 bits
RECOVERY_CODE_LENGTH = 24  # base32 characters of 15 bytes
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class SecondFactorError(Exception):
    """The change is not allowed or cannot be made; the message says why."""


@dataclass(frozen=True)
class Verification:
    device: Device | None
    # How many recovery codes are left, after one was used to sign in.
    recovery_codes_left: int | None = None
    rate_limited: bool = False


def is_second_factor_required(user: User, organisation: Organisation | None) -> bool:
    """Whether `user` may not go on with a password alone (in `organisation`, or the hub)."""
    if user.is_superuser or user.is_staff:
        return True
    if organisation is None or organisation.is_hub:
        return user.has_perm("hub.moderate_submission")
    return user.role == Role.ADMINISTRATOR or organisation.require_second_factor


def authenticator_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def base32_secret(device: TOTPDevice) -> str:
    """The key as authenticator apps take it when typed in."""
    return b32encode(device.bin_key).decode()


def start_authenticator(user: User) -> TOTPDevice:
    """A new, unconfirmed key to show as a QR code; the same one until it is confirmed."""
    with transaction.atomic():
        pending = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if pending is not None:
            return pending
        return TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)


def confirm_authenticator(
    user: User, code: str, *, request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the pending key with a code from the app. It replaces any earlier app and
    recovery codes, and ends the person's other sessions (all but the one of `request`);
    returns the device and the new recovery codes, or None if the code is wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            raise SecondFactorError("Start again: there is no authenticator waiting to be set up.")
        if not device.verify_token(_digits(code)):
            _record_failure(user, device, request)
            return None
        replaced = TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk)
        replacing = replaced.exists()
        replaced.delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        ended = end_sessions(user, keep=request)
        action = "Replaced their authenticator app" if replacing else "Set up a second factor"
        record_audit(
            "auth.second_factor_enrolled",
            actor=user,
            target=user,
            summary=f"{action}; {_sessions_ended(ended)}",
            detail={"replaced": replacing, "recovery_codes": len(codes), "sessions_ended": ended},
            request=request,
        )
    return device, codes


def verify_second_factor(user: User, code: str, *, request: HttpRequest) -> Verification:
    """Check a code from the app, or a recovery code (used up by this). The caller marks the
    session verified (`django_otp.login`) when a device is returned."""
    limit = _code_limit()
    identity = str(user.pk)
    if ratelimit.is_limited(limit, identity):
        return Verification(None, rate_limited=True)
    digits = _digits(code)
    with transaction.atomic():
        if digits.isdigit() and len(digits) in (6, 8):
            device: Device | None = (
                TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            token = digits
        else:
            device = (
                StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
            )
            typed = _recovery_code(code)
            # Anything but a whole code is refused before a digest is looked up.
            token = _stored_recovery_code(typed) if len(typed) == RECOVERY_CODE_LENGTH else ""
        if device is None or not token or not device.verify_token(token):
            ratelimit.hit(limit, identity)
            _record_failure(user, device, request)
            return Verification(None)
        left = None
        if isinstance(device, StaticDevice):
            left = device.token_set.count()
            record_audit(
                "auth.recovery_code_used",
                actor=user,
                target=user,
                summary=f"Signed in with a recovery code ({left} left)",
                detail={"recovery_codes_left": left},
                request=request,
            )
    ratelimit.reset(limit, identity)
    return Verification(device, recovery_codes_left=left)


def regenerate_recovery_codes(user: User, *, request: HttpRequest | None = None) -> list[str]:
    """New recovery codes; the old ones stop working, and so do the person's other sessions."""
    with transaction.atomic():
        if not has_second_factor(user):
            raise SecondFactorError("Set up an authenticator app first.")
        codes = _new_recovery_codes(user)
        ended = end_sessions(user, keep=request)
        record_audit(
            "auth.recovery_codes_regenerated",
            actor=user,
            target=user,
            summary=f"Made new recovery codes; {_sessions_ended(ended)}",
            detail={"sessions_ended": ended},
            request=request,
        )
    return codes


def check_removable(user: User, organisation: Organisation | None) -> None:
    """Raise SecondFactorError where `user` may not go without a second factor."""
    if is_second_factor_required(user, organisation):
        raise SecondFactorError(
            "Your account needs a second factor. You can replace your authenticator app, "
            "but not remove it."
        )


def remove_second_factor(
    user: User, *, organisation: Organisation | None, request: HttpRequest | None = None
) -> None:
    """Remove one's own app and recovery codes, where a second factor is optional."""
    check_removable(user, organisation)
    with transaction.atomic():
        _delete_devices(user)
        ended = end_sessions(user, keep=request)
        record_audit(
            "auth.second_factor_removed",
            actor=user,
            target=user,
            summary=f"Removed their second factor; {_sessions_ended(ended)}",
            detail={"sessions_ended": ended},
            request=request,
        )


def reset_second_factor(member: User, *, actor: User, request: HttpRequest | None = None) -> None:
    """An administrator clears a colleague's devices (a lost phone); they set up a new one
    at their next sign-in. Every session of theirs ends now."""
    if member.pk == actor.pk:
        raise SecondFactorError("Replace your own authenticator app from your profile instead.")
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        removed = _delete_devices(member)
        ended = end_sessions(member)
        record_audit(
            "staff.second_factor_reset",
            actor=actor,
            target=member,
            summary=(
                f"Reset the second factor of {member.email}; signed them out of {ended} "
                f"session{'s' if ended != 1 else ''}"
            ),
            detail={"devices_removed": removed, "sessions_ended": ended},
            request=request,
        )


def set_second_factor_requirement(
    organisation: Organisation,
    required: bool,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Organisation:
    """Require (or stop requiring) a second factor of all the organisation's staff.
    Run in the organisation's schema, where the audit row belongs."""
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        if organisation.require_second_factor == required:
            return organisation
        organisation.require_second_factor = required
        # Saving also makes this process forget its cached copy (tenants/routing.py); other
        # processes see the change within TENANT_ROUTING_CACHE_SECONDS.
        organisation.save(update_fields=["require_second_factor"])
        record_audit(
            "staff.second_factor_requirement_changed",
            actor=actor,
            summary=(
                "Required a second factor for all staff"
                if required
                else "Stopped requiring a second factor of all staff (administrators still do)"
            ),
            detail={"required": required},
            request=request,
        )
    return organisation


def _sessions_ended(count: int) -> str:
    return f"signed out {count} other session{'s' if count != 1 else ''}"


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME, "confirmed": True}
    )
    device.token_set.all().delete()
    # 120 random bits each, shown as six groups of four; only their digests are kept.
    codes = [
        b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=_stored_recovery_code(code)) for code in codes
    )
    return [format_recovery_code(code) for code in codes]


def _stored_recovery_code(code: str) -> str:
    """What is kept of a recovery code: a digest, so a copy of the database signs nobody in.

    ASVS 6.5.2 allows a plain (unsalted, fast) hash for lookup secrets of 112 bits or more;
    ours have 120. django-otp's token column holds 16 characters, so the digest is cut to 80
    bits: finding a code that matches one still takes about 2^80 guesses."""
    digest = hashlib.sha256(code.encode("ascii")).digest()
    return b32encode(digest).decode().lower()[:16]


def format_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _recovery_code(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _digits(text: str) -> str:
    return "".join(text.split())


def _delete_devices(user: User) -> int:
    """Delete the account's app and recovery codes; return how many devices there were."""
    _, apps = TOTPDevice.objects.filter(user=user).delete()
    _, statics = StaticDevice.objects.filter(user=user).delete()
    return apps.get(TOTPDevice._meta.label, 0) + statics.get(StaticDevice._meta.label, 0)


def _record_failure(user: User, device: Device | None, request: HttpRequest | None) -> None:
    # The count of successive failures, never the code that was typed.
    failures = getattr(device, "throttling_failure_count", 0) if device is not None else 0
    record_audit(
        "auth.second_factor_failed",
        actor=user,
        target=user,
        summary=f"Entered a wrong second-factor code ({failures} in a row)",
        detail={"failures_in_a_row": failures},
        request=request,
    )


def _code_limit() -> ratelimit.Limit:
    return ratelimit.Limit(
        "second-factor", settings.SECOND_FACTOR_RATE_LIMIT, settings.LOGIN_RATE_WINDOW_SECONDS
    )
