"""How many staff accounts a plan allows: the one place onboarding asks.

TRICKY: billing/ owns the answer, through `billing.seats.check_seat_available(organisation,
active_staff_count)` and `billing.seats.seat_limit(organisation) -> int | None` (a network
lead's member limit is checked by tenants.networks.accept_invitation itself). Billing was
built alongside onboarding, so this adapter imports it when it is there and otherwise allows
everything (no limit). Its refusals come back as this module's SeatLimitReached with
billing's own message. Tests replace `_billing_seats` to stand in for a plan with a limit.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from tenants.models import Organisation


class SeatLimitReached(Exception):
    """The plan has no room for one more; the message says what to do."""


def _billing_seats() -> ModuleType | None:
    try:
        return importlib.import_module("billing.seats")
    except ModuleNotFoundError as exc:
        if exc.name not in ("billing.seats", "billing"):
            raise  # billing.seats exists but is broken: say so, never allow by accident
        return None


def _ask(check_name: str, *args: object) -> None:
    seats = _billing_seats()
    check = getattr(seats, check_name, None) if seats is not None else None
    if check is None:
        return
    refused = getattr(seats, "SeatLimitReached", None)
    try:
        answer = check(*args)
    except Exception as exc:
        if refused is not None and isinstance(exc, refused):
            raise SeatLimitReached(str(exc)) from exc
        raise
    if answer is False:
        raise SeatLimitReached(
            "Your plan has no room for this. An administrator can change plan on the Billing page."
        )


def seat_limit(organisation: Organisation) -> int | None:
    """The number of active staff accounts the plan allows; None for no limit."""
    seats = _billing_seats()
    return None if seats is None else seats.seat_limit(organisation)


def check_seat_available(organisation: Organisation, active_staff_count: int) -> None:
    """Raise SeatLimitReached unless one more account fits beside `active_staff_count`."""
    _ask("check_seat_available", organisation, active_staff_count)
