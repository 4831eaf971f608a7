"""`migrate` skips schemas already up to date, and still migrates one that is behind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tenants.migrating import is_plain_migrate, schemas_behind
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def schemas(cast: Cast) -> list[str]:
    return [cast.org_a.schema_name, cast.org_b.schema_name, settings.TENANT_BASE_SCHEMA]


def forget_audit(schema: str) -> None:
    """Put a schema one app behind: its audit table and their records gone."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = 'audit'")
        cursor.execute(f'DROP TABLE "{schema}".audit_auditevent')


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
