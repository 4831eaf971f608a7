"""Response targets measured in working time.

Each published story must get a first response within an allowance that depends on its
criticality. An allowance is one of:

* ``SAME_DAY`` -- by the end of the working day the story was published in; a story
  published after hours or on a non-working day is due by the end of the next working day;
* a number -- that many working hours, counted only inside working hours on working days;
* a string such as ``"7 days"`` -- that many calendar days, to the same local clock time.

Working days are Monday to Friday that are not listed holidays; the working day runs from
``day_starts`` to ``day_ends`` local time in the calendar's zone (09:00-17:00 Europe/London
by default).

Pure standard library: no Django, no database. Every datetime taken must be timezone-aware
(naive ones raise ``ValueError``); every datetime returned is in the calendar's zone.
Arithmetic is done in UTC so that elapsed time is real time across clock changes, while
working-day boundaries are built from local wall-clock times with ``datetime.combine``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_ALLOWANCES",
    "SAME_DAY",
    "UK",
    "WorkingCalendar",
    "due_at",
    "share_elapsed",
]

UK = ZoneInfo("Europe/London")

SAME_DAY = "same day"

DEFAULT_ALLOWANCES: dict[str, str | float] = {
    "not critical": "7 days",
    "minimally critical": "7 days",
    "mildly critical": "7 days",
    "moderately critical": "7 days",
    "strongly critical": SAME_DAY,
    "severely critical": SAME_DAY,
}

_SATURDAY = 5
_CALENDAR_DAYS = re.compile(r"(\d+)\s*days?", re.IGNORECASE)


def _require_aware(moment: datetime, name: str = "moment") -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment!r}")


# A working day that starts at or after this is never cut short or stretched by a clock change
# (the UK's happen at 01:00 and 02:00), so each of its working days is as long as the next.
_AFTER_CLOCK_CHANGES = time(3, 0)


@lru_cache(maxsize=16384)
def _instant(tz: ZoneInfo, day: date, clock: time) -> datetime:
    """The instant, in UTC, at which the wall clock in ``tz`` reads ``clock`` on ``day``.
    Remembered: working out a year of deadlines asks for the same few hundred days' opening
    and closing times tens of thousands of times (the network comparison's compliance)."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days (Mon-Fri minus ``holidays``) running ``day_starts``-``day_ends`` in ``tz``."""

    holidays: frozenset[date] = frozenset()
    day_starts: time = time(9, 0)
    day_ends: time = time(17, 0)
    tz: ZoneInfo = UK

    def __post_init__(self) -> None:
        # Accept any iterable of dates (a set, a list) but store it frozen and hashable.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.day_starts.tzinfo is not None or self.day_ends.tzinfo is not None:
            raise ValueError("day_starts and day_ends are local clock times; give them no tzinfo")
        if self.day_starts >= self.day_ends:
            raise ValueError(
                f"day_starts ({self.day_starts}) must be earlier than day_ends ({self.day_ends})"
            )

    # -- days ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        return day.weekday() < _SATURDAY and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        if isinstance(day, datetime):
            day = day.date()
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _first_working_day_from(self, day: date) -> date:
        """``day`` itself if it is a working day, else the next one."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    # -- instants (all UTC internally) ----------------------------------------------------

    def _at(self, day: date, clock: time) -> datetime:
        """The instant, in UTC, at which the local wall clock reads ``clock`` on ``day``."""
        return _instant(self.tz, day, clock)

    def _opens(self, day: date) -> datetime:
        return self._at(day, self.day_starts)

    def _closes(self, day: date) -> datetime:
        return self._at(day, self.day_ends)

    def _local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def _local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    # -- public operations ----------------------------------------------------------------

    def end_of_working_day(self, moment: datetime) -> datetime:
        """The end of the working day ``moment`` falls in.

        A moment before ``day_starts`` on a working day belongs to that day; a moment after
        ``day_ends``, or on a non-working day, belongs to the next working day.
        """
        _require_aware(moment)
        instant = moment.astimezone(UTC)
        day = self._local_date(instant)
        if self.is_working_day(day) and instant <= self._closes(day):
            return self._local(self._closes(day))
        return self._local(self._closes(self.next_working_day(day)))

    def add_working_hours(self, moment: datetime, hours: float) -> datetime:
        """``moment`` plus ``hours`` of working time.

        A moment outside working hours starts counting at the next working day's start (so
        adding zero hours to such a moment gives that start). Landing exactly on the end of
        a working day returns that end rather than the next day's start.
        """
        _require_aware(moment)
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise TypeError(f"hours must be a number, not {type(hours).__name__}")
        if not math.isfinite(hours):
            raise ValueError(f"hours must be finite, got {hours!r}")
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours!r}")

        remaining = timedelta(hours=hours)
        cursor = moment.astimezone(UTC)
        day = self._local_date(cursor)
        if not self.is_working_day(day) or cursor >= self._closes(day):
            day = self.next_working_day(day)
            cursor = self._opens(day)
        else:
            cursor = max(cursor, self._opens(day))

        available = self._closes(day) - cursor
        if remaining > available and not self.holidays and self.day_starts >= _AFTER_CLOCK_CHANGES:
            # Without holidays every working day is the same length, so the whole days in
            # between are counted, not walked (a year of deadlines: the network comparison).
            remaining -= available
            length = self._closes(day) - self._opens(day)
            whole = math.ceil(remaining / length) - 1
            remaining -= whole * length
            day = self._add_working_days(day, whole + 1)
            return self._local(self._opens(day) + remaining)
        while True:
            available = self._closes(day) - cursor
            if remaining <= available:
                return self._local(cursor + remaining)
            remaining -= available
            day = self.next_working_day(day)
            cursor = self._opens(day)

    def _add_working_days(self, day: date, count: int) -> date:
        """The working day ``count`` working days after working day ``day`` (no holidays)."""
        weeks, rest = divmod(count, 5)
        day += timedelta(days=7 * weeks)
        for _ in range(rest):
            day = self.next_working_day(day)
        return day

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Hours of working time in ``[start, end]``; 0 if ``end <= start``."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        start_utc = start.astimezone(UTC)
        end_utc = end.astimezone(UTC)
        if end_utc <= start_utc:
            return 0.0

        total = timedelta()
        day = self._first_working_day_from(self._local_date(start_utc))
        last_day = self._local_date(end_utc)
        while day <= last_day:
            overlap_from = max(start_utc, self._opens(day))
            overlap_to = min(end_utc, self._closes(day))
            if overlap_to > overlap_from:
                total += overlap_to - overlap_from
            day = self.next_working_day(day)
        return total / timedelta(hours=1)


def _calendar_days(allowance: str) -> int | None:
    match = _CALENDAR_DAYS.fullmatch(allowance.strip())
    return int(match.group(1)) if match else None


def due_at(published_at: datetime, allowance: str | float, calendar: WorkingCalendar) -> datetime:
    """When a first response to a story published at ``published_at`` is due.

    ``allowance`` is ``SAME_DAY``, a number of working hours, or ``"N days"`` (N calendar
    days to the same local clock time, which keeps 10:00 at 10:00 across a clock change).
    """
    _require_aware(published_at, "published_at")
    if isinstance(allowance, str):
        if allowance.strip().lower() == SAME_DAY:
            return calendar.end_of_working_day(published_at)
        days = _calendar_days(allowance)
        if days is None:
            raise ValueError(
                f"allowance must be {SAME_DAY!r}, a number of working hours or 'N days', "
                f"got {allowance!r}"
            )
        # Same tzinfo: timedelta addition is wall-clock arithmetic, i.e. "same clock time";
        # the round trip through UTC settles a clock time the change skipped over.
        local = published_at.astimezone(calendar.tz) + timedelta(days=days)
        return local.astimezone(UTC).astimezone(calendar.tz)
    if isinstance(allowance, bool) or not isinstance(allowance, int | float):
        raise TypeError(f"allowance must be a string or a number, not {type(allowance).__name__}")
    return calendar.add_working_hours(published_at, allowance)


def share_elapsed(
    published_at: datetime, due: datetime, now: datetime, calendar: WorkingCalendar
) -> float:
    """The fraction of the allowed working time that has passed at ``now``.

    Both the allowance and the elapsed time count working time only, so a story published
    after hours is measured from the next working day's start. The result is 0.0 before
    any working time has passed, 1.0 at the due time and above 1.0 once working time past
    the due time has gone by. When the allowance holds no working time at all (the due time
    equals the start), the answer is 1.0 from the due time on and 0.0 before it.
    """
    _require_aware(published_at, "published_at")
    _require_aware(due, "due")
    _require_aware(now, "now")
    allowed = calendar.working_hours_between(published_at, due)
    if allowed <= 0:
        return 1.0 if now.astimezone(UTC) >= due.astimezone(UTC) else 0.0
    return calendar.working_hours_between(published_at, now) / allowed
