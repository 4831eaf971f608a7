"""When a story's first response is due, by its criticality.

The defaults: strongly and severely critical stories by the end of the same working day
(a story published after hours, by the end of the next), the rest within seven days.
Working days are Monday to Friday, ending at 17:00 UK time. Per-organisation targets and
bank-holiday calendars belong to the alerts capability and will replace these defaults.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from feedback.vocabulary import Criticality

UK = ZoneInfo("Europe/London")
END_OF_WORKING_DAY = time(17, 0)
SAME_DAY = {Criticality.STRONGLY_CRITICAL, Criticality.SEVERELY_CRITICAL}
OTHERS = timedelta(days=7)


def default_due_at(criticality: str, published_at: datetime) -> datetime:
    if criticality not in SAME_DAY:
        return published_at + OTHERS
    local = published_at.astimezone(UK)
    day = local.date()
    if local.weekday() >= 5 or local.time() >= END_OF_WORKING_DAY:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, END_OF_WORKING_DAY, tzinfo=UK)
