"""Response targets: when each story's first response is due, in this organisation's terms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError

from alerts.models import BankHoliday, ResponseTarget
from alerts.working_time import DEFAULT_ALLOWANCES, SAME_DAY, WorkingCalendar, due_at, share_elapsed

ALLOWANCE = re.compile(r"^(same day|\d{1,3} days?|\d{1,4} hours?)$")


def validate_allowance(value: str) -> None:
    if not ALLOWANCE.match(value.strip().lower()):
        raise ValidationError(
            "Write “same day”, a number of days (“7 days”) or of working hours (“48 hours”)."
        )


def parse_allowance(value: str) -> str | float:
    text = value.strip().lower()
    if text == SAME_DAY:
        return SAME_DAY
    number, unit = text.split()
    if unit.startswith("day"):
        return f"{int(number)} days"
    return float(number)


@dataclass(frozen=True)
class Targets:
    """This organisation's allowances and calendar, read once for many stories."""

    allowances: dict[str, str | float]
    calendar: WorkingCalendar

    def due(self, criticality: str, published_at: datetime) -> datetime:
        allowance = self.allowances.get(criticality, DEFAULT_ALLOWANCES[criticality])
        return due_at(published_at, allowance, self.calendar)

    def share_elapsed(self, published_at: datetime, due: datetime, now: datetime) -> float:
        return share_elapsed(published_at, due, now, self.calendar)


def current_targets() -> Targets:
    """For the organisation whose schema is active."""
    allowances = {t.criticality: parse_allowance(t.allowance) for t in ResponseTarget.objects.all()}
    holidays = frozenset(BankHoliday.objects.values_list("date", flat=True))
    return Targets(
        allowances={**DEFAULT_ALLOWANCES, **allowances}, calendar=WorkingCalendar(holidays)
    )
