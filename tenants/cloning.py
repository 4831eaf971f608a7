"""Clone the migrated template schema into a new organisation's schema, fast.

django-tenants' own `clone_schema()` is a 4,000-line PL/pgSQL function that re-reads the
catalogue (about 200 queries) on every call, is re-created (DROP TYPE ... CASCADE) before
every call, and slows down as the database gains schemas while catalogue statistics lag.
Here the catalogue is read once per process into a snapshot of DDL, and each new schema
is one round trip: `CREATE TABLE ... (LIKE template.table ...)` for every table, then the
template's own constraint and index definitions (same names, so later migrations that name
them work), foreign keys, and the template's few rows (migrations applied, content types,
permissions).

The snapshot is taken again whenever the template's migrations change. It refuses a
template holding objects it does not know how to copy (views, functions, triggers, types,
free-standing sequences) rather than make an incomplete clone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from tenants.citus.base import is_citus
from tenants.citus.cloning import clone_on_citus

LIKE_OPTIONS = (
    "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED INCLUDING CONSTRAINTS "
    "INCLUDING COMMENTS INCLUDING STORAGE"
)


class CloneError(Exception):
    """The template cannot be cloned faithfully; the message names what is in the way."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class TemplateSnapshot:
    template: str
    fingerprint: tuple[int, int]
    tables: tuple[str, ...]
    # (table, constraint name, definition) for primary keys, unique and exclusion constraints
    key_constraints: tuple[tuple[str, str, str], ...]
    # CREATE INDEX statements with unqualified table names, for indexes no constraint owns
    indexes: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...]
    # tables holding rows in the template, with their identity columns
    data_tables: tuple[tuple[str, tuple[str, ...]], ...]

    def script_for(self, schema: str) -> str:
        """The SQL that makes `schema` a copy of the template, as one string."""
        return ";\n".join(self.statements_for(schema)) + ";"

    def statements_for(self, schema: str, *, set_sequences: bool = True) -> list[str]:
        """The SQL that makes `schema` a copy of the template, statement by statement."""
        new, template = quote(schema), quote(self.template)
        statements = [f"CREATE SCHEMA {new}", f"SET LOCAL search_path TO {new}"]
        statements += [
            f"CREATE TABLE {new}.{quote(t)} (LIKE {template}.{quote(t)} {LIKE_OPTIONS})"
            for t in self.tables
        ]
        statements += [
            f"ALTER TABLE {quote(t)} ADD CONSTRAINT {quote(name)} {definition}"
            for t, name, definition in (*self.key_constraints,)
        ]
        statements += list(self.indexes)
        statements += [
            f"ALTER TABLE {quote(t)} ADD CONSTRAINT {quote(name)} {definition}"
            for t, name, definition in self.foreign_keys
        ]
        for table, identity_columns in self.data_tables:
            statements.append(
                f"INSERT INTO {quote(table)} OVERRIDING SYSTEM VALUE "
                f"SELECT * FROM {template}.{quote(table)}"
            )
            statements += [
                f"SELECT setval(pg_get_serial_sequence('{new}.{quote(table)}', '{column}'), "
                f"COALESCE((SELECT max({quote(column)}) FROM {quote(table)}), 0) + 1, false)"
                for column in identity_columns
                if set_sequences
            ]
        return statements


_lock = threading.Lock()
_snapshot: TemplateSnapshot | None = None


def template_fingerprint(template: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(max(id), 0) FROM {quote(template)}.django_migrations"
        )
        count, last = cursor.fetchone()
    return int(count), int(last)


def current_snapshot(template: str | None = None) -> TemplateSnapshot:
    """The snapshot of the template as it is now, read from the catalogue if it changed."""
    global _snapshot
    template = template or settings.TENANT_BASE_SCHEMA
    fingerprint = template_fingerprint(template)
    with _lock:
        if (
            _snapshot is None
            or _snapshot.template != template
            or _snapshot.fingerprint != fingerprint
        ):
            _snapshot = read_snapshot(template, fingerprint)
        return _snapshot


def clone_template(schema: str) -> None:
    """Create `schema` as a copy of the template, inside the caller's transaction."""
    snapshot = current_snapshot()
    with connection.cursor() as cursor:
        if is_citus(connection):
            clone_on_citus(snapshot, schema, cursor)
        else:
            cursor.execute(snapshot.script_for(schema))
    # TRICKY: the script moved search_path for the rest of this transaction; make
    # django-tenants issue its own SET again before the next query.
    connection.set_tenant(connection.tenant)


def read_snapshot(template: str, fingerprint: tuple[int, int]) -> TemplateSnapshot:
    # A connection of its own: with search_path on the template, the catalogue's
    # definitions come back without schema names and so apply to any schema.
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = True
        with raw.cursor() as cursor:
            cursor.execute(f"SET search_path TO {quote(template)}")
            cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
            row = cursor.fetchone()
            if row is None:
                raise CloneError(f"The template schema {template!r} does not exist.")
            namespace = row[0]
            refuse_what_cannot_be_copied(cursor, namespace, template)
            tables = _column(cursor, TABLES, namespace)
            key_constraints = _rows(cursor, KEY_CONSTRAINTS, namespace)
            indexes = [
                unqualify_index(definition, cursor, template)
                for definition in _column(cursor, INDEXES, namespace)
            ]
            foreign_keys = _rows(cursor, FOREIGN_KEYS, namespace)
            identities: dict[str, list[str]] = {}
            for table, column in _rows(cursor, IDENTITY_COLUMNS, namespace):
                identities.setdefault(table, []).append(column)
            data_tables = []
            for table in tables:
                cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(table)})")
                if cursor.fetchone()[0]:
                    data_tables.append((table, tuple(identities.get(table, ()))))
    finally:
        raw.close()
    return TemplateSnapshot(
        template=template,
        fingerprint=fingerprint,
        tables=tuple(tables),
        key_constraints=tuple(key_constraints),
        indexes=tuple(indexes),
        foreign_keys=tuple(foreign_keys),
        data_tables=tuple(data_tables),
    )


def unqualify_index(definition: str, cursor: object, template: str) -> str:
    """`CREATE INDEX i ON template.t ...` → `CREATE INDEX i ON t ...`.

    TRICKY: pg_get_indexdef() always names the table's schema, whatever the search_path.
    """
    cursor.execute("SELECT quote_ident(%s)", [template])
    qualified = f" ON {cursor.fetchone()[0]}."
    if qualified not in definition:
        raise CloneError(f"Unexpected index definition: {definition}")
    return definition.replace(qualified, " ON ", 1)


def refuse_what_cannot_be_copied(cursor: object, namespace: int, template: str) -> None:
    problems = [f"{kind} {name}" for kind, name in _rows(cursor, UNSUPPORTED, namespace)]
    if problems:
        raise CloneError(
            f"The template schema {template!r} holds objects tenants/cloning.py does not copy: "
            + ", ".join(problems)
        )


def _rows(cursor: object, sql: str, namespace: int) -> list[tuple[str, ...]]:
    cursor.execute(sql, {"ns": namespace})
    return [tuple(row) for row in cursor.fetchall()]


def _column(cursor: object, sql: str, namespace: int) -> list[str]:
    return [row[0] for row in _rows(cursor, sql, namespace)]


TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' ORDER BY c.relname
"""

KEY_CONSTRAINTS = """
SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
WHERE con.connamespace = %(ns)s AND con.contype IN ('p', 'u', 'x')
ORDER BY c.relname, con.contype, con.conname
"""

INDEXES = """
SELECT pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE ic.relnamespace = %(ns)s
  AND NOT EXISTS (
    SELECT 1 FROM pg_constraint con
    WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
      AND con.conrelid = i.indrelid
  )
ORDER BY ic.relname
"""

FOREIGN_KEYS = """
SELECT c.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
WHERE con.connamespace = %(ns)s AND con.contype = 'f'
ORDER BY c.relname, con.conname
"""

IDENTITY_COLUMNS = """
SELECT c.relname, a.attname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND a.attidentity <> '' AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# Everything a faithful clone would need to copy but this module does not.
UNSUPPORTED = """
SELECT 'relation', c.relname FROM pg_class c
WHERE c.relnamespace = %(ns)s AND c.relkind NOT IN ('r', 'i', 'S')
UNION ALL
SELECT 'sequence', c.relname FROM pg_class c
WHERE c.relnamespace = %(ns)s AND c.relkind = 'S'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'i')
UNION ALL
SELECT 'function', p.proname FROM pg_proc p WHERE p.pronamespace = %(ns)s
UNION ALL
SELECT 'type', t.typname FROM pg_type t
WHERE t.typnamespace = %(ns)s AND t.typrelid = 0 AND t.typelem = 0
UNION ALL
SELECT 'trigger', t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
UNION ALL
SELECT 'default', c.relname || '.' || a.attname
FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
WHERE c.relnamespace = %(ns)s AND pg_get_expr(d.adbin, d.adrelid) LIKE '%%nextval%%'
"""
