"""The outbox: one way to send a message exactly once from a row written before it.

Alert deliveries, report deliveries, outgoing emails (tenants/messages.py) and Stripe webhook
events are each a row, written in the caller's transaction. A sender claims the row with a
conditional UPDATE (of two workers racing for it, one changes it and the other changes
nothing), sends, and marks it done; a failed send releases it, with its error, for the next
run. A claim older than the row's stale setting belongs to a worker that died before
finishing and may be claimed again. TRICKY: that worker may have sent the message before
dying, so the stale setting is minutes, far longer than any send.

`Outbox` is told the model and its field names, so this module imports nothing of the
product. Every row has a state field (waiting states, which a claim takes a row from and a
release puts it back into the first of; a claimed state; a done state) and a claimed-at
time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

RowT = TypeVar("RowT", bound=Model)


@dataclass(frozen=True)
class Outbox(Generic[RowT]):
    """How one model's rows are claimed, marked and taken back (see the module docstring)."""

    model: type[RowT]
    # What the log calls one row, e.g. "alert delivery".
    label: str
    claimed_at_field: str = "claimed_at"
    # The state field and its states.
    state_field: str = "state"
    waiting_states: tuple[str, ...] = ()
    claimed_state: str = ""
    done_state: str = ""
    # The name of the setting (seconds) after which a claim is stale; None: never.
    stale_setting: str | None = None
    # Counted up by each claim, when the row keeps count.
    attempts_field: str | None = None
    # Where a release writes the error (cut to error_length) and done clears it.
    error_field: str | None = None
    error_length: int = 300
    # Set to the time when the row is marked done by deliver().
    sent_at_field: str | None = None
    # A waiting row is claimed only once this time has passed (a retry's backoff); None: at once.
    due_field: str | None = None

    def __post_init__(self) -> None:
        if not (self.waiting_states and self.claimed_state and self.done_state):
            raise ValueError("An outbox needs waiting, claimed and done states.")

    @property
    def rows(self) -> QuerySet[RowT]:
        return self.model._default_manager.all()

    # --- which rows -------------------------------------------------------------------------

    def waiting(self) -> Q:
        """Rows no worker has claimed (a Q, so a sweeper can add its own conditions)."""
        return Q(**{f"{self.state_field}__in": self.waiting_states})

    def claimed(self) -> Q:
        """Rows a worker has claimed and not yet marked or released."""
        return Q(**{self.state_field: self.claimed_state})

    def stale(self, now: datetime) -> Q:
        """Claimed rows whose worker has had the stale setting's time and not finished."""
        if self.stale_setting is None:
            return Q(pk__in=[])
        before = now - timedelta(seconds=getattr(settings, self.stale_setting))
        return self.claimed() & Q(**{f"{self.claimed_at_field}__lt": before})

    def claimable(self, now: datetime) -> Q:
        """Waiting rows, and those claimed by a worker that died before finishing."""
        waiting = self.waiting()
        if self.due_field is not None:
            waiting &= Q(**{f"{self.due_field}__lte": now})
        if self.stale_setting is None:
            return waiting
        return waiting | self.stale(now)

    # --- one row ----------------------------------------------------------------------------

    def claim(self, pk: Any) -> bool:
        """Take the row for sending; False when it is done or another worker has it."""
        now = timezone.now()
        changes: dict[str, Any] = {self.claimed_at_field: now, self.state_field: self.claimed_state}
        if self.attempts_field is not None:
            changes[self.attempts_field] = F(self.attempts_field) + 1
        return bool(self.rows.filter(self.claimable(now), pk=pk).update(**changes))

    def mark_done(self, pk: Any, **fields: Any) -> bool:
        """Mark a claimed row done, setting these fields too. Only a claimed row changes, so
        a second call does nothing and returns False."""
        changes = {self.state_field: self.done_state, **fields}
        return bool(self.rows.filter(self.claimed(), pk=pk).update(**changes))

    def release(self, pk: Any, error: str = "", **fields: Any) -> bool:
        """Put a claimed row back among the waiting, with the error, for the next run.
        `fields` are set too (e.g. when to try again, or another state to park it in)."""
        changes: dict[str, Any] = {self.state_field: self.waiting_states[0]}
        if self.error_field is not None:
            changes[self.error_field] = error[: self.error_length]
        changes.update(fields)
        return bool(self.rows.filter(self.claimed(), pk=pk).update(**changes))

    def deliver(
        self,
        pk: Any,
        send: Callable[[RowT], object],
        *,
        rows: QuerySet[RowT] | None = None,
    ) -> bool:
        """Claim the row, send(row), mark it done; if send raises, release the row with the
        error. Returns whether it was sent now. `rows` loads the row (e.g. select_related)."""
        if not self.claim(pk):
            return False
        row = (rows if rows is not None else self.rows).get(pk=pk)
        try:
            send(row)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            # The error's text goes on the row, not in the log: a mail server's or an API's
            # reply may quote addresses, and a proxy's the credentials in its URL.
            logger.warning(
                "%s %s not sent (%s); released for the next run",
                self.label,
                pk,
                exc.__class__.__name__,
            )
            self.release(pk, str(exc))
            if isinstance(exc, SoftTimeLimitExceeded):
                raise  # the task is out of time: stop here, not at the next row's hard kill
            return False
        done: dict[str, Any] = {}
        if self.sent_at_field is not None:
            done[self.sent_at_field] = timezone.now()
        if self.error_field is not None:
            done[self.error_field] = ""
        self.mark_done(pk, **done)
        return True
