"""Migrating many schemas: skip those that are already up to date.

django-tenants runs Django's whole `migrate` command in every schema, one after another,
even when there is nothing to do: about a third of a second a schema on our 2-core machine,
five minutes for 1,000 organisations (infra/SCALING.md). Before handing the list to its
executor, we read every schema's `django_migrations` over one connection and keep only the
schemas missing a migration that is on disk. A deploy with no new migration then costs
seconds; one with a new migration still runs it in every schema.

Only a plain forward `migrate` is filtered: naming an app or a migration, --fake, --plan,
--check, --prune, --run-syncdb and --every-schema all run in every schema, as django-tenants
would. Squashed migrations (`replaces`) make "applied" ambiguous, so their presence turns the
shortcut off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as tenants_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations
from psycopg import sql

from tenants.batch_migrating import SchemasFailed, migrate_in_batches, with_migration_table

# Options that ask for something other than "bring every schema up to date".
_SPECIAL = (
    "app_label",
    "migration_name",
    "fake",
    "fake_initial",
    "plan",
    "check_unapplied",
    "prune",
    "run_syncdb",
    "every_schema",
)


def migrations_on_disk() -> set[tuple[str, str]] | None:
    """Every migration of every installed app, or None when a squashed one is among them."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    if any(getattr(m, "replaces", None) for m in loader.disk_migrations.values()):
        return None
    return set(loader.graph.nodes)


# Schemas read per query: a UNION ALL of this many counts, so 10,000 schemas cost 50 round
# trips rather than 10,000.
SCHEMAS_PER_QUERY = 200


def schemas_behind(schemas: list[str], *, database: str = "default") -> list[str]:
    """The schemas, in their order, that lack a migration on disk (or any record at all)."""
    expected = migrations_on_disk()
    if expected is None:
        return list(schemas)
    apps, names = zip(*sorted(expected), strict=True) if expected else ((), ())
    complete: set[str] = set()
    with connections[database].cursor() as cursor:
        recorded = with_migration_table(cursor, schemas)
        for start in range(0, len(recorded), SCHEMAS_PER_QUERY):
            counts = sql.SQL(" UNION ALL ").join(
                sql.SQL(
                    "SELECT {}, count(DISTINCT (m.app, m.name)) FROM {}.django_migrations m "
                    "JOIN expected e ON e.app = m.app AND e.name = m.name"
                ).format(sql.Literal(schema), sql.Identifier(schema))
                for schema in recorded[start : start + SCHEMAS_PER_QUERY]
            )
            cursor.execute(
                sql.SQL(
                    "WITH expected(app, name) AS (SELECT * FROM unnest(%s::text[], %s::text[])) {}"
                ).format(counts),
                [list(apps), list(names)],
            )
            complete |= {schema for schema, count in cursor.fetchall() if count == len(expected)}
    return [schema for schema in schemas if schema not in complete]


def is_plain_migrate(options: dict[str, Any]) -> bool:
    return not any(options.get(name) for name in _SPECIAL)


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """django-tenants' executor of that name, skipping up-to-date schemas on a plain migrate."""
    base = tenants_executor(codename=codename)

    class SkippingExecutor(base):  # type: ignore[valid-type, misc]
        def run_migrations(self, tenants: Any = None) -> None:
            tenants = list(tenants or [])
            if is_plain_migrate(self.options):
                others = [s for s in tenants if s != self.PUBLIC_SCHEMA_NAME]
                behind = set(
                    schemas_behind(others, database=self.options.get("database") or "default")
                )
                skipped = len(others) - len(behind)
                tenants = [s for s in tenants if s == self.PUBLIC_SCHEMA_NAME or s in behind]
                if skipped and int(self.options.get("verbosity", 1)) >= 1:
                    print(f"{skipped} schema(s) already up to date; migrating {len(tenants)}")
                if getattr(settings, "TENANT_MIGRATION_BATCHES", True):
                    self.run_in_batches(tenants)
                    return
            super().run_migrations(tenants=tenants)

        def run_in_batches(self, tenants: list[str]) -> None:
            """Replay each migration's SQL across schemas (tenants/batch_migrating.py)."""
            verbosity = int(self.options.get("verbosity", 1))
            outcome = migrate_in_batches(
                [s for s in tenants if s != self.PUBLIC_SCHEMA_NAME],
                lambda schema: run_migrations(self.args, self.options, self.codename, schema),
                database=self.options.get("database") or "default",
                verbosity=verbosity,
            )
            for note in outcome.notes:
                print(note)
            left = [s for s in tenants if s == self.PUBLIC_SCHEMA_NAME] + outcome.left
            if left:
                super().run_migrations(tenants=left)
            if outcome.failed:
                raise SchemasFailed(outcome.failed)

    SkippingExecutor.__name__ = f"Skipping{base.__name__}"
    return SkippingExecutor
