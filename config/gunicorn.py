"""gunicorn's settings, from the environment: `gunicorn -c python:config.gunicorn config.wsgi`.

The container image runs this; the defaults suit a pod with one CPU and 1 GiB (three
processes of four threads each: a thread waits on PostgreSQL far more than it computes).
Size a bigger machine with WEB_CONCURRENCY (processes) and GUNICORN_THREADS. Each thread
can hold one database connection, so processes x threads x pods is what PostgreSQL (or the
pooler in front of it) must accept: infra/SCALING.md.
"""

from __future__ import annotations

import os


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, not {value}")
    return value


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _positive("WEB_CONCURRENCY", 3)
threads = _positive("GUNICORN_THREADS", 4)
timeout = _positive("GUNICORN_TIMEOUT", 60)
graceful_timeout = _positive("GUNICORN_GRACEFUL_TIMEOUT", 20)
# Recycle each process now and then, staggered, so slow leaks never add up.
max_requests = _positive("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# The heartbeat file on a memory file system: a container's disk can stall a worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
# Behind the reverse proxy or the ingress controller, which set X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
