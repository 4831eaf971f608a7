"""`migrate` works a migration out in one schema and replays its SQL in the others.

tenants/batch_migrating.py: the replayed schemas end up exactly like the one migrated the
ordinary way; a schema that fails is rolled back alone and reported while the rest go on;
Python in a tenant app's migration sends the plan the per-schema way, and says so.
"""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django.test import override_settings
from psycopg import sql

from tenants.batch_migrating import (
    migrate_in_batches,
    replay,
    why_not_replayed,
)
from tenants.migrating import forget_migration_state
from tenants.models import SchemaMigrationState
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def forget(schema: str, app: str, table: str) -> None:
    """Put a schema one app behind: the app's table and its records gone."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM \"{schema}\".django_migrations WHERE app = '{app}'")
        cursor.execute(f'DROP TABLE "{schema}"."{table}" CASCADE')
    forget_migration_state([schema])


def shape(schema: str, table: str) -> tuple[list[tuple], list[str]]:
    """A table's columns and index definitions, with the schema's name taken out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            [schema, table],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s "
            "ORDER BY indexname",
            [schema, table],
        )
        indexes = [row[0].replace(f"{schema}.", "SCHEMA.") for row in cursor.fetchall()]
    return columns, indexes


def recorded(schema: str, app: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM \"{schema}\".django_migrations WHERE app = '{app}'")
        return {row[0] for row in cursor.fetchall()}


def migrate_schema(schema: str) -> None:
    call_command("migrate", schema_name=schema, interactive=False, verbosity=0)


def test_replayed_schemas_match_the_one_migrated_the_ordinary_way(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = cast.org_a.schema_name, cast.org_b.schema_name
    before = shape(a, "audit_auditevent")
    for schema in (a, b):
        forget(schema, "audit", "audit_auditevent")
    on_disk = {name for app, name in MigrationLoader(None).graph.nodes if app == "audit"}

    outcome = migrate_in_batches([a, b], migrate_schema, database="default")

    assert outcome.replayed == [b]
    assert outcome.failed == {}
    assert shape(b, "audit_auditevent") == shape(a, "audit_auditevent") == before
    assert before[0] and before[1]  # columns and indexes were compared, not two empties
    assert recorded(b, "audit") == recorded(a, "audit") == on_disk
    assert "replayed in 1 schema(s)" in capsys.readouterr().out


def test_the_migrate_command_batches_every_schema_that_is_behind(cast: Cast) -> None:
    a, b = cast.org_a.schema_name, cast.org_b.schema_name
    for schema in (a, b):
        forget(schema, "audit", "audit_auditevent")
    call_command("migrate", interactive=False, verbosity=0)
    assert shape(a, "audit_auditevent") == shape(b, "audit_auditevent")
    assert recorded(a, "audit") == recorded(b, "audit") != set()


def test_a_schema_that_fails_is_reported_and_the_rest_are_migrated(cast: Cast) -> None:
    a, b = cast.org_a.schema_name, cast.org_b.schema_name
    template = settings.TENANT_BASE_SCHEMA
    for schema in (a, b, template):
        forget(schema, "audit", "audit_auditevent")
    with connection.cursor() as cursor:  # something in b's way
        cursor.execute(f'CREATE TABLE "{b}".audit_auditevent (id int)')

    outcome = migrate_in_batches([a, b, template], migrate_schema, database="default")

    assert set(outcome.failed) == {b}
    assert "audit_auditevent" in outcome.failed[b]
    assert outcome.replayed == [template]
    assert recorded(b, "audit") == set()  # rolled back: still behind, so migrate retries it
    assert shape(template, "audit_auditevent") == shape(a, "audit_auditevent")


def test_the_command_says_which_schema_failed_after_migrating_the_rest(cast: Cast) -> None:
    a, b = cast.org_a.schema_name, cast.org_b.schema_name
    for schema in (a, b):
        forget(schema, "audit", "audit_auditevent")
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE "{b}".audit_auditevent (id int)')
    with pytest.raises(CommandError, match=b):
        call_command("migrate", interactive=False, verbosity=0)
    assert recorded(a, "audit") != set()
    assert recorded(b, "audit") == set()
    # The next migrate skips the migrated schema and reads the failed one again.
    states = set(SchemaMigrationState.objects.values_list("schema_name", flat=True))
    assert a in states and b not in states


def test_python_in_a_tenant_migration_goes_one_schema_at_a_time(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = cast.org_a.schema_name, cast.org_b.schema_name
    with connection.cursor() as cursor:
        for schema in (a, b):
            cursor.execute(
                f'DELETE FROM "{schema}".django_migrations '
                "WHERE app = 'alerts' AND name LIKE '0002%%'"
            )
    calls: list[str] = []
    outcome = migrate_in_batches([a, b], calls.append, database="default")
    assert calls == []
    assert outcome.left == [a, b]
    assert "runs Python (RunPython)" in outcome.notes[0]
    assert "alerts.0002_default_targets" in outcome.notes[0]


def test_a_shared_app_python_migration_does_not_stop_batching() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    hub_python = loader.graph.nodes[("hub", "0005_submission_findings")]
    assert any(isinstance(op, RunPython) for op in hub_python.operations)
    # The hub is not a tenant app: its Python never runs in an organisation's schema.
    assert why_not_replayed([hub_python]) is None
    tenant_python = loader.graph.nodes[("alerts", "0002_default_targets")]
    assert why_not_replayed([hub_python, tenant_python]) is not None


@pytest.fixture
def committed_schemas() -> list[str]:
    """Schemas made and dropped outside the test's transaction, so other connections see them."""
    names = [f"batch_replay_{n}" for n in range(7)]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params, autocommit=True) as raw:
        for name in names:
            raw.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            raw.execute(
                sql.SQL(
                    "CREATE TABLE {0}.django_migrations (id serial PRIMARY KEY, app text, "
                    "name text, applied timestamptz); CREATE TABLE {0}.item (id int)"
                ).format(sql.Identifier(name))
            )
        # In the way in one of them: the column the migration adds is already there.
        raw.execute('ALTER TABLE "batch_replay_4".item ADD COLUMN colour text')
    yield names
    with psycopg.connect(**params, autocommit=True) as raw:
        for name in names:
            raw.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


class FakeMigration:
    app_label = "catalogue"
    name = "0002_item_colour"


@override_settings(TENANT_MIGRATION_BATCH_SIZE=3, TENANT_MIGRATION_CONNECTIONS=2)
def test_batches_over_several_connections_commit_each_schema_but_the_failed_one(
    committed_schemas: list[str],
) -> None:
    statements = [
        ("ALTER TABLE item ADD COLUMN colour text", None),
        ("CREATE INDEX item_colour ON item (colour)", None),
    ]
    failed = replay(
        committed_schemas, statements, [FakeMigration()], database="default", parallel=True
    )
    assert set(failed) == {"batch_replay_4"}
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as raw:
        for name in committed_schemas:
            index = raw.execute(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = "
                "'item_colour'",
                [name],
            ).fetchone()[0]
            records = raw.execute(
                sql.SQL("SELECT app, name FROM {}.django_migrations").format(sql.Identifier(name))
            ).fetchall()
            if name == "batch_replay_4":
                assert (index, records) == (0, [])
            else:
                assert (index, records) == (1, [("catalogue", "0002_item_colour")])
