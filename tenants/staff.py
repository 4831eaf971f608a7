"""Managing an organisation's staff accounts (run inside that organisation's schema)."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest

from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.gate import SeatLimitReached, check_seat_available
from tenants.models import Organisation

# The bounds of Organisation.safeguarding_escalate_hours.
MIN_ESCALATE_HOURS, MAX_ESCALATE_HOURS = 1, 72


class StaffError(Exception):
    """The change would leave the workspace unmanageable; the message says why."""


def _is_last_administrator(user: User) -> bool:
    return (
        user.role == Role.ADMINISTRATOR
        and not User.objects.filter(role=Role.ADMINISTRATOR, is_active=True)
        .exclude(pk=user.pk)
        .exists()
    )


@transaction.atomic
def change_role(
    user: User, role: Role | str, *, actor: User, request: HttpRequest | None = None
) -> User:
    role = Role(role)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.role == role:
        return user
    if role != Role.ADMINISTRATOR and _is_last_administrator(user):
        raise StaffError("The workspace needs at least one administrator.")
    previous = user.role
    user.role = role
    user.save(update_fields=["role"])
    record_audit(
        "staff.role_changed",
        actor=actor,
        target=user,
        summary=f"Changed {user.email} from {previous} to {role}",
        detail={"from": previous, "to": role},
        request=request,
    )
    return user


@transaction.atomic
def deactivate_staff(user: User, *, actor: User, request: HttpRequest | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if _is_last_administrator(user):
        raise StaffError("The workspace needs at least one administrator.")
    user.is_active = False
    user.save(update_fields=["is_active"])
    record_audit(
        "staff.deactivated",
        actor=actor,
        target=user,
        summary=f"Deactivated {user.email}",
        request=request,
    )
    return user


@transaction.atomic
def reactivate_staff(user: User, *, actor: User, request: HttpRequest | None = None) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        return user
    try:
        check_seat_available(connection.tenant, User.objects.filter(is_active=True).count())
    except SeatLimitReached as exc:
        raise StaffError(str(exc)) from None
    user.is_active = True
    user.save(update_fields=["is_active"])
    record_audit(
        "staff.reactivated",
        actor=actor,
        target=user,
        summary=f"Reactivated {user.email}",
        request=request,
    )
    return user


def set_active(
    user: User, active: bool, *, actor: User, request: HttpRequest | None = None
) -> User:
    """Switch the account back on (`active`) or off; StaffError when it may not be."""
    change = reactivate_staff if active else deactivate_staff
    return change(user, actor=actor, request=request)


def _set_flag(
    user: User,
    field: str,
    value: bool,
    *,
    actor: User,
    request: HttpRequest | None,
    action: str,
    summary: str,
    inactive: str,
) -> User:
    """Set one of a member of staff's yes-or-no permissions, with its audit row; nothing
    (and no row) when it is already so. `inactive`: why a deactivated account may not be
    given it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if getattr(user, field) == value:
        return user
    if value and not user.is_active:
        raise StaffError(inactive)
    setattr(user, field, value)
    user.save(update_fields=[field])
    record_audit(
        action, actor=actor, target=user, summary=summary, detail={field: value}, request=request
    )
    return user


@transaction.atomic
def set_safeguarding_contact(
    user: User, is_contact: bool, *, actor: User, request: HttpRequest | None = None
) -> User:
    """Name (or stop naming) a member of staff as one of the organisation's safeguarding
    contacts, who are alerted at once to every safeguarding concern raised with it."""
    return _set_flag(
        user,
        "is_safeguarding_contact",
        is_contact,
        actor=actor,
        request=request,
        action="staff.safeguarding_contact_named"
        if is_contact
        else "staff.safeguarding_contact_removed",
        summary=f"Named {user.email} a safeguarding contact"
        if is_contact
        else f"{user.email} is no longer a safeguarding contact",
        inactive="Reactivate the account first: a deactivated account gets no alerts.",
    )


@transaction.atomic
def set_story_taker(
    user: User, is_taker: bool, *, actor: User, request: HttpRequest | None = None
) -> User:
    """Let (or stop letting) a member of staff enter stories received on paper, by phone or
    in person for their authors (feedback/entering.py)."""
    return _set_flag(
        user,
        "is_story_taker",
        is_taker,
        actor=actor,
        request=request,
        action="staff.story_taker_granted" if is_taker else "staff.story_taker_removed",
        summary=f"{user.email} may now enter stories for their authors"
        if is_taker
        else f"{user.email} may no longer enter stories for their authors",
        inactive="Reactivate the account first: a deactivated account cannot sign in.",
    )


def set_safeguarding_escalate_hours(
    organisation: Organisation, hours: int, *, actor: User, request: HttpRequest | None = None
) -> Organisation:
    """How many hours a safeguarding concern may wait for acknowledgement before it goes to
    the administrators and to platform staff. Applies to concerns raised from now on. Run in
    the organisation's schema, where the audit row belongs."""
    if not MIN_ESCALATE_HOURS <= hours <= MAX_ESCALATE_HOURS:
        raise StaffError(
            f"Choose a whole number of hours from {MIN_ESCALATE_HOURS} to {MAX_ESCALATE_HOURS}."
        )
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        previous = organisation.safeguarding_escalate_hours
        if previous == hours:
            return organisation
        organisation.safeguarding_escalate_hours = hours
        organisation.save(update_fields=["safeguarding_escalate_hours"])
        record_audit(
            "staff.safeguarding_hours_changed",
            actor=actor,
            summary=f"Unacknowledged safeguarding concerns now escalate after {hours} hours "
            f"(was {previous})",
            detail={"from": previous, "to": hours},
            request=request,
        )
    return organisation
