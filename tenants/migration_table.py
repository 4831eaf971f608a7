"""Whether the schema being migrated has its `django_migrations` table, asked by name.

Django's MigrationRecorder.has_table() lists every table visible on the search path
(introspection.table_names): a scan of the whole of pg_class that calls
pg_table_is_visible() for each row. With 10,000 organisations pg_class holds 2.9 million
rows, and each call took 1.2 s; `migrate` asks four times, so a migrate with nothing to do
spent 4.8 of its 5.9 s there (benchmarks/tenant_scale.py). `to_regclass` finds the table
through the same search path with one index lookup.

Installed once, from TenantsConfig.ready(): Django builds its recorders itself (the migrate
command and the executor), so there is no other place to give them this.
"""

from __future__ import annotations

from django.db.migrations.recorder import MigrationRecorder


def has_table(self: MigrationRecorder) -> bool:
    """Return True if the django_migrations table exists (on the search path)."""
    if self._has_table:
        return True
    with self.connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [self.Migration._meta.db_table])
        self._has_table = bool(cursor.fetchone()[0])
    return self._has_table


def install() -> None:
    MigrationRecorder.has_table = has_table  # type: ignore[method-assign]
