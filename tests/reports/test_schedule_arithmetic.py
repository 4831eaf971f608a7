"""Schedule arithmetic: each run covers the last complete calendar block before it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from dashboards.reports.scheduling import next_run, period_for


@pytest.mark.parametrize(
    ("frequency", "run", "start", "end"),
    [
        (1, date(2026, 3, 1), date(2026, 2, 1), date(2026, 2, 28)),
        (1, date(2024, 3, 1), date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        (1, date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),  # year boundary
        (1, date(2026, 1, 31), date(2025, 12, 1), date(2025, 12, 31)),
        (1, date(2026, 5, 31), date(2026, 4, 1), date(2026, 4, 30)),
        (2, date(2026, 3, 1), date(2026, 1, 1), date(2026, 2, 28)),
        (2, date(2024, 3, 2), date(2024, 1, 1), date(2024, 2, 29)),
        (2, date(2026, 4, 30), date(2026, 1, 1), date(2026, 2, 28)),
        (2, date(2026, 1, 1), date(2025, 11, 1), date(2025, 12, 31)),
        (2, date(2026, 2, 28), date(2025, 11, 1), date(2025, 12, 31)),
        (2, date(2026, 12, 31), date(2026, 9, 1), date(2026, 10, 31)),
        (3, date(2026, 4, 1), date(2026, 1, 1), date(2026, 3, 31)),
        (3, date(2026, 1, 1), date(2025, 10, 1), date(2025, 12, 31)),
        (3, date(2026, 3, 31), date(2025, 10, 1), date(2025, 12, 31)),
        (3, date(2026, 7, 15), date(2026, 4, 1), date(2026, 6, 30)),
        (3, date(2026, 10, 1), date(2026, 7, 1), date(2026, 9, 30)),
    ],
)
def test_period_for(frequency: int, run: date, start: date, end: date) -> None:
    assert period_for(frequency, run) == (start, end)


@pytest.mark.parametrize(
    ("frequency", "after", "expected"),
    [
        (1, date(2026, 1, 31), date(2026, 2, 1)),
        (1, date(2026, 2, 1), date(2026, 3, 1)),
        (1, date(2025, 12, 1), date(2026, 1, 1)),
        (1, date(2024, 2, 29), date(2024, 3, 1)),
        (2, date(2026, 1, 15), date(2026, 3, 1)),
        (2, date(2026, 3, 1), date(2026, 5, 1)),
        (2, date(2026, 11, 30), date(2027, 1, 1)),
        (2, date(2026, 12, 31), date(2027, 1, 1)),
        (3, date(2026, 1, 1), date(2026, 4, 1)),
        (3, date(2026, 3, 31), date(2026, 4, 1)),
        (3, date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_next_run(frequency: int, after: date, expected: date) -> None:
    assert next_run(frequency, after) == expected


@pytest.mark.parametrize("frequency", [1, 2, 3])
def test_every_day_of_four_years_gives_contiguous_whole_periods(frequency: int) -> None:
    day = date(2023, 1, 1)
    while day < date(2027, 1, 1):
        start, end = period_for(frequency, day)
        assert start.day == 1 and (end + timedelta(days=1)).day == 1
        assert end < day and (end + timedelta(days=1)) <= day
        assert (start.month - 1) % frequency == 0
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        assert months == frequency
        run = next_run(frequency, day)
        assert run > day
        # The run after today delivers the period that ends the day before it.
        assert period_for(frequency, run)[1] == run - timedelta(days=1)
        # No day between today and the next run delivers another period.
        assert period_for(frequency, run - timedelta(days=1)) == (start, end)
        day += timedelta(days=1)


def test_an_unknown_frequency_is_refused() -> None:
    with pytest.raises(ValueError, match="frequency"):
        period_for(4, date(2026, 1, 1))
    with pytest.raises(ValueError, match="frequency"):
        next_run(0, date(2026, 1, 1))
