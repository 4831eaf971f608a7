from __future__ import annotations

from datetime import datetime

import pytest

from feedback.targets import UK, default_due_at


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=UK)


@pytest.mark.parametrize(
    ("published", "due"),
    [
        (uk(2026, 11, 18, 9, 30), uk(2026, 11, 18, 17, 0)),  # Wednesday morning: same day
        (uk(2026, 11, 18, 17, 30), uk(2026, 11, 19, 17, 0)),  # after hours: next day
        (uk(2026, 11, 20, 18, 0), uk(2026, 11, 23, 17, 0)),  # Friday evening: Monday
        (uk(2026, 11, 21, 10, 0), uk(2026, 11, 23, 17, 0)),  # Saturday: Monday
    ],
)
def test_severe_stories_are_due_by_the_end_of_the_working_day(
    published: datetime, due: datetime
) -> None:
    assert default_due_at("severely critical", published) == due
    assert default_due_at("strongly critical", published) == due


def test_other_stories_are_due_within_seven_days() -> None:
    published = uk(2026, 11, 18, 9, 30)
    assert default_due_at("mildly critical", published) == uk(2026, 11, 25, 9, 30)
    assert default_due_at("not critical", published) == uk(2026, 11, 25, 9, 30)
