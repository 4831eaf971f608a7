"""What dashboards do when a story is withdrawn at its author's request
(feedback/withdrawal.py, signal `story_withdrawn`, sent once the withdrawal has committed).

The withdrawal has already taken the story out of the rollups, in its own transaction
(dashboards/rollups/receivers.py, on `story_withdrawing`). What is left here are the copies
dashboards keep outside the database:

- figures cached under each organisation's data version (live dashboards, network
  comparisons): a new version makes every one of them be computed again, without the story;
- long PDF reports already made (MEDIA_ROOT/reports/<schema>/<token>.pdf, kept for a
  week): any of them may quote the story, so they are deleted, and their progress pages
  say the report must be made again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver
from django_tenants.utils import schema_context

from dashboards.freshness import bump_data_version
from dashboards.models import LongReport, LongReportState
from dashboards.reports import long_reports
from feedback.signals import story_withdrawn

logger = logging.getLogger(__name__)

WITHDRAWN_REPORT = (
    "A story in this report was withdrawn at its author's request, so the report was "
    "deleted. Make it again to have it without that story."
)


@receiver(story_withdrawn)
def forget_withdrawn_story(sender: Any, *, schemas: list[str], **kwargs: Any) -> None:
    for schema_name in schemas:
        bump_data_version(schema_name)
        removed = withdraw_made_reports(schema_name)
        if removed:
            logger.info("deleted %s long reports in %s after a withdrawal", removed, schema_name)


def withdraw_made_reports(schema_name: str) -> int:
    """Delete the organisation's long PDF reports already made; how many went."""
    removed = 0
    with schema_context(schema_name), transaction.atomic():
        for report in LongReport.objects.select_for_update().filter(state=LongReportState.DONE):
            path = long_reports.file_path(report.token, schema_name)
            path.unlink(missing_ok=True)
            long_reports.set_progress(
                report.token,
                100,
                LongReportState.FAILED.value,
                kind=report.kind,
                note=WITHDRAWN_REPORT,
            )
            removed += 1
    return removed
