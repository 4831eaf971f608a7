"""Members measured against their network's response standards (dashboards/network_standards.py),
from public data only: each member's published stories and its own public responses
(`queries.compliance_counts`, which works out each story's deadline in SQL exactly as
`StandardsClock.due` does in Python), never its schema.

For each story of a criticality the network sets a standard for, published in the period:
- **in time**: the member's first public response came by the standard's deadline;
- **late**: it came after;
- **open breach**: none yet, and the deadline has passed;
- not yet due and unanswered: not measured (it may still be answered in time).

The share in time is of the stories measured (in time, late, open breaches); the median time
to first response is of the measured stories answered, in hours of real time. A member
"meets" the standards when its share in time is at least the lead's `met_percent`.

Suppression, as everywhere else in the comparison: fewer than 8 measured stories and every
figure reads "fewer than 8"; otherwise the in-time, late and open-breach counts are one table
with its total shown (`suppress_counts`, the late count never displayed), so neither a small
count nor one that would give a small one away is shown, nor a share made from it. The
median needs 8 answered stories. "Met / not met" is shown whenever the member has 8 measured
stories or more: it says on which side of the lead's line the share falls, never a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dashboards import queries
from dashboards.network_standards import NETWORK_CALENDAR, StandardsClock
from dashboards.statistics import share, suppressed
from dashboards.suppression import SMALL, Suppression, suppress_counts

MET = "met"
NOT_MET = "not met"


@dataclass(frozen=True)
class Compliance:
    organisation_id: int
    in_time: int
    late: int
    open_breaches: int
    # Hours from publication to the first response, of the measured stories answered.
    median_response_hours: float | None
    met_percent: int

    @property
    def measured(self) -> int:
        return self.in_time + self.late + self.open_breaches

    @property
    def answered(self) -> int:
        return self.in_time + self.late

    @property
    def share_in_time(self) -> float | None:
        return share(self.in_time, self.measured)

    @property
    def is_met(self) -> bool | None:
        value = self.share_in_time
        return None if value is None else 100 * value >= self.met_percent

    # --- what may be shown ---------------------------------------------------------------

    @property
    def suppressed(self) -> bool:
        return suppressed(self.measured)

    @property
    def table(self) -> Suppression[str]:
        return suppress_counts(
            {"in_time": self.in_time, "late": self.late, "breaches": self.open_breaches},
            self.measured,
            undisplayed={"late"},
        )

    def shown(self) -> dict[str, str]:
        """Every figure as text, already suppressed as it must be."""
        if self.suppressed:
            return dict.fromkeys(
                ("measured", "in_time", "share", "median", "breaches", "met"), SMALL
            )
        table = self.table
        median_table = suppress_counts({"answered": self.answered})
        share_text = (
            format(100 * self.share_in_time, ".0f")  # type: ignore[operator]
            if table.shows("in_time")
            else table.label("in_time")
        )
        return {
            "measured": str(self.measured),
            "in_time": table.count("in_time"),
            "share": share_text,
            "median": format(self.median_response_hours, ".1f")
            if median_table.shows("answered") and self.median_response_hours is not None
            else median_table.label("answered"),
            "breaches": table.count("breaches"),
            "met": MET if self.is_met else NOT_MET,
        }


def member_compliance(
    organisation_ids: list[int], start: date, end: date, clock: StandardsClock, now: datetime
) -> dict[int, Compliance]:
    """Each organisation's compliance with `clock`'s standards in the period, counted in SQL
    (`queries.compliance_counts`): a year of fifty members' stories is one aggregate, not a
    deadline worked out in Python per story."""
    counted = {
        row.organisation_id: row
        for row in queries.compliance_counts(
            organisation_ids, start, end, clock.standards(), NETWORK_CALENDAR, now
        )
    }
    nothing = queries.ComplianceCounts(0, 0, 0, 0, None)
    return {
        pk: Compliance(
            organisation_id=pk,
            in_time=counted.get(pk, nothing).in_time,
            late=counted.get(pk, nothing).late,
            open_breaches=counted.get(pk, nothing).open_breaches,
            median_response_hours=counted.get(pk, nothing).median_response_hours,
            met_percent=clock.met_percent,
        )
        for pk in organisation_ids
    }
