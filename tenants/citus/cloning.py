"""Cloning the template schema on a Citus coordinator (tenants/cloning.py calls this there).

Two differences from plain PostgreSQL, both TRICKY:
- Citus passes some DDL on to the schema's worker as the text it was given, and a worker
  refuses several commands in one string: the statements go one at a time.
- A statement that reads a distributed table runs on its worker, so the clone script's
  `setval(..., (SELECT max(id) FROM table))` would set the worker's copy of the sequence
  (whose range Citus keeps apart per node) and fail. The coordinator's sequence is the one
  inserts through the coordinator use: read the maximum, then set it there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenants.cloning import TemplateSnapshot


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def clone_on_citus(snapshot: TemplateSnapshot, schema: str, cursor: Any) -> None:
    # The new schema is distributed (placed whole on a worker) whatever the database's
    # default says.
    cursor.execute("SET LOCAL citus.enable_schema_based_sharding TO on")
    for statement in snapshot.statements_for(schema, set_sequences=False):
        cursor.execute(statement)
    for table, identity_columns in snapshot.data_tables:
        qualified = f"{_quote(schema)}.{_quote(table)}"
        for column in identity_columns:
            cursor.execute(f"SELECT COALESCE(max({_quote(column)}), 0) + 1 FROM {qualified}")
            next_value = cursor.fetchone()[0]
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s), %s, false)",
                [qualified, column, next_value],
            )
