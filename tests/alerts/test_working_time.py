"""Response targets in working time: worked examples with fixed, explicit datetimes.

Pure Python -- no Django, no database. Calendar reference (2025): Wed 15 Jan, Fri 17 Jan,
Sat 18 Jan, Mon 20 Jan; Mon 5 May is the Early May bank holiday; clocks go forward on
Sun 30 Mar and back on Sun 26 Oct.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest

from alerts.working_time import (
    DEFAULT_ALLOWANCES,
    SAME_DAY,
    UK,
    WorkingCalendar,
    due_at,
    share_elapsed,
)

# England and Wales bank holidays, 2025 to New Year 2027.
ENGLAND_HOLIDAYS = frozenset(
    {
        date(2025, 1, 1),
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2025, 5, 5),
        date(2025, 5, 26),
        date(2025, 8, 25),
        date(2025, 12, 25),
        date(2025, 12, 26),
        date(2026, 1, 1),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 4),
        date(2026, 5, 25),
        date(2026, 8, 31),
        date(2026, 12, 25),
        date(2026, 12, 28),
        date(2027, 1, 1),
    }
)

PLAIN = WorkingCalendar()
ENGLAND = WorkingCalendar(holidays=ENGLAND_HOLIDAYS)

GMT_OFFSET = timedelta(0)
BST_OFFSET = timedelta(hours=1)


def uk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UK)


def severe_due(published_at: datetime, calendar: WorkingCalendar = ENGLAND) -> datetime:
    return due_at(published_at, DEFAULT_ALLOWANCES["severely critical"], calendar)


# -- working days -------------------------------------------------------------------------


def test_weekdays_are_working_days_and_weekends_and_bank_holidays_are_not() -> None:
    assert ENGLAND.is_working_day(date(2025, 1, 15))  # Wednesday
    assert not ENGLAND.is_working_day(date(2025, 1, 18))  # Saturday
    assert not ENGLAND.is_working_day(date(2025, 1, 19))  # Sunday
    assert not ENGLAND.is_working_day(date(2025, 5, 5))  # Early May bank holiday
    assert PLAIN.is_working_day(date(2025, 5, 5))  # no holidays listed


def test_next_working_day_is_strictly_after_and_skips_weekends_and_holidays() -> None:
    assert ENGLAND.next_working_day(date(2025, 1, 15)) == date(2025, 1, 16)
    assert ENGLAND.next_working_day(date(2025, 1, 17)) == date(2025, 1, 20)
    assert ENGLAND.next_working_day(date(2025, 5, 2)) == date(2025, 5, 6)
    assert ENGLAND.next_working_day(date(2025, 12, 24)) == date(2025, 12, 29)


def test_holidays_given_as_a_set_are_stored_frozen() -> None:
    calendar = WorkingCalendar(holidays={date(2025, 5, 5)})  # type: ignore[arg-type]
    assert calendar.holidays == frozenset({date(2025, 5, 5)})
    assert isinstance(calendar.holidays, frozenset)
    hash(calendar)


def test_a_working_day_that_does_not_start_before_it_ends_is_rejected() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(day_starts=time(17, 0), day_ends=time(9, 0))
    with pytest.raises(ValueError):
        WorkingCalendar(day_starts=time(9, 0), day_ends=time(9, 0))


# -- same-day targets ---------------------------------------------------------------------


def test_severe_story_published_during_the_working_day_is_due_at_its_end() -> None:
    assert severe_due(uk(2025, 1, 15, 9, 30)) == uk(2025, 1, 15, 17, 0)


def test_severe_story_published_before_nine_is_due_the_same_day() -> None:
    assert severe_due(uk(2025, 1, 15, 7, 45)) == uk(2025, 1, 15, 17, 0)


def test_severe_story_published_at_exactly_five_is_due_at_that_moment() -> None:
    assert severe_due(uk(2025, 1, 15, 17, 0)) == uk(2025, 1, 15, 17, 0)


def test_severe_story_published_after_hours_is_due_at_the_end_of_the_next_day() -> None:
    assert severe_due(uk(2025, 1, 15, 17, 30)) == uk(2025, 1, 16, 17, 0)


def test_severe_story_published_friday_evening_is_due_monday() -> None:
    assert severe_due(uk(2025, 1, 17, 18, 0)) == uk(2025, 1, 20, 17, 0)


def test_severe_story_published_on_saturday_is_due_monday() -> None:
    assert severe_due(uk(2025, 1, 18, 11, 0)) == uk(2025, 1, 20, 17, 0)


def test_severe_story_published_on_a_bank_holiday_monday_is_due_tuesday() -> None:
    assert severe_due(uk(2025, 5, 5, 10, 0)) == uk(2025, 5, 6, 17, 0)


def test_severe_story_published_before_a_bank_holiday_weekend_is_due_tuesday() -> None:
    assert severe_due(uk(2025, 5, 2, 17, 1)) == uk(2025, 5, 6, 17, 0)


@pytest.mark.parametrize(
    ("published_at", "expected"),
    [
        # 2025: Thu 25 and Fri 26 Dec are holidays, so Christmas Eve evening waits to Mon 29.
        (uk(2025, 12, 24, 16, 0), uk(2025, 12, 24, 17, 0)),
        (uk(2025, 12, 24, 17, 30), uk(2025, 12, 29, 17, 0)),
        (uk(2025, 12, 25, 10, 0), uk(2025, 12, 29, 17, 0)),
        (uk(2025, 12, 26, 10, 0), uk(2025, 12, 29, 17, 0)),
        # New Year's Day (Thursday) is a holiday too.
        (uk(2025, 12, 31, 18, 0), uk(2026, 1, 2, 17, 0)),
        # 2026: Fri 25 Dec and Mon 28 Dec (substitute for Boxing Day) are holidays.
        (uk(2026, 12, 24, 18, 0), uk(2026, 12, 29, 17, 0)),
        (uk(2026, 12, 26, 12, 0), uk(2026, 12, 29, 17, 0)),
        (uk(2026, 12, 28, 9, 30), uk(2026, 12, 29, 17, 0)),
    ],
)
def test_christmas_week_holidays_push_same_day_targets_to_the_next_working_day(
    published_at: datetime, expected: datetime
) -> None:
    assert severe_due(published_at) == expected


def test_strongly_and_severely_critical_default_to_same_day_and_the_rest_to_seven_days() -> None:
    assert DEFAULT_ALLOWANCES["strongly critical"] == SAME_DAY
    assert DEFAULT_ALLOWANCES["severely critical"] == SAME_DAY
    for level in (
        "not critical",
        "minimally critical",
        "mildly critical",
        "moderately critical",
    ):
        assert DEFAULT_ALLOWANCES[level] == "7 days"
    assert len(DEFAULT_ALLOWANCES) == 6


def test_same_day_target_given_in_utc_is_judged_by_uk_clock_and_returned_in_uk_time() -> None:
    # 16:30 UTC in June is 17:30 BST: after hours, so due the next day.
    published_at = datetime(2025, 6, 18, 16, 30, tzinfo=UTC)
    due = severe_due(published_at)
    assert due == uk(2025, 6, 19, 17, 0)
    assert due.tzinfo is UK
    assert due.utcoffset() == BST_OFFSET


def test_custom_working_hours_move_the_end_of_the_day() -> None:
    calendar = WorkingCalendar(day_starts=time(8, 0), day_ends=time(18, 0))
    assert calendar.end_of_working_day(uk(2025, 1, 15, 17, 30)) == uk(2025, 1, 15, 18, 0)
    assert calendar.add_working_hours(uk(2025, 1, 15, 17, 0), 2) == uk(2025, 1, 16, 9, 0)


# -- working hours ------------------------------------------------------------------------


def test_adding_hours_within_one_working_day() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 10, 0), 3) == uk(2025, 1, 15, 13, 0)


def test_adding_hours_that_fill_the_day_exactly_ends_at_five_not_next_morning() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 16, 0), 1) == uk(2025, 1, 15, 17, 0)


def test_adding_hours_carries_over_the_night() -> None:
    # Thursday 16:00 + 3h: one hour on Thursday, two on Friday morning.
    assert PLAIN.add_working_hours(uk(2025, 1, 16, 16, 0), 3) == uk(2025, 1, 17, 11, 0)


def test_adding_hours_carries_over_the_weekend() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 17, 16, 0), 2) == uk(2025, 1, 20, 10, 0)


def test_adding_hours_skips_a_bank_holiday() -> None:
    assert ENGLAND.add_working_hours(uk(2025, 5, 2, 16, 0), 2) == uk(2025, 5, 6, 10, 0)


def test_adding_hours_skips_christmas() -> None:
    assert ENGLAND.add_working_hours(uk(2025, 12, 24, 16, 0), 4) == uk(2025, 12, 29, 12, 0)


def test_a_moment_before_nine_starts_counting_at_nine() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 6, 15), 2) == uk(2025, 1, 15, 11, 0)


def test_a_moment_after_hours_starts_counting_at_the_next_working_day() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 20, 0), 1.5) == uk(2025, 1, 16, 10, 30)
    assert PLAIN.add_working_hours(uk(2025, 1, 18, 12, 0), 1) == uk(2025, 1, 20, 10, 0)


def test_adding_zero_hours_outside_working_time_gives_the_next_start() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 17, 18, 0), 0) == uk(2025, 1, 20, 9, 0)
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 11, 0), 0) == uk(2025, 1, 15, 11, 0)


def test_adding_a_working_week_of_hours() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 11, 0), 40) == uk(2025, 1, 22, 11, 0)


def test_adding_fractional_hours() -> None:
    assert PLAIN.add_working_hours(uk(2025, 1, 15, 16, 45), 0.5) == uk(2025, 1, 16, 9, 15)


def test_negative_hours_are_rejected() -> None:
    with pytest.raises(ValueError):
        PLAIN.add_working_hours(uk(2025, 1, 15, 10, 0), -1)
    with pytest.raises(ValueError):
        due_at(uk(2025, 1, 15, 10, 0), -0.5, PLAIN)


def test_an_organisation_allowance_in_working_hours_is_counted_in_working_time() -> None:
    assert due_at(uk(2025, 1, 15, 15, 0), 4, ENGLAND) == uk(2025, 1, 16, 11, 0)
    assert due_at(uk(2025, 1, 17, 15, 0), 24.0, ENGLAND) == uk(2025, 1, 22, 15, 0)


def test_working_hours_between_counts_only_working_time() -> None:
    assert PLAIN.working_hours_between(uk(2025, 1, 15, 10, 0), uk(2025, 1, 15, 12, 30)) == 2.5
    # Thu 16:00 -> Fri 11:00 is 3 working hours.
    assert PLAIN.working_hours_between(uk(2025, 1, 16, 16, 0), uk(2025, 1, 17, 11, 0)) == 3.0
    # A whole weekend holds none.
    assert PLAIN.working_hours_between(uk(2025, 1, 17, 17, 0), uk(2025, 1, 20, 9, 0)) == 0.0


def test_working_hours_between_is_zero_when_the_end_is_not_after_the_start() -> None:
    assert PLAIN.working_hours_between(uk(2025, 1, 15, 12, 0), uk(2025, 1, 15, 12, 0)) == 0.0
    assert PLAIN.working_hours_between(uk(2025, 1, 16, 12, 0), uk(2025, 1, 15, 12, 0)) == 0.0


def test_working_hours_between_over_christmas_counts_seven_working_days() -> None:
    # Mon 22 Dec 2025 to Fri 2 Jan 2026: 22, 23, 24, 29, 30, 31 Dec and 2 Jan.
    hours = ENGLAND.working_hours_between(uk(2025, 12, 22, 9, 0), uk(2026, 1, 2, 17, 0))
    assert hours == 7 * 8


# -- clock changes ------------------------------------------------------------------------


def test_friday_before_clocks_go_forward_adds_hours_into_british_summer_time() -> None:
    start = uk(2025, 3, 28, 16, 0)  # Friday, GMT
    assert start.utcoffset() == GMT_OFFSET
    due = PLAIN.add_working_hours(start, 2)
    assert due == uk(2025, 3, 31, 10, 0)
    assert due.utcoffset() == BST_OFFSET
    assert due.astimezone(UTC) == datetime(2025, 3, 31, 9, 0, tzinfo=UTC)
    assert PLAIN.working_hours_between(start, due) == 2.0


def test_friday_evening_before_clocks_go_forward_is_due_monday_five_pm_bst() -> None:
    due = severe_due(uk(2025, 3, 28, 18, 0))
    assert due == uk(2025, 3, 31, 17, 0)
    assert due.astimezone(UTC) == datetime(2025, 3, 31, 16, 0, tzinfo=UTC)


def test_friday_before_clocks_go_back_adds_hours_into_greenwich_mean_time() -> None:
    start = uk(2025, 10, 24, 16, 0)  # Friday, BST
    assert start.utcoffset() == BST_OFFSET
    due = PLAIN.add_working_hours(start, 2)
    assert due == uk(2025, 10, 27, 10, 0)
    assert due.utcoffset() == GMT_OFFSET
    assert due.astimezone(UTC) == datetime(2025, 10, 27, 10, 0, tzinfo=UTC)


def test_working_days_either_side_of_a_clock_change_are_eight_hours_each() -> None:
    hours = PLAIN.working_hours_between(uk(2025, 3, 28, 9, 0), uk(2025, 3, 31, 17, 0))
    assert hours == 16.0
    hours = PLAIN.working_hours_between(uk(2025, 10, 24, 9, 0), uk(2025, 10, 27, 17, 0))
    assert hours == 16.0


# -- calendar-day targets -----------------------------------------------------------------


def test_seven_day_target_is_seven_calendar_days_at_the_same_clock_time() -> None:
    assert due_at(uk(2025, 1, 15, 9, 30), "7 days", ENGLAND) == uk(2025, 1, 22, 9, 30)
    # Published on a Saturday evening: still exactly a week, ignoring working hours.
    assert due_at(uk(2025, 1, 18, 22, 15), "7 days", ENGLAND) == uk(2025, 1, 25, 22, 15)


def test_seven_day_target_ignores_bank_holidays() -> None:
    assert due_at(uk(2025, 12, 22, 14, 0), "7 days", ENGLAND) == uk(2025, 12, 29, 14, 0)


def test_seven_day_target_keeps_the_clock_time_across_the_clock_change() -> None:
    published_at = uk(2025, 3, 27, 10, 0)  # GMT
    due = due_at(published_at, "7 days", ENGLAND)
    assert due == uk(2025, 4, 3, 10, 0)
    assert due.utcoffset() == BST_OFFSET
    # One hour of real time went missing when the clocks went forward.
    assert due.astimezone(UTC) - published_at.astimezone(UTC) == timedelta(days=7, hours=-1)


def test_calendar_day_allowance_accepts_other_counts_and_spellings() -> None:
    assert due_at(uk(2025, 1, 15, 9, 30), "1 day", ENGLAND) == uk(2025, 1, 16, 9, 30)
    assert due_at(uk(2025, 1, 15, 9, 30), " 14 Days ", ENGLAND) == uk(2025, 1, 29, 9, 30)


def test_calendar_day_target_given_in_utc_is_returned_in_uk_time() -> None:
    due = due_at(datetime(2025, 7, 1, 8, 0, tzinfo=UTC), "7 days", ENGLAND)
    assert due == uk(2025, 7, 8, 9, 0)
    assert due.tzinfo is UK


def test_unrecognised_allowance_text_is_rejected() -> None:
    for allowance in ("a week", "7 hours", "days", "-7 days", ""):
        with pytest.raises(ValueError):
            due_at(uk(2025, 1, 15, 9, 30), allowance, ENGLAND)


# -- share of allowed time elapsed ----------------------------------------------------------


def test_share_elapsed_is_zero_at_publication() -> None:
    published_at = uk(2025, 1, 15, 9, 0)
    due = severe_due(published_at)
    assert share_elapsed(published_at, due, published_at, ENGLAND) == 0.0


def test_share_elapsed_is_zero_before_publication() -> None:
    published_at = uk(2025, 1, 15, 9, 0)
    due = severe_due(published_at)
    assert share_elapsed(published_at, due, uk(2025, 1, 14, 12, 0), ENGLAND) == 0.0


def test_share_elapsed_reaches_three_quarters_after_six_of_eight_hours() -> None:
    published_at = uk(2025, 1, 15, 9, 0)
    due = severe_due(published_at)
    assert share_elapsed(published_at, due, uk(2025, 1, 15, 15, 0), ENGLAND) == 0.75


def test_share_elapsed_is_one_at_the_due_time() -> None:
    published_at = uk(2025, 1, 15, 11, 0)
    due = severe_due(published_at)
    assert share_elapsed(published_at, due, due, ENGLAND) == 1.0


def test_share_elapsed_exceeds_one_once_working_time_passes_the_due_time() -> None:
    published_at = uk(2025, 1, 15, 9, 0)
    due = severe_due(published_at)
    # One extra working hour on Thursday: 9 of 8 hours.
    assert share_elapsed(published_at, due, uk(2025, 1, 16, 10, 0), ENGLAND) == 1.125


def test_share_elapsed_for_an_after_hours_story_is_measured_from_next_morning() -> None:
    published_at = uk(2025, 1, 15, 18, 0)
    due = severe_due(published_at)
    assert due == uk(2025, 1, 16, 17, 0)
    # Overnight counts for nothing...
    assert share_elapsed(published_at, due, uk(2025, 1, 16, 8, 59), ENGLAND) == 0.0
    # ...and 15:00 is six of the eight working hours.
    assert share_elapsed(published_at, due, uk(2025, 1, 16, 15, 0), ENGLAND) == 0.75


def test_share_elapsed_for_a_seven_day_target_counts_working_hours() -> None:
    published_at = uk(2025, 1, 6, 9, 0)  # Monday
    due = due_at(published_at, "7 days", ENGLAND)
    assert due == uk(2025, 1, 13, 9, 0)  # 5 working days = 40 working hours
    assert share_elapsed(published_at, due, uk(2025, 1, 9, 15, 0), ENGLAND) == 0.75


def test_share_elapsed_with_no_working_time_allowed_flips_at_the_due_time() -> None:
    published_at = uk(2025, 1, 15, 17, 0)
    due = severe_due(published_at)
    assert due == published_at
    assert share_elapsed(published_at, due, uk(2025, 1, 15, 16, 59), ENGLAND) == 0.0
    assert share_elapsed(published_at, due, due, ENGLAND) == 1.0
    assert share_elapsed(published_at, due, uk(2025, 1, 15, 17, 1), ENGLAND) == 1.0


# -- consistency --------------------------------------------------------------------------

HOURS_TO_ADD = (0, 0.25, 1, 3, 7.5, 8, 8.25, 13.75, 16, 24, 40, 41.5, 100)


def _starts(first: datetime, days: int, step: timedelta) -> list[datetime]:
    moments = []
    moment = first
    while moment < first + timedelta(days=days):
        moments.append(moment)
        moment += step
    return moments


@pytest.mark.parametrize(
    "first",
    [
        uk(2025, 1, 13),  # an ordinary week
        uk(2025, 3, 24),  # week ending with the clocks going forward
        uk(2025, 10, 20),  # week ending with the clocks going back
        uk(2025, 12, 22),  # Christmas week
    ],
)
def test_working_hours_between_measures_what_add_working_hours_added(first: datetime) -> None:
    for start in _starts(first, days=8, step=timedelta(minutes=47)):
        for hours in HOURS_TO_ADD:
            end = ENGLAND.add_working_hours(start, hours)
            assert end.astimezone(UTC) >= start.astimezone(UTC)
            measured = ENGLAND.working_hours_between(start, end)
            assert measured == pytest.approx(hours, abs=1e-6), (start, hours, end)


@pytest.mark.parametrize("first", [uk(2025, 3, 24, 9, 0), uk(2025, 12, 22, 9, 0)])
def test_add_working_hours_reaches_a_working_moment_measured_by_working_hours_between(
    first: datetime,
) -> None:
    moments = _starts(first, days=10, step=timedelta(minutes=53))
    start = moments[0]
    for end in moments[1:]:
        hours = ENGLAND.working_hours_between(start, end)
        reached = ENGLAND.add_working_hours(start, hours)
        local_end = end.astimezone(UK)
        inside_working_time = (
            ENGLAND.is_working_day(local_end.date())
            and ENGLAND.day_starts < local_end.time() <= ENGLAND.day_ends
        )
        if inside_working_time:
            assert reached == end, (start, end, hours)
        else:
            # Outside working time the measure cannot tell where in the gap `end` lies;
            # it lands on the last working moment before `end`.
            assert reached <= end
            assert ENGLAND.working_hours_between(reached, end) == 0.0


def test_every_returned_datetime_is_in_the_calendar_zone() -> None:
    published_at = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    for allowance in (SAME_DAY, "7 days", 3, 12.5):
        assert due_at(published_at, allowance, ENGLAND).tzinfo is UK


# -- naive datetimes ----------------------------------------------------------------------


def test_naive_datetimes_are_rejected() -> None:
    naive = uk(2025, 1, 15, 10, 0).replace(tzinfo=None)
    aware = uk(2025, 1, 15, 12, 0)
    with pytest.raises(ValueError):
        ENGLAND.end_of_working_day(naive)
    with pytest.raises(ValueError):
        ENGLAND.add_working_hours(naive, 1)
    with pytest.raises(ValueError):
        ENGLAND.working_hours_between(naive, aware)
    with pytest.raises(ValueError):
        ENGLAND.working_hours_between(aware, naive)
    for allowance in (SAME_DAY, "7 days", 2):
        with pytest.raises(ValueError):
            due_at(naive, allowance, ENGLAND)
    with pytest.raises(ValueError):
        share_elapsed(naive, aware, aware, ENGLAND)
    with pytest.raises(ValueError):
        share_elapsed(aware, aware, naive, ENGLAND)


def test_counting_whole_days_gives_the_same_deadlines_as_walking_them() -> None:
    """Without holidays `add_working_hours` counts whole working days instead of walking
    them; a calendar with a holiday long past walks. Across two years (clock changes, weekends,
    moments before, during and after hours, ends landing exactly on a day's close) the two
    agree to the microsecond."""
    counting = WorkingCalendar()
    walking = WorkingCalendar(holidays={date(1990, 1, 1)})
    rng = random.Random(17)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    moments = [start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in range(3000)]
    moments += [datetime(2026, 3, 27, 16, 0, tzinfo=UTC), datetime(2026, 10, 23, 16, 0, tzinfo=UTC)]
    for moment in moments:
        for hours in (0, 0.25, 1, 7.5, 8, 9, 16, 40, 48, 100, 333.3):
            assert counting.add_working_hours(moment, hours) == walking.add_working_hours(
                moment, hours
            ), (moment, hours)
