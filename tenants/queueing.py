"""Queuing a task once the caller's transaction commits, without a broker outage ever
failing the request (or the task) that asked.

The work itself is a committed row (a sign-up, an import, a report); the task message only
says "start now". When the broker cannot take it, the row waits and that kind of work's
sweeper finds it: sign-ups (`signup.sweep`), service imports (`onboarding.sweep_imports`),
long reports (`reports.sweep_long_reports`), webhook events (`billing.sweep_webhook_events`),
alerts (`alerts.sweep`), outgoing emails (`tenants.send_due_outbox_messages`).
"""

from __future__ import annotations

import logging

from celery import Task
from django.db import connection, transaction
from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)


def queue_after_commit(task: Task, *args: object, what: str) -> None:
    """Send `task(*args)` once the current transaction commits (at once outside one), in the
    schema active now. `what` names the work in the warning logged if the broker is down
    (say "a sign-up's provisioning", never the data itself)."""
    schema_name = connection.schema_name

    def send() -> None:
        try:
            # The schema of the caller, not whichever is active when the commit runs: the
            # task runs where its rows are.
            with schema_context(schema_name):
                task.delay(*args)
        except Exception as exc:  # noqa: BLE001 - the row is committed; its sweeper queues it
            logger.warning(
                "could not queue %s for %s (%s); its sweeper will",
                task.name,
                what,
                exc.__class__.__name__,
            )

    transaction.on_commit(send)
