"""How every benchmark starts: the repository on sys.path, the settings, Django set up, an
empty database migrated; and the servers a benchmark starts for itself (gunicorn, a Celery
worker) beside the embedded ones the launcher gives it.

A benchmark runs as a script under the launcher, which starts throw-away PostgreSQL, Redis
and Stripe servers for it and exports their addresses:

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/<name>.py

Python puts the script's own folder, benchmarks/, on sys.path, so a benchmark's first
import after the standard library's is this module:

    import _bootstrap  # first: the repository on sys.path, Django set up

and Django and the product are imported after it (ruff's import sorting keeps a plain
`import` before the `from django ...` lines of its section; add `# noqa: E402` where
constants stand between the standard library's imports and it). Whatever must be in the
environment before the settings are read (benchmarks/load.py raises the rate limits) is set
before that import.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def migrate() -> None:
    """Migrate the launcher's empty database: the public schema, then the tenant template
    new organisations are cloned from."""
    call_command("migrate", interactive=False, verbosity=0)


# --- servers the benchmark starts itself -----------------------------------------------------


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gunicorn_command(port: int, *, workers: int, threads: int) -> list[str]:
    """The product's web server on 127.0.0.1:`port`, as `make run` starts it."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "5",
    ]


def celery_worker_command(hostname: str, *, concurrency: int) -> list[str]:
    """A Celery worker of the product's app, on the broker the launcher started."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel",
        "WARNING",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--hostname",
        hostname,
    ]


def start_process(
    command: list[str], log: IO[bytes], *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Run `command` from the repository's root with this environment (or `env`), its output
    to `log`. In a session of its own: Ctrl-C reaches only the benchmark, which stops it in
    its `finally` with `stop_process`."""
    return subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env=dict(os.environ) if env is None else env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL to the process's own session: it and the
    children it made (gunicorn's and Celery's workers)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_healthy(
    server: subprocess.Popen[bytes], port: int, *, host: str, timeout: float = 60.0
) -> None:
    """Return once the web server on `port` answers /healthz with 200 for `host`; raise if it
    exits first or takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/healthz", headers={"Host": host})
                response = conn.getresponse()
                response.read()
                if response.status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz with 200 within {timeout:.0f} s")
