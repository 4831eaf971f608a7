"""`migrate` skips schemas already up to date, and still migrates one that is behind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.backups import restore
from tenants.migrating import (
    fingerprint,
    forget_migration_state,
    is_plain_migrate,
    migrations_on_disk,
    schemas_behind,
)
from tenants.models import SchemaMigrationState
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def schemas(cast: Cast) -> list[str]:
    return [cast.org_a.schema_name, cast.org_b.schema_name, settings.TENANT_BASE_SCHEMA]


def forget_audit(schema: str) -> None:
    """Put a schema one app behind: its audit table and their records gone (and, as every
    hand edit of a schema's records must, what migrate recorded of it forgotten)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'audit'")
        cursor.execute(f'DROP TABLE "{schema}".audit_auditevent')
    forget_migration_state([schema])


def has_audit_table(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'audit_auditevent'",
            [schema],
        )
        return cursor.fetchone()[0] == 1


def test_up_to_date_schemas_are_not_behind(cast: Cast) -> None:
    assert schemas_behind(schemas(cast)) == []


def test_a_schema_missing_a_migration_is_behind(cast: Cast) -> None:
    forget_audit(cast.org_b.schema_name)
    assert schemas_behind(schemas(cast)) == [cast.org_b.schema_name]


def test_a_schema_without_a_migration_table_is_behind(cast: Cast) -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "brand_new"')
    assert schemas_behind([cast.org_a.schema_name, "brand_new"]) == ["brand_new"]


def test_plain_migrate_runs_only_where_something_is_missing(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    forget_audit(cast.org_a.schema_name)
    call_command("migrate", interactive=False, verbosity=1)
    assert has_audit_table(cast.org_a.schema_name)
    printed = capsys.readouterr().out
    assert f":{cast.org_a.schema_name}]" in printed
    assert f":{cast.org_b.schema_name}]" not in printed
    assert schemas_behind(schemas(cast)) == []


def test_every_schema_runs_migrate_everywhere(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("migrate", interactive=False, verbosity=1, every_schema=True)
    printed = capsys.readouterr().out
    assert f":{cast.org_a.schema_name}]" in printed
    assert f":{cast.org_b.schema_name}]" in printed


@pytest.mark.parametrize(
    "options",
    [
        {"app_label": "feedback"},
        {"app_label": "feedback", "migration_name": "0003"},
        {"fake": True},
        {"plan": True},
        {"check_unapplied": True},
        {"every_schema": True},
    ],
)
def test_only_a_plain_forward_migrate_skips(options: dict[str, object]) -> None:
    assert is_plain_migrate({"verbosity": 1, "interactive": False})
    assert not is_plain_migrate(options)


def test_schemas_are_read_a_query_at_a_time_in_groups(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tenants.migrating.SCHEMAS_PER_QUERY", 2)
    forget_audit(settings.TENANT_BASE_SCHEMA)  # the third schema: in the second query
    assert schemas_behind(schemas(cast)) == [settings.TENANT_BASE_SCHEMA]


# --- what migrate records of each schema ----------------------------------------------------


def schema_tables_read(cast: Cast) -> tuple[list[str], list[str]]:
    """schemas_behind's answer, and the statements it ran that read any schema's own
    django_migrations."""
    with CaptureQueriesContext(connection) as captured:
        behind = schemas_behind(schemas(cast))
    return behind, [q["sql"] for q in captured if ".django_migrations" in q["sql"]]


def test_schemas_found_complete_are_not_read_again(cast: Cast) -> None:
    forget_migration_state()
    behind, read = schema_tables_read(cast)
    assert behind == [] and read
    behind, read = schema_tables_read(cast)
    assert behind == [] and read == []
    recorded = set(SchemaMigrationState.objects.values_list("schema_name", "complete_for"))
    assert recorded >= {(schema, fingerprint(migrations_on_disk())) for schema in schemas(cast)}


def test_a_new_migration_on_disk_has_every_schema_read_again(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert schemas_behind(schemas(cast)) == []
    on_disk = migrations_on_disk() | {("audit", "9999_not_applied_anywhere")}
    monkeypatch.setattr("tenants.migrating.migrations_on_disk", lambda: on_disk)
    behind, read = schema_tables_read(cast)
    assert behind == schemas(cast) and read


def test_a_schema_migrate_brings_up_to_date_is_recorded(cast: Cast) -> None:
    forget_audit(cast.org_a.schema_name)
    call_command("migrate", interactive=False, verbosity=0)
    current = fingerprint(migrations_on_disk())
    assert SchemaMigrationState.objects.get(schema_name=cast.org_a.schema_name).complete_for == (
        current
    )
    behind, read = schema_tables_read(cast)
    assert behind == [] and read == []


def test_any_other_migrate_forgets_what_was_recorded(cast: Cast) -> None:
    assert schemas_behind(schemas(cast)) == []
    call_command("migrate", "audit", interactive=False, verbosity=0, fake=True)
    assert not SchemaMigrationState.objects.filter(schema_name=cast.org_a.schema_name).exists()


def test_a_restore_forgets_what_was_recorded(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    assert schemas_behind(schemas(cast)) == []
    monkeypatch.setattr("tenants.backups._run", lambda command, database=None: None)
    dump = tmp_path / "some.dump"  # type: ignore[operator]
    dump.write_bytes(b"")
    restore(dump)
    assert not SchemaMigrationState.objects.exists()
