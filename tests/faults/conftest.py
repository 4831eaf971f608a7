"""Fixtures the fault suite shares: workers of its own (tests/faults/worker.py), and the
rows a test commits forgotten afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Max
from django_tenants.utils import schema_context, tenant_context

from tenants.audit.models import AuditEvent
from tenants.models import OutboxMessage
from tests.conftest import Cast
from tests.faults.worker import Workers


def send_to_queue(queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every task this process sends (the product's own `.delay` after a commit) goes to
    `queue`, whatever its route."""
    from config.celery import app

    monkeypatch.setattr(app.amqp.router, "routes", [lambda name, *args, **kwargs: {"queue": queue}])


@pytest.fixture
def workers(
    cast: Cast, committed_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workers]:
    """This test's workers (none started yet) and its own queue, which every task this
    process sends goes to. Stopped, and their connections ended, afterwards."""
    harness = Workers(folder=tmp_path)
    send_to_queue(harness.queue, monkeypatch)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def new_rows_forgotten(cast: Cast, committed_db: None) -> Iterator[None]:
    """Audit rows and outgoing emails the test commits (in the hub and in organisation A),
    deleted afterwards, so that tests counting them later see none of this test's. (Audit
    rows refuse to be deleted one by one; a query deletes them.)"""

    def last(model: type[AuditEvent] | type[OutboxMessage]) -> int:
        return model.objects.aggregate(last=Max("pk"))["last"] or 0

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        hub_audit, outbox = last(AuditEvent), last(OutboxMessage)
    with tenant_context(cast.org_a):
        a_audit = last(AuditEvent)
    yield
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        AuditEvent.objects.filter(pk__gt=hub_audit).delete()
        OutboxMessage.objects.filter(pk__gt=outbox).delete()
    with tenant_context(cast.org_a):
        AuditEvent.objects.filter(pk__gt=a_audit).delete()
