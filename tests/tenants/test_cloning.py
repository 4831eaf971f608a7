"""A cloned schema is the same, object for object, as the template and as a migrated one."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tenants.cloning import (
    clone_template,
    current_snapshot,
    quote,
)

pytestmark = pytest.mark.django_db

TEMPLATE = settings.TENANT_BASE_SCHEMA


def describe(schema: str) -> dict[str, object]:
    """Everything about a schema's structure, with its own name taken out."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = %(ns)s AND c.relkind = 'r' AND a.attnum > 0
              AND NOT a.attisdropped
            ORDER BY 1, 2""",
        "constraints": """
            SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid),
                   con.condeferrable, con.condeferred
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
            WHERE con.connamespace = %(ns)s AND con.contype <> 'n' ORDER BY 1, 2""",
        "indexes": """
            SELECT ic.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE ic.relnamespace = %(ns)s ORDER BY 1""",
        "sequences": """
            SELECT c.relname, s.seqstart, s.seqincrement, s.seqmax, s.seqcycle
            FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
            WHERE c.relnamespace = %(ns)s ORDER BY 1""",
        "migrations": "SELECT app, name FROM {schema}.django_migrations ORDER BY 1, 2",
        "content_types": "SELECT id, app_label, model FROM {schema}.django_content_type ORDER BY 1",
        "permissions": (
            "SELECT id, codename, content_type_id FROM {schema}.auth_permission ORDER BY 1"
        ),
    }
    result: dict[str, object] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        namespace = cursor.fetchone()[0]
        for name, sql in queries.items():
            cursor.execute(sql.format(schema=quote(schema)), {"ns": namespace})
            rows = [
                tuple(str(v).replace(f"{schema}.", "SCHEMA.") for v in row)
                for row in cursor.fetchall()
            ]
            result[name] = rows
    return result


def test_a_clone_is_identical_to_the_template_and_to_a_migrated_schema() -> None:
    clone_template("clone_probe")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "migrated_probe"')
    call_command(
        "migrate_schemas", tenant=True, schema_name="migrated_probe", interactive=False, verbosity=0
    )
    connection.set_schema_to_public()

    template, clone, migrated = (
        describe(TEMPLATE),
        describe("clone_probe"),
        describe("migrated_probe"),
    )
    assert template["columns"], "described nothing"
    assert clone == template
    for part in ("columns", "constraints", "indexes", "sequences", "migrations"):
        assert migrated[part] == template[part], part


def test_identity_sequences_continue_after_the_copied_rows() -> None:
    clone_template("sequence_probe")
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "sequence_probe".django_content_type (app_label, model) '
            "VALUES ('probe', 'probe') RETURNING id"
        )
        new_id = cursor.fetchone()[0]
        cursor.execute(
            'SELECT max(id) FROM "sequence_probe".django_content_type WHERE id <> %s', [new_id]
        )
        assert new_id == cursor.fetchone()[0] + 1


def test_the_snapshot_is_read_again_when_the_template_is_migrated() -> None:
    before = current_snapshot()
    assert current_snapshot() is before
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(TEMPLATE)}.django_migrations (app, name, applied) "
            "VALUES ('probe', '0001_probe', now())"
        )
    assert current_snapshot() is not before
