"""Where each table lives on a Citus cluster; `migrate` calls `distribute_on_citus()` last.

On plain PostgreSQL it does nothing. On a Citus coordinator (the `citus` extension is in
the database), after every migrate:

1. Schema-based sharding is on for the database, so each organisation provisioned later
   (one CREATE SCHEMA) becomes a distributed schema, placed whole on one worker.
2. Organisation schemas made before the database was a Citus one (a single PostgreSQL
   moved to Citus), and the template, are distributed now (`citus_schema_distribute`).
3. Every hub table (the public schema) becomes a *Citus-managed local table*
   (`citus_add_local_table_to_metadata`): it stays on the coordinator, where it was, but
   Citus now takes part in its writes.

TRICKY, why 3: publishing writes the hub's rows (submission, public copy, rollups, audit)
and the organisation's Story in one transaction. With plain local tables Citus does not
count the coordinator's own writes, sees one worker written, and commits that worker with
a one-phase commit before the coordinator commits: a crash between the two would leave a
Story without its public copy (tests/citus shows no two-phase record is written then).
Writes to Citus-managed tables make it a two-phase commit across the coordinator and the
worker, recorded in pg_dist_transaction and recovered by Citus after a crash.

No hub table is a *reference table* (copied to every worker). No tenant table has a
foreign key to the hub and no tenant query joins one (the isolation and publish-to-alert
suites pass on the cluster), so a copy on the workers would buy nothing, while each write
to it (every submission, public story and rollup) would become a write on every node.
infra/SCALING.md has the measured figures.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection as default_connection

from tenants.citus.base import is_citus


def distribute_on_citus(connection: Any = default_connection) -> dict[str, list[str]]:
    """Bring the database's layout in line with the above; {} on plain PostgreSQL.
    Returns what it changed: {"schemas": [...], "hub_tables": [...]}. Idempotent."""
    if not is_citus(connection):
        return {}
    with connection.cursor() as cursor:
        enable_schema_based_sharding(cursor)
        schemas = distribute_schemas(cursor)
        hub_tables = manage_hub_tables(cursor)
    return {"schemas": schemas, "hub_tables": hub_tables}


def enable_schema_based_sharding(cursor: Any) -> None:
    cursor.execute("SELECT current_database()")
    database = cursor.fetchone()[0]
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d "
        "ON d.oid = s.setdatabase WHERE d.datname = %s AND s.setrole = 0 "
        "AND 'citus.enable_schema_based_sharding=on' = ANY (s.setconfig))",
        [database],
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f'ALTER DATABASE "{database}" SET citus.enable_schema_based_sharding TO on')
    cursor.execute("SET citus.enable_schema_based_sharding TO on")


def distribute_schemas(cursor: Any) -> list[str]:
    """Organisation schemas (and the template) that are not distributed yet, distributed."""
    cursor.execute(
        "SELECT n.nspname FROM pg_namespace n WHERE (n.nspname IN "
        "(SELECT schema_name FROM tenants_organisation WHERE schema_name <> %s) "
        "OR n.nspname = %s) "
        "AND n.oid NOT IN (SELECT schemaid FROM pg_dist_schema) ORDER BY 1",
        [settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA],
    )
    schemas = [row[0] for row in cursor.fetchall()]
    for schema in schemas:
        cursor.execute("SELECT citus_schema_distribute(%s::regnamespace)", [schema])
    return schemas


def hub_tables_to_manage(cursor: Any) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND c.oid NOT IN (SELECT logicalrelid FROM pg_dist_partition) ORDER BY 1",
        [settings.PUBLIC_SCHEMA_NAME],
    )
    return [row[0] for row in cursor.fetchall()]


def manage_hub_tables(cursor: Any) -> list[str]:
    """Every hub table a Citus-managed local table (those linked by foreign keys together)."""
    tables = hub_tables_to_manage(cursor)
    left = set(tables)
    for table in tables:
        if table not in left:
            continue  # taken in along a foreign key of one before it
        cursor.execute(
            "SELECT citus_add_local_table_to_metadata(%s::regclass, "
            "cascade_via_foreign_keys => true)",
            [_qualified(table)],
        )
        left = set(hub_tables_to_manage(cursor))
    restore_identity_sequences(cursor, tables)
    return tables


def restore_identity_sequences(cursor: Any, tables: list[str]) -> None:
    """TRICKY: Citus moves a table's rows into its coordinator shard and gives the table it
    leaves in their place a new identity sequence, starting at 1: the next row would take
    an id already used. Start each one after the highest id there is."""
    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND is_identity = 'YES' AND table_name = ANY (%s)",
        [settings.PUBLIC_SCHEMA_NAME, list(tables)],
    )
    for table, column in cursor.fetchall():
        cursor.execute(f'SELECT COALESCE(max("{column}"), 0) + 1 FROM {_qualified(table)}')
        next_value = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
            [_qualified(table), column, next_value],
        )


def _qualified(table: str) -> str:
    return f'"{settings.PUBLIC_SCHEMA_NAME}"."{table}"'
