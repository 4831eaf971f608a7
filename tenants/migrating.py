"""Migrating many schemas: skip those that are already up to date.

django-tenants runs Django's whole `migrate` command in every schema, one after another,
even when there is nothing to do: about a third of a second a schema on our 2-core machine,
five minutes for 1,000 organisations (infra/SCALING.md). Before handing the list to its
executor, we read every schema's `django_migrations` over one connection and keep only the
schemas missing a migration that is on disk. A deploy with no new migration then costs
seconds; one with a new migration still runs it in every schema.

Reading 10,000 schemas' tables still took 18 s (benchmarks/tenant_scale.py): every table
a backend opens costs it catalogue lookups and memory. So a schema found complete, or
brought up to date by `migrate`, is recorded in the public schema with a fingerprint of the
migrations on disk (tenants.models.SchemaMigrationState); while the fingerprint is the same,
the next plain `migrate` skips it from that one table. A new migration on disk changes the
fingerprint, so every schema is read again (and migrated if behind). What is recorded is
forgotten after a restore (tenants/backups.py) and after any `migrate` that is not a plain
forward one; whoever edits a schema's `django_migrations` by hand must call
`forget_migration_state` too, or run `migrate --every-schema`.

Only a plain forward `migrate` is filtered: naming an app or a migration, --fake, --plan,
--check, --prune, --run-syncdb and --every-schema all run in every schema, as django-tenants
would. Squashed migrations (`replaces`) make "applied" ambiguous, so their presence turns the
shortcut off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as tenants_executor
from django_tenants.migration_executors.base import MigrationExecutor, run_migrations
from psycopg import sql

from tenants.batch_migrating import SchemasFailed, migrate_in_batches, with_migration_table
from tenants.models import SchemaMigrationState

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


def fingerprint(migrations: Iterable[tuple[str, str]]) -> str:
    return hashlib.sha256(
        "\n".join(f"{app}.{name}" for app, name in sorted(migrations)).encode()
    ).hexdigest()


def schemas_behind(schemas: list[str], *, database: str = "default") -> list[str]:
    """The schemas, in their order, that lack a migration on disk (or any record at all).
    Those recorded complete for the migrations on disk now are not read."""
    expected = migrations_on_disk()
    if expected is None:
        return list(schemas)
    current = fingerprint(expected)
    with connections[database].cursor() as cursor:
        recorded = recorded_complete(cursor, schemas, current)
        unknown = [schema for schema in schemas if schema not in recorded]
        complete = read_complete(cursor, unknown, expected)
        record_complete(cursor, [s for s in unknown if s in complete], current)
    return [schema for schema in unknown if schema not in complete]


def read_complete(cursor: Any, schemas: list[str], expected: set[tuple[str, str]]) -> set[str]:
    """Those of `schemas` whose own `django_migrations` holds every expected migration."""
    if not schemas:
        return set()
    apps, names = zip(*sorted(expected), strict=True) if expected else ((), ())
    complete: set[str] = set()
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
    return complete


def _state_table(cursor: Any) -> sql.Composable | None:
    """The recorded states' table, or None before the public schema has it (the deploy
    that adds it checks every schema the long way)."""
    table = sql.Identifier(settings.PUBLIC_SCHEMA_NAME, SchemaMigrationState._meta.db_table)
    cursor.execute(
        "SELECT to_regclass(%s) IS NOT NULL",
        [f'"{settings.PUBLIC_SCHEMA_NAME}".{SchemaMigrationState._meta.db_table}'],
    )
    return table if cursor.fetchone()[0] else None


def recorded_complete(cursor: Any, schemas: list[str], current: str) -> set[str]:
    table = _state_table(cursor)
    if table is None or not schemas:
        return set()
    cursor.execute(
        sql.SQL(
            "SELECT schema_name FROM {} WHERE complete_for = %s AND schema_name = ANY(%s)"
        ).format(table),
        [current, list(schemas)],
    )
    return {row[0] for row in cursor.fetchall()}


def record_complete(cursor: Any, schemas: list[str], current: str) -> None:
    table = _state_table(cursor)
    if table is None or not schemas:
        return
    cursor.execute(
        sql.SQL(
            "INSERT INTO {} (schema_name, complete_for, recorded_at) "
            "SELECT unnest(%s::text[]), %s, now() "
            "ON CONFLICT (schema_name) DO UPDATE "
            "SET complete_for = EXCLUDED.complete_for, recorded_at = EXCLUDED.recorded_at"
        ).format(table),
        [list(schemas), current],
    )


def record_migrated(schemas: list[str], *, database: str = "default") -> None:
    """`migrate` brought `schemas` up to date: recorded complete for the migrations on disk."""
    expected = migrations_on_disk()
    if expected is None:
        return
    with connections[database].cursor() as cursor:
        record_complete(cursor, schemas, fingerprint(expected))


def forget_deleted_schema(instance: object, using: str = "default", **_: object) -> None:
    """An organisation was deleted (post_delete, connected in tenants/apps.py): its schema's
    recorded state goes with it."""
    schema = getattr(instance, "schema_name", "")
    if schema:
        forget_migration_state([schema], database=using)


def forget_migration_state(schemas: list[str] | None = None, *, database: str = "default") -> None:
    """Read these schemas (None: every schema) again at the next `migrate`."""
    with connections[database].cursor() as cursor:
        table = _state_table(cursor)
        if table is None:
            return
        if schemas is None:
            cursor.execute(sql.SQL("DELETE FROM {}").format(table))
        else:
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE schema_name = ANY(%s)").format(table),
                [list(schemas)],
            )


def is_plain_migrate(options: dict[str, Any]) -> bool:
    return not any(options.get(name) for name in _SPECIAL)


def get_executor(codename: str | None = None) -> type[MigrationExecutor]:
    """django-tenants' executor of that name, skipping up-to-date schemas on a plain migrate."""
    base = tenants_executor(codename=codename)

    class SkippingExecutor(base):  # type: ignore[valid-type, misc]
        def run_migrations(self, tenants: Any = None) -> None:
            tenants = list(tenants or [])
            database = self.options.get("database") or "default"
            others = [s for s in tenants if s != self.PUBLIC_SCHEMA_NAME]
            if not is_plain_migrate(self.options):
                # Whatever this does to each schema's records, read them again next time.
                forget_migration_state(others, database=database)
                super().run_migrations(tenants=tenants)
                return
            behind = set(schemas_behind(others, database=database))
            skipped = len(others) - len(behind)
            tenants = [s for s in tenants if s == self.PUBLIC_SCHEMA_NAME or s in behind]
            if skipped and int(self.options.get("verbosity", 1)) >= 1:
                print(f"{skipped} schema(s) already up to date; migrating {len(tenants)}")
            if getattr(settings, "TENANT_MIGRATION_BATCHES", True):
                self.run_in_batches(tenants)
                return
            super().run_migrations(tenants=tenants)
            record_migrated([s for s in tenants if s in behind], database=database)

        def run_in_batches(self, tenants: list[str]) -> None:
            """Replay each migration's SQL across schemas (tenants/batch_migrating.py)."""
            verbosity = int(self.options.get("verbosity", 1))
            database = self.options.get("database") or "default"
            outcome = migrate_in_batches(
                [s for s in tenants if s != self.PUBLIC_SCHEMA_NAME],
                lambda schema: run_migrations(self.args, self.options, self.codename, schema),
                database=database,
                verbosity=verbosity,
            )
            for note in outcome.notes:
                print(note)
            left = [s for s in tenants if s == self.PUBLIC_SCHEMA_NAME] + outcome.left
            if left:
                super().run_migrations(tenants=left)
            record_migrated(
                [s for s in tenants if s != self.PUBLIC_SCHEMA_NAME and s not in outcome.failed],
                database=database,
            )
            if outcome.failed:
                raise SchemasFailed(outcome.failed)

    SkippingExecutor.__name__ = f"Skipping{base.__name__}"
    return SkippingExecutor
