"""Tenant scale: provision many organisations, then time `migrate` across all of them: with
nothing to do, and deploying one additive migration.

`manage.py migrate` (tenants/management/commands/migrate_schemas.py) migrates the public
schema, every organisation and the tenant template, and skips schemas that are already up
to date (tenants/migrating.py). The no-op migrate is timed that way, and with
`--every-schema` (django-tenants' own behaviour: Django's whole migrate command in every
schema), one schema at a time and with django-tenants' multiprocessing executor (one
process per core).

The additive migration is a real one: feedback 0004 (a nullable column and a partial index
on every organisation's `feedback_story`). The script migrates feedback back to 0003
everywhere, then runs a plain `migrate`, as a deploy does: every schema is behind, so it
runs in all of them. Timed one schema at a time and with the multiprocessing executor.

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/tenant_scale.py
    ... benchmarks/tenant_scale.py --tenants 200      # quicker
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import _bootstrap  # first: the repository on sys.path, Django set up
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tenants.models import Organisation
from tenants.provisioning import provision_organisation

BEFORE = "0003_story_assigned_to_story_due_at_and_more"
AFTER = "0004_story_target_missed_at"


def timed(label: str, function, *args, **kwargs) -> float:  # noqa: ANN001
    print(f"{label}...", flush=True)
    start = time.perf_counter()
    function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"    {seconds:.1f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    tenants = parser.parse_args().tenants

    timed("migrating the empty database", _bootstrap.migrate)
    print(f"provisioning {tenants} organisations (template clone)...", flush=True)
    times = []
    start = time.perf_counter()
    for index in range(tenants):
        began = time.perf_counter()
        provision_organisation(
            name=f"Scale Test Organisation {index}",
            slug=f"scale-{index:04d}",
            kind="other",
            admin_email=f"admin{index}@scale.example",
            admin_name="Scale Admin",
        )
        times.append(time.perf_counter() - began)
        if (index + 1) % 100 == 0:
            print(f"    {index + 1} made, {time.perf_counter() - start:.0f} s", flush=True)
    provisioned = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM pg_class")
        relations = cursor.fetchone()[0]
    schemas = Organisation.objects.subscribers().count() + 2  # public and the template

    processes = os.cpu_count() or 2
    settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = processes
    parallel = {"executor": "multiprocessing"}
    skipping = timed(
        "migrate with nothing to do (up-to-date schemas skipped)",
        call_command,
        "migrate",
        verbosity=0,
    )
    noop = timed(
        "the same, --every-schema, one schema at a time",
        call_command,
        "migrate",
        every_schema=True,
        verbosity=0,
    )
    noop_parallel = timed(
        f"the same, --every-schema, {processes} processes",
        call_command,
        "migrate",
        every_schema=True,
        verbosity=0,
        **parallel,
    )
    back = timed(
        f"migrate feedback back to 0003 everywhere (dropping a column and an index), "
        f"{processes} processes",
        call_command,
        "migrate",
        "feedback",
        BEFORE,
        verbosity=0,
        **parallel,
    )
    forward = timed(
        "deploy: migrate, every schema one migration behind, one schema at a time",
        call_command,
        "migrate",
        verbosity=0,
    )
    call_command("migrate", "feedback", BEFORE, verbosity=0, **parallel)
    forward_parallel = timed(
        f"the same, {processes} processes", call_command, "migrate", verbosity=0, **parallel
    )

    ordered = sorted(times)
    print()
    print(
        f"tenant scale: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10000}; "
        f"load average at the end {os.getloadavg()[1]:.1f} (5 min)"
    )
    print(f"organisations:        {tenants} ({schemas} schemas with public and the template)")
    print(
        f"provisioning:         {provisioned:.0f} s in all; per tenant p50 "
        f"{statistics.median(times):.3f} s, p95 {ordered[int(len(ordered) * 0.95) - 1]:.3f} s, "
        f"last 100 mean {statistics.mean(times[-100:]):.3f} s"
    )
    print(f"database:             {size / 1e9:.2f} GB, {relations:,} relations in pg_class")
    print(
        f"no-op migrate:        {skipping:.1f} s skipping up-to-date schemas; "
        f"--every-schema {noop:.1f} s ({1000 * noop / schemas:.0f} ms per schema), "
        f"{processes} processes {noop_parallel:.1f} s"
    )
    print(
        f"additive migration:   {forward:.1f} s ({1000 * forward / schemas:.0f} ms per schema);"
        f" {processes} processes {forward_parallel:.1f} s; reversing it ({processes} processes)"
        f" took {back:.1f} s"
    )


if __name__ == "__main__":
    main()
