"""Connection pooling and `search_path`: which PgBouncer mode keeps each connection in its
organisation's schema. infra/SCALING.md draws on this.

django-tenants sets `search_path` on a connection when its tenant changes
(TENANT_LIMIT_SET_CALLS), and later queries rely on it; the clients below do the same, in
autocommit as Django does, over the wire to a real PgBouncer and PostgreSQL. Through a
pooler in session mode a client keeps one server connection, so that holds. In transaction
mode the SET and the next query can run on different server connections: another
organisation's schema. (PgBouncer
1.20+ can carry `search_path` across with `track_extra_parameters`, on PostgreSQL 18, which
reports the parameter; Debian's PgBouncer here is older.)

Needs Debian's pgbouncer (`.ci/run` installs it); skipped, with the reason, where it is absent.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connections
from psycopg import sql

from tenants.models import Organisation
from tests.conftest import Cast

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(PGBOUNCER is None, reason="pgbouncer is not installed here"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_as() -> str | None:
    """PgBouncer refuses to run as root: run it as the user PostgreSQL runs as (the embedded
    server's, which can open its socket), or nobody for a server reached over TCP."""
    if os.geteuid() != 0:
        return None
    for name in ("embedded_postgres", "postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    pytest.skip("running as root with no other user for pgbouncer to run as")


@pytest.fixture
def pooler(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A PgBouncer in the mode the test names, in front of the test database; yields the
    connection settings that go through it."""
    mode = request.param
    # Two clients: in session mode each holds a server connection; in transaction mode they
    # share one, as many requests share a few connections in production.
    size = 2 if mode == "session" else 1
    database = connections["default"].settings_dict
    port = free_port()
    user = run_as()
    folder = Path(tempfile.mkdtemp(prefix="carevoice-pgbouncer-"))
    (folder / "users.txt").write_text(f'"{database["USER"] or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={database['HOST'] or '127.0.0.1'} port={database['PORT'] or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        f"pool_mode = {mode}\ndefault_pool_size = {size}\nmax_client_conn = 20\n"
        "query_wait_timeout = 10\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    if user:
        shutil.chown(folder, user)
        for path in folder.iterdir():
            shutil.chown(path, user)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")] + (["-u", user] if user else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"pgbouncer did not start: {output}")
                time.sleep(0.05)
        yield {**database, "HOST": "127.0.0.1", "PORT": str(port), "CONN_MAX_AGE": 60}
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def connect(settings_dict: dict[str, Any], organisation: Organisation) -> psycopg.Connection:
    """A connection as a gunicorn thread holds one, in autocommit as Django's are, with its
    `search_path` set once, as django-tenants does with TENANT_LIMIT_SET_CALLS."""
    connection = psycopg.connect(
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"] or "postgres",
        autocommit=True,
        prepare_threshold=None,  # as Django's backend has it
    )
    connection.execute(
        sql.SQL("SET search_path = {}, public").format(sql.Identifier(organisation.schema_name))
    )
    return connection


def schemas_seen(settings_dict: dict[str, Any], cast: Cast, rounds: int = 20) -> list[tuple]:
    """Two connections, one per organisation, taking turns as two requests would; each asks
    the server which schema its unqualified table names resolve in."""
    clients = [(connect(settings_dict, org), org) for org in (cast.org_a, cast.org_b)]
    seen = []
    try:
        for _ in range(rounds):
            for connection, organisation in clients:
                (schema,) = connection.execute("SELECT current_schema()").fetchone()
                seen.append((organisation.schema_name, schema))
    finally:
        for connection, _ in clients:
            connection.close()
    return seen


@pytest.mark.parametrize("pooler", ["session"], indirect=True)
def test_session_pooling_keeps_every_connection_in_its_schema(
    cast: Cast, pooler: dict[str, Any]
) -> None:
    seen = schemas_seen(pooler, cast)
    assert len(seen) == 40
    assert all(expected == actual for expected, actual in seen), seen


@pytest.mark.parametrize("pooler", ["transaction"], indirect=True)
def test_transaction_pooling_without_tracking_crosses_schemas(
    cast: Cast, pooler: dict[str, Any]
) -> None:
    """Why infra/SCALING.md rules this configuration out: queries land in the schema another
    client set last on the shared server connection."""
    seen = schemas_seen(pooler, cast)
    wrong = [(expected, actual) for expected, actual in seen if expected != actual]
    assert wrong, "expected queries in the wrong schema through transaction pooling"
