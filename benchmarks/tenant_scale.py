"""Tenant scale: provision many organisations, then time `migrate` across all of them: with
nothing to do, and deploying one additive migration; and what so many schemas cost beyond
their rows (benchmarks/catalogue.py).

Provisioning (tenants/provisioning.py) clones the template schema in one transaction and
then ends its database connection: a backend that has made many schemas slows down with each
one (it keeps a cached plan for every foreign key it has checked). Every organisation made
is timed; `--sample N` makes N more once the rest exist and times them apart: provisioning
at full size. A run against a database that already holds organisations (DATABASE_URL naming
a kept server) makes only those missing up to `--tenants`.

`manage.py migrate` (tenants/management/commands/migrate_schemas.py) migrates the public
schema, every organisation and the tenant template. It skips schemas that are already up to
date (tenants/migrating.py) and migrates those that are behind in batches: the migration
worked out once, in one schema, and its SQL replayed in the rest over a few connections
(tenants/batch_migrating.py).

The additive migration is a real one: feedback's latest. The script puts every schema back
before it (its reverse SQL, run directly: that is set-up, not measured), then runs a plain
`migrate`, as a deploy does. With `--compare`, the same again the per-schema way
(django-tenants' executor, `TENANT_MIGRATION_BATCHES=False`) and `--every-schema`: slow,
about 570 ms a schema at 1,000 organisations.

Also printed: the catalogue's size; a backend's memory after it has read a page's tables in
10, 100, 1,000 and 10,000 workspaces; and with `--backups`, one organisation's dump and
restore, a physical copy of the whole server (pg_basebackup) and a server started on it, and
a whole-database pg_dump (which needs max_locks_per_transaction raised: infra/SCALING.md).

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/tenant_scale.py
    ... benchmarks/tenant_scale.py --tenants 200      # quicker
    # 10,000 organisations against a kept server (about 50 minutes, 30 GB, and as much
    # again for the physical copy under BENCHMARK_BACKUP_DIR):
    DATABASE_URL=postgresql://... BENCHMARK_BACKUP_DIR=/big/disk .venv/bin/python \
        -m config.launcher exec .venv/bin/python benchmarks/tenant_scale.py \
        --tenants 10000 --sample 200 --backups

The last line is `additive migration: <seconds> s for <n> schemas`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import _bootstrap  # first: the repository on sys.path, Django set up
import catalogue
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings
from psycopg import sql

from benchmarks.figures import quantiles, server_version
from tenants.batch_migrating import recording_schema_statements
from tenants.migrating import forget_migration_state
from tenants.models import Organisation
from tenants.provisioning import provision_organisation, template_schema

APP = "feedback"
# Where backups are written while they are timed (a physical copy is as big as the database).
BACKUP_DIR = os.environ.get("BENCHMARK_BACKUP_DIR") or None


def timed(label: str, function, *args, **kwargs) -> float:  # noqa: ANN001
    print(f"{label}...", flush=True)
    start = time.perf_counter()
    function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"    {seconds:.1f} s", flush=True)
    return seconds


def latest_migration() -> tuple[str, str]:
    """The app's last migration and the one before it."""
    graph = MigrationLoader(None).graph
    (last,) = [node for node in graph.leaf_nodes() if node[0] == APP]
    (before,) = [node for node in graph.node_map[last].parents if node[0] == APP]
    return last[1], before[1]


def put_back(schemas: list[str], last: str, before: str) -> None:
    """Every schema without the app's last migration: reversed in the first the ordinary way,
    its statements run directly in the rest."""
    model, rest = schemas[0], schemas[1:]
    with recording_schema_statements() as statements:
        call_command("migrate", APP, before, schema_name=model, interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        for schema in rest:
            cursor.execute("BEGIN")
            cursor.execute("SELECT set_config('search_path', %s, true)", [f'"{schema}", public'])
            for text, params in statements:
                cursor.execute(text, params)
            cursor.execute(
                sql.SQL("DELETE FROM {}.django_migrations WHERE app = %s AND name = %s").format(
                    sql.Identifier(schema)
                ),
                [APP, last],
            )
            cursor.execute("COMMIT")
    forget_migration_state(schemas)  # what migrate recorded of them is out of date


def behind(schemas: list[str], last: str) -> int:
    with connection.cursor() as cursor:
        count = 0
        for schema in schemas:
            cursor.execute(
                sql.SQL(
                    "SELECT count(*) FROM {}.django_migrations WHERE app = %s AND name = %s"
                ).format(sql.Identifier(schema)),
                [APP, last],
            )
            count += cursor.fetchone()[0] == 0
        return count


def provision(index: int) -> float:
    began = time.perf_counter()
    provision_organisation(
        name=f"Scale Test Organisation {index}",
        slug=f"scale-{index:05d}",
        kind="other",
        admin_email=f"admin{index}@scale.example",
        admin_name="Scale Admin",
    )
    return time.perf_counter() - began


def summary(times: list[float]) -> str:
    if not times:
        return "none made"
    p50, p95 = quantiles(times)
    return f"p50 {p50:.3f} s, p95 {p95:.3f} s over {len(times)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="then make this many more, timed apart: provisioning at full size",
    )
    parser.add_argument(
        "--compare", action="store_true", help="also time the per-schema ways (slow)"
    )
    parser.add_argument(
        "--backups",
        action="store_true",
        help="also time backups and restores (a physical copy of the server needs room for "
        "a second copy of the database, and a replication connection)",
    )
    parser.add_argument(
        "--run-restore-as",
        default="postgres" if os.geteuid() == 0 else None,
        help="the system user a restored copy's server runs as (PostgreSQL refuses root)",
    )
    parser.add_argument(
        "--memory-steps",
        default="10,100,1000,10000",
        help="after how many workspaces to measure a backend's memory (none: '')",
    )
    arguments = parser.parse_args()
    tenants = arguments.tenants

    timed("migrating the database", _bootstrap.migrate)
    existing = Organisation.objects.subscribers().count()
    if existing:
        print(f"{existing} organisations already here: made up to {tenants}", flush=True)
    print(f"provisioning {max(tenants - existing, 0)} organisations (template clone)...")
    times = []
    start = time.perf_counter()
    for index in range(existing, tenants):
        times.append(provision(index))
        if (index + 1) % 500 == 0:
            print(
                f"    {index + 1} made, {time.perf_counter() - start:.0f} s; last 500 "
                f"{summary(times[-500:])}",
                flush=True,
            )
    provisioned = time.perf_counter() - start
    made = max(tenants, existing)
    sample = [provision(made + index) for index in range(arguments.sample)]
    made += arguments.sample
    size = catalogue.catalogue()
    organisations = list(
        Organisation.objects.subscribers().order_by("pk").values_list("schema_name", flat=True)
    )
    schemas = [*organisations, template_schema()]
    last, before = latest_migration()

    wanted = [int(step) for step in arguments.memory_steps.split(",") if step.strip()]
    steps = tuple(step for step in wanted if step <= len(organisations))
    memory = []
    if steps:
        print("a backend's memory as it reads workspaces...", flush=True)
        memory = catalogue.backend_memory(organisations, steps)
    forget_migration_state()
    reading = timed(
        "migrate with nothing to do, every schema's records read",
        call_command,
        "migrate",
        verbosity=0,
    )
    skipping = timed(
        "migrate with nothing to do (schemas recorded up to date skipped)",
        call_command,
        "migrate",
        verbosity=0,
    )
    compared = {}
    if arguments.compare:
        compared["--every-schema"] = timed(
            "the same, --every-schema (Django's migrate command in every schema)",
            call_command,
            "migrate",
            every_schema=True,
            verbosity=0,
        )
        put_back(schemas, last, before)
        with override_settings(TENANT_MIGRATION_BATCHES=False):
            compared["per schema"] = timed(
                f"deploy {APP}.{last} one schema at a time (django-tenants' way)",
                call_command,
                "migrate",
                verbosity=0,
            )
    timed(
        f"putting every schema back before {APP}.{last} (set-up)", put_back, schemas, last, before
    )
    assert behind(schemas, last) == len(schemas)
    forward = timed(
        f"deploy {APP}.{last}: migrate, every schema one migration behind, in batches",
        call_command,
        "migrate",
        verbosity=1,
    )
    assert behind(schemas, last) == 0, "a schema was left behind"

    backed_up: dict[str, catalogue.Timed] = {}
    if arguments.backups:
        with tempfile.TemporaryDirectory(prefix="cv-scale-", dir=BACKUP_DIR) as work:
            print("one organisation: dump and restore...", flush=True)
            first = Organisation.objects.subscribers().order_by("pk").first()
            backed_up["one organisation, dump"], backed_up["one organisation, restore"] = (
                catalogue.one_organisation_backup_and_restore(first, Path(work))
            )
            print("the whole server: pg_basebackup and start a copy...", flush=True)
            backed_up["physical copy"], backed_up["restored copy started"] = (
                catalogue.physical_backup_and_restore(Path(work), arguments.run_restore_as)
            )
            print("the whole database: pg_dump...", flush=True)
            backed_up["pg_dump of everything"] = catalogue.whole_logical_dump(
                Path(work), timeout=1200
            )

    print()
    print(
        f"tenant scale: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, PostgreSQL {server_version()}; "
        f"load average at the end {os.getloadavg()[1]:.1f} (5 min)"
    )
    print(f"organisations:        {made} ({len(schemas) + 1} schemas with public and the template)")
    if times:
        print(
            f"provisioning:         {provisioned:.0f} s for {len(times)}; {summary(times)}; "
            f"first 100 mean {statistics.mean(times[:100]):.3f} s, "
            f"last 100 mean {statistics.mean(times[-100:]):.3f} s"
        )
    if sample:
        print(f"provisioning at {made - len(sample)}: {summary(sample)}")
    print(
        f"catalogue:            {size.relations:,} relations, {size.attributes:,} columns "
        f"(pg_attribute rows), {size.catalogue_bytes / 1e9:.2f} GB of pg_catalog; "
        f"database {size.database_bytes / 1e9:.1f} GB"
    )
    for point in memory:
        private = (
            f", {point.private_kilobytes / 1024:.0f} MB private"
            if point.private_kilobytes is not None
            else ""
        )
        print(
            f"backend memory:       after {point.schemas:>5} workspaces "
            f"{point.contexts_bytes / 1e6:.0f} MB in memory contexts{private}"
        )
    for label, result in backed_up.items():
        detail = f", {result.size_bytes / 1e9:.2f} GB" if result.size_bytes else ""
        note = f" ({result.note})" if result.note else ""
        print(f"backup: {label + ':':<30}{result.seconds:.1f} s{detail}{note}")
    print(f"no-op migrate:        {reading:.1f} s reading every schema's records")
    print(f"no-op migrate:        {skipping:.1f} s (schemas recorded up to date)")
    for label, seconds in compared.items():
        print(
            f"compare, {label}: {seconds:.1f} s ({1000 * seconds / len(schemas):.0f} ms a schema)"
        )
    print(
        f"batched:              {1000 * forward / len(schemas):.1f} ms a schema, "
        f"{len(schemas)} schemas (organisations and the template)"
    )
    # The organisations' schemas; the time includes the template's too (one more).
    print(f"additive migration: {forward:.1f} s for {made} schemas")


if __name__ == "__main__":
    main()
