"""How long a new organisation takes to provision: cloning the template vs running migrations.

Measures, for the same number of tenants each, the wall-clock seconds per tenant of

* cloning: `tenants.provisioning.provision_organisation`, the product's way, which clones
  the migrated template schema (settings.TENANT_BASE_SCHEMA) with `tenants.cloning`, then
  makes the domain and the first administrator, in one transaction;
* migrations: django-tenants' ordinary way, the same rows and account but with the schema
  made by `CREATE SCHEMA` and every tenant migration (`migrate_schemas --tenant`);

and prints their ratio, plus the share of each spent in SQL statements (time inside
cursor.execute, measured with a connection execute wrapper; COMMITs and reconnecting are not
counted, which leaves out about 20 ms of the migration path's many commits). The two paths
alternate, tenant by tenant, so that a catalogue growing as schemas accumulate weighs on
both alike; one untimed tenant of each warms up imports and caches first.

Run it against throw-away embedded servers (the database starts empty):

    make bench
    # which is: .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/provisioning.py
    ... benchmarks/provisioning.py --tenants 3      # quicker, to try it out
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import _bootstrap  # first: the repository on sys.path, Django set up
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from benchmarks.figures import cores, quantiles, server_version
from benchmarks.sqlclock import SqlClock
from tenants.audit.recording import record_audit
from tenants.models import Domain, Organisation, OrganisationStatus
from tenants.provisioning import (
    create_first_admin,
    provision_organisation,
    tenant_domain,
)
from tenants.slugs import schema_name_for

TENANTS = 20


@dataclass
class Timings:
    """Wall-clock and database seconds of each timed tenant of one path."""

    wall: list[float] = field(default_factory=list)
    database: list[float] = field(default_factory=list)


@contextmanager
def timed(timings: Timings) -> Iterator[None]:
    """Add the block's wall-clock and database time to `timings`."""
    clock = SqlClock()
    with connection.execute_wrapper(clock):
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
    timings.wall.append(elapsed)
    timings.database.append(clock.total)


def provision_by_cloning(slug: str) -> None:
    provision_organisation(
        name=f"Bench clone {slug}",
        slug=slug,
        kind="other",
        admin_email=f"admin@{slug}.example.org",
        admin_name="Bench Admin",
        admin_password=None,
    )


def provision_by_migrations(slug: str) -> None:
    """What `provision_organisation` does, but with the schema made by every migration."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        organisation = Organisation(
            name=f"Bench migrations {slug}",
            slug=slug,
            schema_name=schema_name_for(slug),
            kind="other",
            status=OrganisationStatus.ACTIVE,
            ready_at=timezone.now(),
        )
        organisation.full_clean()
        organisation.save()
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{organisation.schema_name}"')
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=organisation.schema_name,
            interactive=False,
            verbosity=0,
        )
        Domain.objects.create(domain=tenant_domain(slug), tenant=organisation, is_primary=True)
        with tenant_context(organisation):
            admin = create_first_admin(f"admin@{slug}.example.org", "Bench Admin", None)
            record_audit(
                "organisation.provisioned",
                actor=None,
                summary=f"Workspace created with {admin.email} as its first administrator",
                target=organisation,
            )
        record_audit(
            "organisation.provisioned",
            actor=None,
            summary=f"Provisioned {organisation.name} ({organisation.schema_name})",
            target=organisation,
        )


def describe(label: str, timings: Timings) -> str:
    mean = statistics.fmean(timings.wall)
    p50, p95 = quantiles(timings.wall)
    database = statistics.fmean(timings.database)
    return (
        f"{label:<11} {mean:.3f} s per tenant (p50 {p50:.3f}, p95 {p95:.3f}); "
        f"SQL statements {database:.3f} s of it"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tenants",
        type=int,
        default=TENANTS,
        help=f"timed tenants each way (default {TENANTS}; at least 2)",
    )
    tenants = max(2, parser.parse_args().tenants)
    _bootstrap.migrate()

    clone, migrations = Timings(), Timings()
    provision_by_cloning("bench-clone-warmup")
    provision_by_migrations("bench-migrations-warmup")
    for i in range(tenants):
        with timed(clone):
            provision_by_cloning(f"bench-clone-{i}")
        with timed(migrations):
            provision_by_migrations(f"bench-migrations-{i}")

    ratio = statistics.fmean(migrations.wall) / statistics.fmean(clone.wall)
    print(
        f"provisioning benchmark: {tenants} tenants each, PostgreSQL {server_version()}, "
        f"{cores()} cores"
    )
    print(describe("clone:", clone))
    print(describe("migrations:", migrations))
    print(f"{'ratio:':<11} {ratio:.1f}x faster by cloning")


if __name__ == "__main__":
    main()
