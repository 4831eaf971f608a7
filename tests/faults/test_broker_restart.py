"""Fault: Redis, the broker, is restarted while a worker is busy with a task.

The embedded Redis (config/embedded.py, append-only, as `make run` starts it) of this test
alone: it is stopped while a real worker (tests/faults/worker.py) is in the middle of sending
an email, with more sends queued behind it, and started again on the same files. The
worker's address for it is a link to its socket, moved to the new one as a restarted
server keeps its host and port. Shown: the worker finishes its email, reconnects, and
sends what was queued before the restart; what was written while Redis was down is sent by
the sweeper; each email goes exactly once.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django_tenants.utils import schema_context
from kombu import pools

from config import embedded
from tenants.messages import enqueue_email
from tenants.models import OutboxMessage, OutboxMessageState
from tenants.tasks import send_due_outbox_messages
from tests.faults.mailbox import sent
from tests.faults.worker import Workers


@dataclass
class RestartableBroker:
    """An embedded Redis whose address stays the same across a restart: `url` names a
    link to the running server's socket."""

    directory: Path
    server: embedded.EmbeddedRedis | None = None

    @property
    def link(self) -> Path:
        return self.directory / "broker.sock"

    @property
    def url(self) -> str:
        return f"redis+socket://{self.link}"

    def start(self) -> None:
        self.server = embedded.EmbeddedRedis(self.directory / "data")
        self.server.start()
        self.link.unlink(missing_ok=True)
        self.link.symlink_to(self.server.socket_file)

    def stop(self) -> None:
        """Shut down as a service manager's restart does (SHUTDOWN: the append-only file is
        written out, then the server exits)."""
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def broker() -> Iterator[RestartableBroker]:
    # A short directory: a unix socket's path may not be longer than about 100 characters.
    directory = Path(tempfile.mkdtemp(prefix="cv-broker-"))
    restartable = RestartableBroker(directory)
    restartable.start()
    try:
        yield restartable
    finally:
        restartable.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def sends_to_broker(
    broker: RestartableBroker, workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """This test's workers use `broker`, and so does every task this process sends."""
    from config.celery import app

    workers.broker_url = broker.url
    pool = pools.producers[app.connection_for_write(broker.url)]
    monkeypatch.setattr(app.amqp, "_producer_pool", pool)
    try:
        yield
    finally:
        pool.force_close_all()


def write_emails(run: str, numbers: range) -> list[int]:
    """Outgoing emails, written (and their sends queued) as the product writes them."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        return [
            enqueue_email(
                kind="faults.probe",
                key=f"faults.broker:{run}:{n}",
                recipient=f"reader{n}@broker-restart.example",
                subject=f"Broker restart probe {n}",
                text_body="Sent once, whatever the broker does.",
            ).pk
            for n in numbers
        ]


def test_redis_restarted_while_a_worker_is_busy_loses_and_repeats_nothing(
    workers: Workers, new_rows_forgotten: None, broker: RestartableBroker, sends_to_broker: None
) -> None:
    run = uuid.uuid4().hex[:8]
    worker = workers.start(mail_seconds=3)
    queued = write_emails(run, range(1, 4))
    workers.wait(workers.paused, "the first email to reach the mail backend")

    broker.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(unix_socket_path=str(broker.link)).ping()
    # Written while Redis is down: its send cannot be queued; the row waits, committed.
    waiting = write_emails(run, range(4, 5))
    broker.start()

    # Beat, a minute on, sends the outbox's sweeper.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        send_due_outbox_messages.delay()
        rows = OutboxMessage.objects.filter(pk__in=queued + waiting)
        workers.wait(
            lambda: not rows.exclude(state=OutboxMessageState.SENT).exists(),
            "the worker to send every email",
        )
        workers.settle()
        assert [row.attempts for row in rows] == [1, 1, 1, 1]
    # (The sweeper sends any other due email in the database too: only these are counted.)
    mails = Counter(
        mail["Subject"]
        for mail in sent(workers.folder)
        if "Broker restart probe" in mail["Subject"]
    )
    assert mails == Counter(f"Broker restart probe {n}" for n in range(1, 5))
    assert worker.is_running  # reconnected, never restarted
