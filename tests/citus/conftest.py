"""A Citus cluster of the suite's own: a coordinator and two workers from the embedded
PostgreSQL with Citus built in (`make citus`; CI runs it, so CI never skips these).

Django in this pytest process stays on the suite's single-node database. Everything that
runs against the cluster does so in a process of its own with DATABASE_URL at the
coordinator, as a deployment would: `manage.py migrate`, tests/citus/scenario.py, and
pytest itself for the isolation and publish-to-alert suites.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.citus_cluster import CitusCluster, execute, is_citus_installed

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "carevoice"
# pytest-django's name for the test database of DATABASE.
TEST_DATABASE = f"test_{DATABASE}"


def cluster_env(cluster: CitusCluster, database: str = DATABASE) -> dict[str, str]:
    """This process's environment (the suite's Redis and mail settings), with DATABASE_URL
    at the coordinator and nothing of this pytest run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env["DATABASE_URL"] = cluster.url(database)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_in_cluster(
    cluster: CitusCluster, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the project root against the cluster; stdout and stderr together."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=cluster_env(cluster),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def coordinator_rows(cluster: CitusCluster, sql: str, database: str = DATABASE) -> list[tuple]:
    return execute(cluster.url(database), sql)


def placements(cluster: CitusCluster, database: str = DATABASE) -> dict[str, int]:
    """Each distributed schema and the port of the worker that holds it."""
    rows = coordinator_rows(
        cluster,
        "SELECT s.schema_name::text, min(sh.nodeport) FROM citus_schemas s "
        "JOIN citus_shards sh ON sh.colocation_id = s.colocation_id GROUP BY 1",
        database,
    )
    return {schema: port for schema, port in rows}


@pytest.fixture(scope="session")
def citus_cluster() -> Iterator[CitusCluster]:
    if not is_citus_installed():
        pytest.skip("Citus is not built into the embedded PostgreSQL: run `make citus` (CI does)")
    with CitusCluster.start(workers=2, database=DATABASE) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def migrated_cluster(citus_cluster: CitusCluster) -> CitusCluster:
    """The cluster after the deploy's own `manage.py migrate`."""
    result = run_in_cluster(citus_cluster, "manage.py", "migrate", "--noinput")
    assert result.returncode == 0, result.stdout[-6000:]
    return citus_cluster


def fresh_test_database(cluster: CitusCluster) -> None:
    """pytest-django's test database, made anew with Citus in it on every node.

    TRICKY: Citus keeps its node list per database, so the database pytest-django would
    create itself would have no workers. The runs below pass --reuse-db, which makes it use
    this one (and migrate it)."""
    cluster.drop_database(TEST_DATABASE)
    cluster.create_database(TEST_DATABASE)


def suite_on_cluster(cluster: CitusCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """The suite's own tests run against the cluster, one at a time, slow tiers left out."""
    fresh_test_database(cluster)
    slow = "browser or worker_kill or embedded_server or infra or demo or fuzz or citus"
    return run_in_cluster(
        cluster,
        "-m",
        "pytest",
        *args,
        "-m",
        f"not ({slow})",
        "--ignore=tests/citus",
        "--reuse-db",
        "-p",
        "no:cacheprovider",
        "-q",
        timeout=1800,
    )
