"""Response targets: when each story's first response is due, in this organisation's terms;
setting new stories' due times (`set_due_times`, on feedback's `stories_written`), and the
administrators' operations changing the targets and the bank holidays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from alerts.models import BankHoliday, ResponseTarget
from alerts.working_time import DEFAULT_ALLOWANCES, SAME_DAY, WorkingCalendar, due_at, share_elapsed
from feedback.models import Story
from feedback.signals import WrittenStory
from tenants.accounts.models import User
from tenants.audit.recording import record_audit

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


def set_due_times(stories: list[WrittenStory]) -> int:
    """Give stories just published their due times, from the targets as they are now. Run in
    the organisation's schema, inside the publishing transaction."""
    if not stories:
        return 0
    targets = current_targets()
    return Story.objects.bulk_update(
        [
            Story(pk=story.story_id, due_at=targets.due(story.criticality, story.published_at))
            for story in stories
        ],
        ["due_at"],
        batch_size=500,
    )


@transaction.atomic
def set_response_targets(
    allowances: dict[str, str], *, actor: User, request: HttpRequest | None = None
) -> list[ResponseTarget]:
    """Change the allowance of each criticality named in `allowances`; stories published
    from now on get them."""
    for allowance in allowances.values():
        validate_allowance(allowance)
    targets = list(ResponseTarget.objects.select_for_update().order_by("id"))
    for target in targets:
        if target.criticality in allowances:
            target.allowance = allowances[target.criticality].strip().lower()
            target.save(update_fields=["allowance"])
    record_audit(
        "alerts.targets_changed",
        actor=actor,
        summary="Changed the response targets",
        detail={t.criticality: t.allowance for t in targets},
        request=request,
    )
    return targets


@transaction.atomic
def add_bank_holiday(
    day: date, name: str, *, actor: User, request: HttpRequest | None = None
) -> BankHoliday:
    """A day off in this organisation's working time; stories published from now on count
    around it."""
    holiday = BankHoliday.objects.create(date=day, name=name)
    record_audit(
        "alerts.holiday_added",
        actor=actor,
        target=holiday,
        summary=f"Added bank holiday {holiday}",
        request=request,
    )
    return holiday
