"""Real Celery workers in processes of their own, for the fault suite: started, paused at a
chosen point, SIGKILLed there, and replaced.

Each test gets its own queue, its own folder (mail, pause and ready marks, worker logs) and
its own database application name:
- every task the test process sends goes to the test's queue (the `workers` fixture routes
  them there), and so does every task its workers send (tests/faults/paused_worker.py), so
  no other worker of the suite takes this test's work, and this test's workers take no
  other's;
- mail goes to the folder (tests/faults/mailbox.py), after a pause a test may kill in;
- the workers claim for a short while only (every *_STALE_CLAIM_SECONDS is 2) and take a
  dead worker's unacknowledged task message again after 2 s (CELERY_VISIBILITY_TIMEOUT), so a
  replacement takes over in seconds rather than the minutes production waits;
- afterwards every worker is stopped and its database connections ended (a killed worker's
  linger until PostgreSQL notices).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

# Short, so a replacement worker takes a dead one's claims in seconds.
STALE_CLAIMS = {
    name: "2"
    for name in (
        "ALERT_STALE_CLAIM_SECONDS",
        "REPORT_STALE_CLAIM_SECONDS",
        "OUTBOX_STALE_CLAIM_SECONDS",
        "WEBHOOK_STALE_CLAIM_SECONDS",
        "IMPORT_STALE_CLAIM_SECONDS",
    )
}


def database_url(application_name: str) -> str:
    """The test database, with connections named so that only these workers' are ended."""
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD'] or ''}"
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={host}&application_name={application_name}"
    port = db["PORT"] or 5432
    return f"postgresql://{auth}@{host}:{port}/{db['NAME']}?application_name={application_name}"


def end_connections(application_name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [application_name],
        )


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def is_running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, the whole process group (a prefork pool's children too): nothing of the
        task runs on, nothing is acknowledged."""
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if not self.is_running:
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Workers:
    folder: Path
    queue: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:12]}")
    application_name: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:12]}")
    broker_url: str = field(default_factory=lambda: settings.CELERY_BROKER_URL)
    started: list[Worker] = field(default_factory=list)

    def start(
        self,
        *,
        pause_at: str = "",
        pause_on_call: int = 1,
        mail_seconds: float = 0.0,
        pool: str = "solo",
        **env: str,
    ) -> Worker:
        """Start a worker on the test's queue and wait until it consumes. `pause_at`
        ("module:function") and `pause_on_call` say where it stops (paused_worker.py);
        `mail_seconds` how long each email takes (mailbox.py); `env` adds settings."""
        log = self.folder / f"worker-{len(self.started) + 1}.log"
        variables = {
            **os.environ,
            **STALE_CLAIMS,
            "DATABASE_URL": database_url(self.application_name),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_VISIBILITY_TIMEOUT": "2",
            "CELERY_UNACKED_RESTORE_INTERVAL": "0.2",
            "EMAIL_BACKEND": "tests.faults.mailbox.FolderBackend",
            "FAULT_DIR": str(self.folder),
            "FAULT_QUEUE": self.queue,
            "FAULT_MAIL_SECONDS": str(mail_seconds),
            "FAULT_PAUSE_AT": pause_at,
            "FAULT_PAUSE_ON_CALL": str(pause_on_call),
            "FAULT_CACHE_KEY_PREFIX": str(settings.CACHES["default"].get("KEY_PREFIX", "")),
            "CAREVOICE_IGNORE_RUNTIME": "1",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        command = [sys.executable, "-m", "tests.faults.paused_worker", "--pool", pool]
        if pool == "prefork":
            command += ["--concurrency", "1"]
        command += [
            "--queues",
            self.queue,
            "--hostname",
            f"{self.queue}-{len(self.started) + 1}@faults",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=variables,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(process, log)
        self.started.append(worker)
        ready = self.folder / f"ready-{worker.pid}"
        self.wait(lambda: ready.exists() or not worker.is_running, "the worker to start")
        assert worker.is_running, f"the worker exited at start:\n{self.logs()}"
        return worker

    def paused(self) -> bool:
        """A worker has reached its pause: the function named, or an email being sent."""
        return any(self.folder.glob("paused-*")) or any(self.folder.glob("sending-*"))

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        """Wait for the workers to make `condition` true (a guard against a hang, not a
        timing assertion); on a timeout, say what the workers logged."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def settle(self, seconds: float = 5.0) -> None:
        """Time enough for a redelivered message (2 s) or a stale claim (2 s) to act again:
        what is asserted after this would show a second send."""
        time.sleep(seconds)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.folder.glob("worker-*.log"))
        )

    def close(self) -> None:
        for worker in self.started:
            worker.stop()
        end_connections(self.application_name)
