"""gunicorn's settings, from the environment: `gunicorn -c python:config.gunicorn config.wsgi`.

The container image runs this; the defaults suit a pod with one CPU and 1 GiB (three
processes of four threads each: a thread waits on PostgreSQL far more than it computes).
Size a bigger machine with WEB_CONCURRENCY (processes) and GUNICORN_THREADS. Each thread
can hold one database connection, so processes x threads x pods is what PostgreSQL (or the
pooler in front of it) must accept: infra/SCALING.md.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from config.redaction import RedactSecretsFilter, redact_query, redact_text

# Atoms that are whole credentials, in any access_log_format that names them.
_SECRET_ATOMS = (
    "{authorization}i",
    "{cookie}i",
    "{x-csrftoken}i",
    "{set-cookie}o",
    "{http_authorization}e",
    "{http_cookie}e",
    "{http_x_csrftoken}e",
)


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


def post_worker_init(worker: object) -> None:
    """Each worker, once it has loaded the application (config/warming.py)."""
    from config.warming import warm_and_freeze

    warm_and_freeze()


class RedactingLogger(Logger):
    """gunicorn's logger, with API keys and signed tokens redacted from every line.

    The access line's atoms (request line, path, query, referer, any header or environ
    atom) are redacted before formatting, so every access_log_format is covered; the error
    log ("Error handling request /r/<token>/") is redacted by a filter on its logger.
    """

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(RedactSecretsFilter())

    def atoms(self, resp: object, req: object, environ: dict, request_time: object) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if not isinstance(value, str):
                continue
            if name in _SECRET_ATOMS:
                atoms[name] = "[redacted]"
            elif name in ("q", "{query_string}e"):
                atoms[name] = redact_query(value)
            else:
                atoms[name] = redact_text(value)
        return atoms


logger_class = "config.gunicorn.RedactingLogger"


def _trusted_proxies(raw: str) -> str:
    """TRUSTED_PROXIES as gunicorn's forwarded_allow_ips: none unless named.

    Only these addresses may set X-Forwarded-Proto (and the other forwarded headers);
    Django applies the same list to X-Forwarded-For (config/proxies.py).
    """
    names = [part.strip() for part in raw.split(",") if part.strip()]
    if "*" in names:
        raise SystemExit("TRUSTED_PROXIES must name the proxies' addresses or networks, not '*'")
    return ",".join(names)


forwarded_allow_ips = _trusted_proxies(os.environ.get("TRUSTED_PROXIES", ""))
