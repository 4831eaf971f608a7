"""Migrating many schemas at once: work a migration out in one schema, replay it in the rest.

django-tenants runs Django's whole `migrate` command in every schema. At 1,000 organisations
that cost about 570 ms a schema (infra/SCALING.md), nearly all of it Django's machinery
rather than the migration's SQL. Every organisation's schema is a clone of the same
template, so a migration's statements are the same in each; only the search path differs.
So, for each group of schemas that have applied the same migrations:

1. The first schema of the group is migrated the ordinary way (Django's command: the schema
   editor introspects a real schema, and post_migrate runs), and every statement its schema
   editor executes is recorded from the `django.db.backends.schema` log.
2. Those statements are replayed in the other schemas: a batch of schemas to a transaction,
   a savepoint for each schema, its `django_migrations` rows written in one INSERT, over a
   few connections at once.

A schema whose replay fails is rolled back alone and reported, and the rest go on. It stays
behind, so running `migrate` again retries it. A plan that cannot be replayed this way goes
the per-schema way, and the command says why: Python run in a tenant app (RunPython), a
migration that is not atomic, or a statement that names the schema it ran in.

Inside an open transaction (a test, or a caller's `atomic`), batches run one after another
on the caller's connection, since other connections could not see its work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as installed_apps
from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction
from django.db.migrations import operations
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations.base import Operation
from psycopg import sql

Node = tuple[str, str]
Statement = tuple[str, object]

SCHEMA_LOG = "django.db.backends.schema"
# Operations after which content types and permissions may need making in each schema.
MODEL_LEVEL = (
    operations.CreateModel,
    operations.DeleteModel,
    operations.RenameModel,
    operations.AlterModelOptions,
)


class SchemasFailed(Exception):
    """Some schemas could not be migrated; every other schema was."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = dict(failures)
        super().__init__(describe_failures(self.failures))


def describe_failures(failures: dict[str, str]) -> str:
    lines = [f"{len(failures)} schema(s) could not be migrated; run migrate again to retry:"]
    lines += [f"  {schema}: {reason}" for schema, reason in sorted(failures.items())]
    return "\n".join(lines)


@dataclass
class Outcome:
    """What a batched migration did. `left` still needs the per-schema way."""

    replayed: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def with_migration_table(cursor: Any, schemas: Iterable[str]) -> list[str]:
    """The schemas, in their order, that have a `django_migrations` table."""
    cursor.execute(
        "SELECT s FROM unnest(%s::text[]) WITH ORDINALITY AS t(s, n) "
        "WHERE to_regclass(format('%%I.django_migrations', s)) IS NOT NULL ORDER BY n",
        [list(schemas)],
    )
    return [row[0] for row in cursor.fetchall()]


def applied_migrations(schemas: Iterable[str], *, database: str) -> dict[str, frozenset[Node]]:
    """Each schema's recorded migrations; schemas without a migration table are left out."""
    applied: dict[str, frozenset[Node]] = {}
    with connections[database].cursor() as cursor:
        for schema in with_migration_table(cursor, schemas):
            cursor.execute(
                sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(schema))
            )
            applied[schema] = frozenset(cursor.fetchall())
    return applied


def plan_for(loader: MigrationLoader, applied: frozenset[Node]) -> list[Migration]:
    """The migrations a plain `migrate` would apply, in order, after `applied`."""
    plan: list[Migration] = []
    seen: set[Node] = set()
    for target in sorted(loader.graph.leaf_nodes()):
        for node in loader.graph.forwards_plan(target):
            if node not in applied and node not in seen:
                seen.add(node)
                plan.append(loader.graph.nodes[node])
    return plan


def tenant_app_labels() -> set[str]:
    return {
        config.label
        for config in installed_apps.get_app_configs()
        if config.name in settings.TENANT_APPS
    }


def database_operations(operation: Operation) -> Iterator[Operation]:
    if isinstance(operation, operations.SeparateDatabaseAndState):
        for inner in operation.database_operations:
            yield from database_operations(inner)
    else:
        yield operation


def tenant_operations(plan: list[Migration]) -> Iterator[tuple[Migration, Operation]]:
    """The operations that touch a tenant schema (the router skips other apps there)."""
    labels = tenant_app_labels()
    for migration in plan:
        if migration.app_label in labels:
            for operation in migration.operations:
                for inner in database_operations(operation):
                    yield migration, inner


def why_not_replayed(plan: list[Migration]) -> str | None:
    """Why this plan must run schema by schema, or None when its SQL can be replayed."""
    for migration in plan:
        if not migration.atomic:
            return f"{migration.app_label}.{migration.name} is not atomic"
    for migration, operation in tenant_operations(plan):
        if isinstance(operation, operations.RunPython) and operation.code is not (
            operations.RunPython.noop
        ):
            return f"{migration.app_label}.{migration.name} runs Python (RunPython)"
    return None


def needs_post_migrate(plan: list[Migration]) -> bool:
    return any(isinstance(op, MODEL_LEVEL) for _, op in tenant_operations(plan))


class _Recorder(logging.Handler):
    """Collects the statements one thread's schema editor executes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.statements: list[Statement] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and hasattr(record, "sql"):
            self.statements.append((record.sql, getattr(record, "params", None)))


@contextmanager
def recording_schema_statements() -> Iterator[list[Statement]]:
    """Every statement this thread's schema editors execute inside the block, in order."""
    logger = logging.getLogger(SCHEMA_LOG)
    recorder = _Recorder()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # the debug records stay here, not in the project's logs
    try:
        yield recorder.statements
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)
        logger.propagate = propagate


def names_schema(statements: list[Statement], schema: str) -> bool:
    return any(f'"{schema}"' in text or f"{schema}." in text for text, _ in statements)


def replay_in(
    schemas: list[str], statements: list[Statement], plan: list[Migration], *, database: str
) -> dict[str, str]:
    """Replay in each schema, one transaction for them all, a savepoint for each."""
    apps_ = [migration.app_label for migration in plan]
    names = [migration.name for migration in plan]
    failed: dict[str, str] = {}
    lock_timeout = f"{int(getattr(settings, 'TENANT_MIGRATION_LOCK_TIMEOUT_SECONDS', 30))}s"
    with transaction.atomic(using=database), connections[database].cursor() as cursor:
        # Both settings are local to the transaction; inside a caller's transaction they
        # would outlive this one, so they are put back at the end.
        cursor.execute("SELECT current_setting('search_path'), current_setting('lock_timeout')")
        search_path, old_timeout = cursor.fetchone()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        for schema in schemas:
            savepoint = transaction.savepoint(using=database)
            try:
                cursor.execute(
                    "SELECT set_config('search_path', %s, true)", [f'"{schema}", public']
                )
                for text, params in statements:
                    cursor.execute(text, params)
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {}.django_migrations (app, name, applied) "
                        "SELECT app, name, now() "
                        "FROM unnest(%s::text[], %s::text[]) AS m(app, name)"
                    ).format(sql.Identifier(schema)),
                    [apps_, names],
                )
            except Exception as error:  # noqa: BLE001 - reported, and the others go on
                transaction.savepoint_rollback(savepoint, using=database)
                failed[schema] = str(error).splitlines()[0] if str(error) else repr(error)
            else:
                transaction.savepoint_commit(savepoint, using=database)
        cursor.execute(
            "SELECT set_config('search_path', %s, true), set_config('lock_timeout', %s, true)",
            [search_path, old_timeout],
        )
    return failed


def _replay_batch(
    schemas: list[str], statements: list[Statement], plan: list[Migration], database: str
) -> dict[str, str]:
    """One batch on this thread's own connection, closed afterwards."""
    try:
        return replay_in(schemas, statements, plan, database=database)
    except Exception as error:  # noqa: BLE001 - the batch's transaction could not commit
        return {schema: f"batch failed: {error}" for schema in schemas}
    finally:
        connections[database].close()


def replay(
    schemas: list[str],
    statements: list[Statement],
    plan: list[Migration],
    *,
    database: str,
    parallel: bool,
) -> dict[str, str]:
    """Replay in batches: over several connections, or one after another on this one."""
    size = max(1, int(getattr(settings, "TENANT_MIGRATION_BATCH_SIZE", 50)))
    batches = [schemas[start : start + size] for start in range(0, len(schemas), size)]
    failed: dict[str, str] = {}
    if not parallel:
        for batch in batches:
            failed |= replay_in(batch, statements, plan, database=database)
        return failed
    workers = max(1, int(getattr(settings, "TENANT_MIGRATION_CONNECTIONS", 4)))
    with ThreadPoolExecutor(max_workers=min(workers, len(batches) or 1)) as pool:
        for result in pool.map(
            lambda batch: _replay_batch(batch, statements, plan, database), batches
        ):
            failed |= result
    return failed


def post_migrate_in(
    schemas: list[str], plan: list[Migration], loader: MigrationLoader, *, database: str
) -> None:
    """Content types and permissions for new models, as `migrate` makes them, in each schema."""
    connection = connections[database]
    post_apps = loader.project_state().apps
    for schema in schemas:
        connection.set_schema(schema)
        emit_post_migrate_signal(
            0, False, database, apps=post_apps, plan=[(m, False) for m in plan]
        )
    connection.set_schema_to_public()


def migrate_in_batches(
    schemas: list[str], migrate_one: Callable[[str], None], *, database: str, verbosity: int = 1
) -> Outcome:
    """Bring `schemas` up to date. `migrate_one(schema)` migrates one the ordinary way."""
    outcome = Outcome()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    applied = applied_migrations(schemas, database=database)
    groups: dict[frozenset[Node], list[str]] = {}
    for schema in schemas:
        if schema in applied:
            groups.setdefault(applied[schema], []).append(schema)
        else:
            outcome.left.append(schema)  # no migration table yet: the ordinary way
    for group_applied, group in groups.items():
        plan = plan_for(loader, group_applied)
        if not plan:
            continue
        reason = why_not_replayed(plan)
        if reason:
            outcome.notes.append(
                f"{len(group)} schema(s) migrated one at a time, not in batches: {reason}"
            )
            outcome.left.extend(group)
            continue
        model, rest = group[0], group[1:]
        with recording_schema_statements() as statements:
            migrate_one(model)
        if not rest:
            continue
        if names_schema(statements, model):
            outcome.notes.append(
                f"{len(rest)} schema(s) migrated one at a time, not in batches: "
                f"a statement names the schema {model}"
            )
            outcome.left.extend(rest)
            continue
        # Other connections could not see work inside the caller's transaction.
        parallel = not connections[database].in_atomic_block
        failed = replay(rest, statements, plan, database=database, parallel=parallel)
        done = [schema for schema in rest if schema not in failed]
        if needs_post_migrate(plan):
            post_migrate_in(done, plan, loader, database=database)
        outcome.failed |= failed
        outcome.replayed.extend(done)
        if verbosity >= 1:
            print(
                f"{len(plan)} migration(s), {len(statements)} statement(s): worked out in "
                f"{model}, replayed in {len(done)} schema(s)"
                + (f"; {len(failed)} failed" if failed else "")
            )
    return outcome
