"""The embedded servers and the launcher that `make run` and `make test` use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
import pytest

from config import embedded

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_postgres_starts_makes_a_database_and_stops(tmp_path: Path) -> None:
    server = embedded.EmbeddedPostgres(tmp_path / "pg")
    server.start()
    try:
        server.ensure_database("carevoice_probe")
        server.ensure_database("carevoice_probe")  # idempotent
        with psycopg.connect(server.url("carevoice_probe")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("carevoice_probe",)
            assert conn.execute("SHOW fsync").fetchone() == ("on",)  # make run's data is kept
            # Read only at start: written, then the server restarted (embedded.STARTUP_SETTINGS)
            assert conn.execute("SHOW shared_buffers").fetchone() == ("512MB",)
            assert conn.execute("SHOW max_locks_per_transaction").fetchone() == ("1024",)
            started = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
        server._apply_start_settings()  # as the next start does: already so, no restart
        with psycopg.connect(server.url("carevoice_probe")) as conn:
            assert conn.execute("SELECT pg_postmaster_start_time()").fetchone() == started
        server.make_disposable()  # a throw-away run's (config.launcher throwaway)
        with psycopg.connect(server.url("carevoice_probe")) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
            assert conn.execute("SHOW full_page_writes").fetchone() == ("off",)
            # A commit still waits for its WAL write: a killed server loses nothing.
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
        url = server.url("carevoice_probe")
    finally:
        server.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_embedded_redis_starts_and_stops(tmp_path: Path) -> None:
    import redis

    server = embedded.EmbeddedRedis(tmp_path / "redis")
    server.start()
    socket_file = server.socket_file
    try:
        client = redis.Redis(unix_socket_path=socket_file)
        client.set("probe", "1")
        assert client.get("probe") == b"1"
        client.close()
        assert server.broker_url() == f"redis+socket://{socket_file}"
    finally:
        server.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis(unix_socket_path=socket_file).ping()


def test_local_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    first = embedded.local_secret(tmp_path, "secret_key")
    assert len(first) >= 50
    assert embedded.local_secret(tmp_path, "secret_key") == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def _launch(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return subprocess.run(
        [sys.executable, "-m", "config.launcher", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_launcher_exec_gives_the_command_embedded_servers_and_its_exit_code() -> None:
    probe = (
        "import os, sys, psycopg; "
        "psycopg.connect(os.environ['DATABASE_URL']).execute('SELECT 1'); "
        "assert os.environ['CELERY_BROKER_URL'].startswith('redis+socket://'); "
        "sys.exit(3)"
    )
    result = _launch("exec", sys.executable, "-c", probe)
    assert result.returncode == 3, result.stderr


def test_a_terminated_launcher_stops_its_servers(tmp_path: Path) -> None:
    """SIGTERM (a CI timeout, `kill`) reaches the command, then the servers stop: nothing is
    left running and the throw-away folder is gone."""
    report = tmp_path / "urls"
    probe = (
        "import os, pathlib, signal, sys, time; "
        f"pathlib.Path({str(report)!r}).write_text(os.environ['DATABASE_URL']); "
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7)); "
        "time.sleep(120)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "config.launcher", "exec", sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while not report.exists() or not report.read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, "no command ran"
            time.sleep(0.1)
        url = report.read_text()
        psycopg.connect(url, connect_timeout=5).close()
        launcher.send_signal(signal.SIGTERM)
        # The command's own exit code comes back once the servers have stopped.
        assert launcher.wait(timeout=60) == 7
    finally:
        if launcher.poll() is None:
            launcher.kill()
    socket_dir = Path(parse_qs(urlparse(url).query)["host"][0])
    assert not socket_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)


def test_launcher_test_fails_when_pytest_collects_no_tests() -> None:
    # One small module to look in: collecting the whole suite would only cost time.
    result = _launch(
        "test",
        "tests/config/test_gunicorn.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "no_test_has_this_name_xyz",
    )
    assert result.returncode == 5, result.stdout + result.stderr


def test_queued_messages_survive_the_embedded_broker_being_killed(tmp_path: Path) -> None:
    import signal
    import time

    import redis
    from kombu import Connection

    server = embedded.EmbeddedRedis(tmp_path / "redis")
    server.start()
    url = server.broker_url()
    with Connection(url) as conn:
        queue = conn.SimpleQueue("probe")
        queue.put({"story": 1})
        queue.close()
    pid = int(redis.Redis(unix_socket_path=server.socket_file).info()["process_id"])
    time.sleep(1.5)  # appendfsync everysec
    os.kill(pid, signal.SIGKILL)
    server._client = None  # it is gone; start a new one on the same files

    restarted = embedded.EmbeddedRedis(tmp_path / "redis")
    restarted.start()
    try:
        with Connection(restarted.broker_url()) as conn:
            queue = conn.SimpleQueue("probe")
            message = queue.get(timeout=5)
            assert message.payload == {"story": 1}
            message.ack()
            queue.close()
    finally:
        restarted.stop()
