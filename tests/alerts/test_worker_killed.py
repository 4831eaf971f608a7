"""Kill the worker while it sends an alert, start another: exactly one email goes out.

A real worker process on its own queue, the real broker, committed rows (cleaned up). The
alert's email goes through the outbox of outgoing email (tenants/messages.py), whose send
task the worker queues for itself: every task it sends goes to its own queue
(tests/faults/paused_worker.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertDelivery, DeliveryState
from alerts.sending import outbox_key
from alerts.tasks import evaluate_story
from feedback.hub.models import PublicStory
from feedback.models import Story
from feedback.publishing import StoryToPublish, write_published_stories
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import Cast, wait_until

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "worker-kill-test"
APP_NAME = "carevoice-kill-test-worker"


def database_url() -> str:
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD'] or ''}"
    host = db["HOST"] or "127.0.0.1"
    # Named, so that only these workers' connections are ended afterwards.
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={host}&application_name={APP_NAME}"
    return (
        f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}?application_name={APP_NAME}"
    )


def start_worker(mail_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_URL": os.environ.get("CACHE_URL", ""),
        "EMAIL_BACKEND": "tests.alerts.slow_mail.SlowFileBackend",
        "SLOW_MAIL_DIR": str(mail_dir),
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "CELERY_UNACKED_RESTORE_INTERVAL": "0.2",
        "ALERT_STALE_CLAIM_SECONDS": "2",
        "OUTBOX_STALE_CLAIM_SECONDS": "2",
        # The outbox's send task, queued by the worker, goes to the worker's own queue.
        "FAULT_QUEUE": QUEUE,
        "FAULT_DIR": str(mail_dir),
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.paused_worker",
            "--pool",
            "solo",
            "--queues",
            QUEUE,
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


@pytest.fixture
def quiet_story(cast: Cast, committed_db: None) -> Iterator[Story]:
    """A severely critical story, written without the publication signal, so only this
    test's worker hears of it."""
    with schema_context("public"):
        published = write_published_stories(
            [
                StoryToPublish(
                    title="Worker killed probe",
                    body="### What could be improved\n\nNobody came.",
                    criticality="severely critical",
                    author_role="patient",
                    author_age_group="65-74",
                    submission_route="web",
                    submitted_at=timezone.now() - timedelta(hours=1),
                    published_at=timezone.now(),
                    listings=[cast.ward_a],
                )
            ]
        )[0]
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    yield story
    with tenant_context(cast.org_a):
        story.services.clear()
        story.delete()
    with schema_context("public"):
        public = PublicStory.objects.get(pk=published.public_story.pk)
        public.services.clear()
        public.organisations.clear()
        public.delete()


def test_killing_the_worker_mid_send_still_sends_exactly_once(
    cast: Cast, quiet_story: Story, tmp_path: Path
) -> None:
    worker = start_worker(tmp_path)
    replacement = None
    keys: list[str] = []
    try:
        with tenant_context(cast.org_a):
            evaluate_story.apply_async(args=[quiet_story.pk], queue=QUEUE)
        wait_until(lambda: any(tmp_path.glob("started-*")), timeout=60)
        os.killpg(worker.pid, signal.SIGKILL)  # mid-send: the message was taken, not acked
        worker.wait(10)
        with tenant_context(cast.org_a):
            handed_over = AlertDelivery.objects.get(story=quiet_story)
            keys.append(outbox_key(handed_over))
        # The delivery was handed to the outbox before the send began; its email was cut short.
        assert handed_over.state == DeliveryState.SENT
        with schema_context("public"):
            assert OutboxMessage.objects.get(key=keys[0]).state == OutboxMessageState.SENDING
        assert not any(tmp_path.glob("sent-*"))

        replacement = start_worker(tmp_path)
        wait_until(lambda: any(tmp_path.glob("sent-*")), timeout=90)
        time.sleep(6)  # time enough for any second send to show
        sent = list(tmp_path.glob("sent-*"))
        assert len(sent) == 1
        assert "Worker killed probe" in sent[0].read_text()
        with schema_context("public"):
            (message,) = OutboxMessage.objects.filter(key__in=keys)
            assert message.state == OutboxMessageState.SENT
    finally:
        for process in (worker, replacement):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        with connection.cursor() as cursor:  # the killed worker's connection lingers
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [APP_NAME],
            )
        with schema_context("public"):
            OutboxMessage.objects.filter(key__in=keys).delete()
