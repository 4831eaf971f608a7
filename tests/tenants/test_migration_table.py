"""Whether a schema has its `django_migrations` table is asked by name, not by listing every
table on the search path (tenants/migration_table.py): right for a schema with the table,
one without, and the public schema, and without a scan of pg_class."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test.utils import CaptureQueriesContext

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def has_table_in(schema: str, *, include_public: bool = False) -> tuple[bool, list[str]]:
    connection.set_schema(schema, include_public=include_public)
    try:
        with CaptureQueriesContext(connection) as captured:
            found = MigrationRecorder(connection).has_table()
    finally:
        connection.set_schema_to_public()
    return found, [query["sql"] for query in captured]


def test_a_schema_with_the_table_has_it(cast: Cast) -> None:
    found, statements = has_table_in(cast.org_a.schema_name)
    assert found
    assert not any("pg_table_is_visible" in sql for sql in statements), statements


def test_a_schema_without_it_has_not_even_with_public_on_the_path_excluded() -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "no_migrations_here"')
    found, _ = has_table_in("no_migrations_here")
    assert not found


def test_the_public_schema_has_it() -> None:
    found, _ = has_table_in("public", include_public=True)
    assert found
