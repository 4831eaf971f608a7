"""The PostgreSQL backend django-tenants wraps (settings.ORIGINAL_BACKEND), with a schema
editor that keeps migrations working on a Citus coordinator.

TRICKY: Citus refuses `ALTER TABLE ... ADD COLUMN c type CHECK (...)` (and inline UNIQUE or
PRIMARY KEY) because every constraint of a distributed table must have an explicit name, and
Django writes those inline and unnamed when a migration adds a field. On Citus the editor
names them with PostgreSQL's own default names (`<table>_<column>_check`, `_key`, `_pkey`),
so the schema is the same as on plain PostgreSQL. On plain PostgreSQL nothing changes.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.backends.postgresql import base, schema

from tenants.connections import RemembersSchemas

ADD_COLUMN = re.compile(
    r'^ALTER TABLE (?P<table>"[^"]+"(?:\."[^"]+")?) ADD COLUMN (?P<column>"[^"]+") (?P<rest>.*)$',
    re.DOTALL,
)
# Constraint keywords Django writes inline and unnamed (its foreign keys are already named).
INLINE = re.compile(r" (?P<keyword>CHECK \(|UNIQUE(?= |$)|PRIMARY KEY(?= |$))")
SUFFIXES = {"CHECK (": "check", "UNIQUE": "key", "PRIMARY KEY": "pkey"}


def is_citus(connection: Any) -> bool:
    """Whether the database is a Citus one (the extension is installed); asked once per
    connection."""
    known = getattr(connection, "_carevoice_is_citus", None)
    if known is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            known = bool(cursor.fetchone()[0])
        connection._carevoice_is_citus = known
    return known


def _unquoted(identifier: str) -> str:
    return identifier.split(".")[-1].strip('"')


def name_inline_constraints(sql: str) -> str:
    """`ALTER TABLE t ADD COLUMN c ... CHECK (...)` with each inline constraint named."""
    match = ADD_COLUMN.match(sql)
    if not match:
        return sql
    table, column = _unquoted(match["table"]), _unquoted(match["column"])

    def named(found: re.Match[str]) -> str:
        keyword = found["keyword"]
        suffix = SUFFIXES[keyword]
        parts = [table] if suffix == "pkey" else [table, column]
        name = "_".join([*parts, suffix])[:63]
        return f' CONSTRAINT "{name}" {keyword}'

    rest = INLINE.sub(named, match["rest"])
    return f"ALTER TABLE {match['table']} ADD COLUMN {match['column']} {rest}"


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def execute(self, sql: Any, params: Any = ()) -> Any:
        if isinstance(sql, str) and sql.startswith("ALTER TABLE") and is_citus(self.connection):
            sql = name_inline_constraints(sql)
        return super().execute(sql, params)


class DatabaseWrapper(RemembersSchemas, base.DatabaseWrapper):
    """The backend django-tenants wraps (ORIGINAL_BACKEND), on Citus or not: the schema
    editor above, and the schemas each connection has served (tenants/connections.py)."""

    SchemaEditorClass = DatabaseSchemaEditor
