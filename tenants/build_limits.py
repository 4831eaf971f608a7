"""How many builds on the shared reports queue (long PDFs, story exports) an organisation
and a person may ask for: a few at once per organisation, a few an hour per person.

Both counts are taken from the asking app's own rows, under a lock on the organisation's
row (`hold_organisation`), so two requests at once can never both take the last place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from tenants.models import Organisation

# When to suggest trying again after the organisation's limit: a build takes about a minute.
ORGANISATION_RETRY_SECONDS = 60


class TooManyBuilds(Exception):
    """Refused: a limit is reached; `message` says which, `retry_after` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def hold_organisation() -> None:
    """Lock the active organisation's row until the caller's transaction ends.

    TRICKY: the lock makes count-then-insert one step per organisation; without it two
    requests at once could both see room for one more."""
    Organisation.objects.select_for_update().only("pk").get(pk=connection.tenant.pk)


def check_room(
    *,
    what: str,
    in_progress: int,
    at_once: int,
    asked_at: Iterable[datetime],
    per_hour: int,
    now: datetime,
    refused: type[TooManyBuilds] = TooManyBuilds,
) -> None:
    """Raise `refused` when the organisation has `at_once` builds of `what` (say "exports")
    in progress, or the person asked for `per_hour` in the hour before `now` (`asked_at`:
    when they asked, within that hour), saying when they may ask again."""
    if in_progress >= at_once:
        raise refused(
            f"{at_once} {what} are being made for your organisation, the most at once. "
            "Please try again in a minute or two, when one has finished.",
            ORGANISATION_RETRY_SECONDS,
        )
    recent = sorted(asked_at)
    if len(recent) >= per_hour:
        free_at = recent[len(recent) - per_hour] + timedelta(hours=1)
        raise refused(
            f"You have asked for {per_hour} {what} in the last hour, the most for one "
            f"person. You can ask for another at {timezone.localtime(free_at):%H:%M}.",
            max(1, math.ceil((free_at - now).total_seconds())),
        )
