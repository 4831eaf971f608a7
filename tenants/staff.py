"""Managing an organisation's staff accounts (run inside that organisation's schema)."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest

from billing.seats import SeatLimitReached, check_seat_available
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit


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
