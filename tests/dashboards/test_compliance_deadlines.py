"""The comparison's compliance table works out each story's deadline in SQL
(`queries.compliance_counts`); the rest of the product works deadlines out in Python
(alerts/working_time.py `due_at`, through `StandardsClock.due`). The two must agree to the
microsecond, at every edge: the working day's first and last moments, after hours, weekends,
both clock changes and the hour the autumn one repeats, and a spread of random instants.

For every instant and allowance, one story is answered exactly at Python's deadline (so the
SQL must count it in time) and one a microsecond later (so it must count it late): together
they pin the SQL's deadline to Python's."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, time, timedelta

import pytest

from alerts.working_time import UK
from dashboards.compliance import member_compliance
from dashboards.network_standards import StandardsClock
from tenants.models import NetworkStandards
from tests.conftest import Cast
from tests.dashboards.public_rows import write_public_stories

CRITICALITIES = (
    "not critical",
    "minimally critical",
    "mildly critical",
    "moderately critical",
    "strongly critical",
    "severely critical",
)
# Two sets of standards, one per member, so twelve allowances are measured in all.
FIRST = ("same day", "1 day", "7 days", "3 hours", "16 hours", "40 hours")
SECOND = ("same day", "2 days", "14 days", "7.5 hours", "8 hours", "100 hours")
CLOCKS = [
    (10, 0),
    (0, 30),
    (1, 0),
    (1, 30),
    (2, 30),
    (8, 59, 59, 999999),
    (9, 0),
    (9, 0, 0, 1),
    (12, 34, 56, 789012),
    (16, 59, 59, 999999),
    (17, 0),
    (17, 0, 0, 1),
    (23, 59, 59, 999999),
]
# Weeks around the clock changes of 2026 (29 March, 25 October), the week before each (a
# week's allowance lands on the change), and an ordinary one.
WEEKS = [
    date(2026, 3, 16),
    date(2026, 3, 23),
    date(2026, 10, 12),
    date(2026, 10, 19),
    date(2026, 6, 1),
]


def instants() -> list[datetime]:
    found = set()
    for monday in WEEKS:
        for offset in range(8):
            day = monday + timedelta(days=offset)
            for clock in CLOCKS:
                for fold in (0, 1):  # the autumn hour twice; elsewhere the same instant
                    local = datetime.combine(day, time(*clock), UK).replace(fold=fold)
                    found.add(local.astimezone(UTC))
    rng = random.Random(20261206)
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(150):
        found.add(origin + timedelta(microseconds=rng.randrange(365 * 86_400 * 10**6)))
    return sorted(found)


def clock_of(allowances: tuple[str, ...]) -> StandardsClock:
    clock = StandardsClock.of(
        NetworkStandards(allowances=dict(zip(CRITICALITIES, allowances, strict=True)))
    )
    assert clock is not None
    return clock


@pytest.mark.django_db
def test_the_sql_deadlines_are_pythons_to_the_microsecond(cast: Cast) -> None:
    moments = instants()
    members = [(cast.org_a, clock_of(FIRST)), (cast.org_b, clock_of(SECOND))]
    rows, hours = [], {}
    for organisation, clock in members:
        waited = hours.setdefault(organisation.pk, [])
        for criticality in CRITICALITIES:
            for published in moments:
                due = clock.due(criticality, published)
                for answered in (due, due + timedelta(microseconds=1)):
                    rows.append((organisation, criticality, published, answered))
                    waited.append((answered - published).total_seconds() / 3600)
    write_public_stories(rows)

    each = len(CRITICALITIES) * len(moments)
    for organisation, clock in members:
        figures = member_compliance(
            [organisation.pk],
            date(2025, 12, 31),
            date(2027, 1, 1),
            clock,
            datetime(2030, 1, 1, tzinfo=UTC),
        )[organisation.pk]
        assert (figures.in_time, figures.late, figures.open_breaches) == (each, each, 0)
        assert figures.median_response_hours == pytest.approx(
            statistics.median(hours[organisation.pk]), abs=1e-6
        )


@pytest.mark.django_db
def test_an_unanswered_story_is_a_breach_from_its_deadline_on(cast: Cast) -> None:
    clock = clock_of(FIRST)
    moments = instants()
    write_public_stories(
        (cast.org_a, criticality, published, None)
        for criticality in CRITICALITIES
        for published in moments
    )
    period = (date(2025, 12, 31), date(2027, 1, 1))
    deadlines = sorted(clock.due(c, p) for c in CRITICALITIES for p in moments)
    # At each of a few deadlines, the stories due by then (that instant included) are breaches.
    for now in (deadlines[0], deadlines[len(deadlines) // 3], deadlines[-1]):
        for moment in (now - timedelta(microseconds=1), now):
            expected = sum(due <= moment for due in deadlines)
            figures = member_compliance([cast.org_a.pk], *period, clock, moment)[cast.org_a.pk]
            assert figures.open_breaches == expected
            assert figures.in_time == figures.late == 0
