"""Carevoice on Citus: a coordinator and two workers (tests/citus/conftest.py), migrated by
the deploy's own `migrate`, organisations provisioned and spread over both workers, the
isolation and publish-to-alert suites run against it, publishing in one two-phase commit,
and an organisation's schema moved to the other worker while stories keep being published.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.citus_cluster import CitusCluster, execute
from tests.citus.conftest import (
    DATABASE,
    ROOT,
    TEST_DATABASE,
    cluster_env,
    coordinator_rows,
    placements,
    run_in_cluster,
    suite_on_cluster,
)

SCENARIO = "tests/citus/scenario.py"
ORGANISATIONS = ["ash", "birch", "cedar", "damson", "elder", "fir"]
# The suites the publish-to-alert path runs through: intake, moderation and publishing,
# responses, alerts, the live dashboard, network comparison, reports and the API; and
# migrating schemas that are behind, batched (tenants/batch_migrating.py) and not.
PATH_SUITES = [
    "tests/tenants/test_migrating.py",
    "tests/tenants/test_batch_migrating.py",
    "tests/feedback/test_story_path.py",
    "tests/feedback/test_moderation.py",
    "tests/feedback/test_responding.py",
    "tests/alerts/test_alerts.py",
    "tests/dashboards/test_live_dashboard.py",
    "tests/dashboards/test_network_comparison.py",
    "tests/reports/test_reports.py",
    "tests/feedback/test_api.py",
]


@pytest.fixture(scope="module")
def provisioned(migrated_cluster: CitusCluster) -> CitusCluster:
    result = run_in_cluster(migrated_cluster, SCENARIO, "provision", *ORGANISATIONS)
    assert result.returncode == 0, result.stdout[-6000:]
    return migrated_cluster


def _worker_ports(cluster: CitusCluster) -> set[int]:
    return {worker.port for worker in cluster.workers}


def test_migrate_distributes_the_template_and_keeps_the_hub_on_the_coordinator(
    migrated_cluster: CitusCluster,
) -> None:
    placed = placements(migrated_cluster)
    assert placed["tenant_template"] in _worker_ports(migrated_cluster)
    # Every hub table is a Citus-managed local table: on the coordinator, and written
    # with two-phase commit alongside the workers (tenants/citus/distribution.py).
    hub = coordinator_rows(
        migrated_cluster,
        "SELECT c.relname, p.partmethod, p.repmodel FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_dist_partition p ON p.logicalrelid = c.oid "
        "WHERE n.nspname = 'public' AND c.relkind = 'r'",
    )
    assert len(hub) > 20
    assert [name for name, method, _ in hub if method is None] == []
    shards = coordinator_rows(
        migrated_cluster,
        "SELECT DISTINCT nodeport FROM citus_shards WHERE citus_table_type = 'local'",
    )
    assert shards == [(migrated_cluster.coordinator.port,)]
    # A second migrate has nothing left to do, on Citus too.
    again = run_in_cluster(migrated_cluster, "manage.py", "migrate", "--noinput")
    assert again.returncode == 0, again.stdout[-4000:]


def test_organisations_are_distributed_schemas_spread_over_both_workers(
    provisioned: CitusCluster,
) -> None:
    placed = placements(provisioned)
    schemas = {f"org_{slug}" for slug in ORGANISATIONS}
    assert schemas <= set(placed)
    assert {placed[schema] for schema in schemas} == _worker_ports(provisioned)
    # Each schema's tables sit together on its worker.
    spread = coordinator_rows(
        provisioned,
        "SELECT s.schema_name::text, count(DISTINCT sh.nodeport), count(*) FROM citus_schemas s "
        "JOIN citus_shards sh ON sh.colocation_id = s.colocation_id GROUP BY 1",
    )
    tables_of = {schema: tables for schema, _, tables in spread}
    for schema, nodes, tables in spread:
        if schema in schemas:
            assert (nodes, tables) == (1, tables_of["tenant_template"]), schema
    # And a workspace answers from there: its administrator's row is read on the worker.
    worker = next(w for w in provisioned.workers if w.port == placed["org_ash"])
    (count,) = execute(
        worker.url(DATABASE),
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'org_ash' AND c.relname LIKE 'accounts_user_%'",
    )[0]
    assert count >= 1


def _suite_passed(result: subprocess.CompletedProcess[str]) -> str:
    tail = result.stdout[-8000:]
    assert result.returncode == 0, tail
    summary = tail.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, tail
    return summary


def test_isolation_suite_passes_on_citus(migrated_cluster: CitusCluster) -> None:
    result = suite_on_cluster(migrated_cluster, "tests", "-k", "isolation")
    summary = _suite_passed(result)
    assert int(summary.split(" passed")[0].split()[-1]) >= 100, summary
    # Organisations A and B of the suite's cast were on different workers.
    placed = placements(migrated_cluster, TEST_DATABASE)
    assert placed["org_alpha"] != placed["org_beta"]


def test_publish_respond_alert_path_passes_on_citus(migrated_cluster: CitusCluster) -> None:
    result = suite_on_cluster(migrated_cluster, *PATH_SUITES)
    _suite_passed(result)


def test_publishing_is_one_two_phase_commit_across_hub_and_worker(
    provisioned: CitusCluster,
) -> None:
    result = run_in_cluster(provisioned, SCENARIO, "atomicity", "ash")
    assert result.returncode == 0, result.stdout[-6000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["committed_story_in_organisation"] is True
    # Citus prepared the worker's part and committed it after the coordinator's.
    assert len(outcome["prepared"]) == 1 and len(outcome["commit_prepared"]) == 1
    assert outcome["prepared"][0].split()[-1] == outcome["commit_prepared"][0].split()[-1]
    # A publish rolled back after writing the hub and the worker leaves neither.
    assert outcome["abandoned_written"]["stories"][0][0] == "org_ash"
    assert outcome["abandoned_left_public_story"] is False
    assert outcome["abandoned_left_story"] is False
    assert outcome["abandoned_submission_state"] == "pending"


def _log_lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def _wait_for_publishes(log: Path, count: int, publisher: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300  # a guard against a hang, not a timing assertion
    while sum(1 for line in _log_lines(log) if line[0] == "ok") < count:
        assert publisher.poll() is None, "the publisher stopped"
        assert time.monotonic() < deadline, "the publisher made no progress"
        time.sleep(0.2)


def test_schema_moved_to_the_other_worker_while_publishing_loses_nothing(
    provisioned: CitusCluster, tmp_path: Path
) -> None:
    schema = "org_cedar"
    source = placements(provisioned)[schema]
    target = next(w for w in provisioned.workers if w.port != source)
    log, stop = tmp_path / "published.log", tmp_path / "stop"
    publisher = subprocess.Popen(
        [sys.executable, SCENARIO, "publish", "cedar", str(log), str(stop)],
        cwd=ROOT,
        env=cluster_env(provisioned),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for_publishes(log, 5, publisher)
        before_move = sum(1 for line in _log_lines(log) if line[0] == "ok")
        execute(
            provisioned.url(DATABASE),
            f"SELECT citus_schema_move('{schema}', '127.0.0.1', {target.port})",
        )
        during_move = sum(1 for line in _log_lines(log) if line[0] == "ok") - before_move
        _wait_for_publishes(log, before_move + during_move + 5, publisher)
    finally:
        stop.touch()
        publisher.wait(timeout=120)
    assert publisher.returncode == 0
    assert placements(provisioned)[schema] == target.port
    # The publisher kept going while the schema moved.
    print(f"{during_move} publishes committed while {schema} moved")
    assert during_move >= 1

    lines = _log_lines(log)
    published = {int(line[2]) for line in lines if line[0] == "ok"}
    submissions = {int(line[1]) for line in lines if line[0] in ("ok", "failed")}
    # Every submission the publisher made was published in the end (failures retried).
    assert submissions == {int(line[1]) for line in lines if line[0] == "ok"}
    assert len(published) >= 10
    stories = {
        row[0]
        for row in coordinator_rows(provisioned, f"SELECT public_id FROM {schema}.feedback_story")
    }
    public = {
        row[0]
        for row in coordinator_rows(
            provisioned,
            "SELECT p.id FROM hub_publicstory p JOIN hub_publicstory_organisations o "
            "ON o.publicstory_id = p.id JOIN tenants_organisation t ON t.id = o.organisation_id "
            "WHERE t.slug = 'cedar'",
        )
    }
    # Nothing lost and nothing doubled: each published story is in the organisation's
    # schema on its new worker and in the hub, exactly once.
    assert published == stories == public
    (count,) = coordinator_rows(provisioned, f"SELECT count(*) FROM {schema}.feedback_story")[0]
    assert count == len(published)
    pending = coordinator_rows(
        provisioned,
        "SELECT count(*) FROM hub_submission s JOIN hub_submission_services ss "
        "ON ss.submission_id = s.id JOIN hub_servicelisting l ON l.id = ss.servicelisting_id "
        "JOIN tenants_organisation t ON t.id = l.organisation_id "
        "WHERE t.slug = 'cedar' AND s.state = 'pending'",
    )
    assert pending == [(0,)]
    # The moved schema's rows are read on the target worker now.
    (on_target,) = execute(
        target.url(DATABASE), f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"
    )[0]
    assert on_target == 1
