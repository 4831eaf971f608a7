"""Backups: the public schema and one organisation, or everything, dumped with pg_dump and
restored into a fresh database, where the data is intact."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from feedback.models import Story
from tenants.accounts.models import User
from tenants.models import Organisation
from tests.conftest import Cast


def _conninfo(database: str) -> dict[str, object]:
    db = settings.DATABASES["default"]
    info = {"dbname": database, "user": db.get("USER") or None, "host": db.get("HOST") or None}
    if db.get("PORT"):
        info["port"] = db["PORT"]
    if db.get("PASSWORD"):
        info["password"] = db["PASSWORD"]
    return {k: v for k, v in info.items() if v is not None}


@pytest.fixture
def fresh_database(committed_db: None) -> Iterator[str]:
    name = f"carevoice_restore_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(database: str, sql: str) -> list[tuple]:
    with psycopg.connect(**_conninfo(database)) as db, db.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def expected(cast: Cast) -> tuple[set[str], int, int]:
    organisations = set(Organisation.objects.values_list("slug", flat=True))
    with tenant_context(cast.org_a):
        return organisations, User.objects.count(), Story.objects.count()


def test_the_public_schema_and_one_organisation_restore_intact(
    cast: Cast, fresh_database: str, tmp_path: Path
) -> None:
    slugs, users, stories = expected(cast)
    call_command("backup", "--public", "--organisation", cast.org_a.slug, "--output", tmp_path)
    dumps = sorted(tmp_path.glob("*.dump"))
    public = next(p for p in dumps if "-public-" in p.name)
    tenant = next(p for p in dumps if f"-{cast.org_a.slug}-" in p.name)
    assert oct(public.stat().st_mode)[-3:] == "600"

    call_command("restore", str(public), str(tenant), "--database", fresh_database)

    restored = {row[0] for row in query(fresh_database, "SELECT slug FROM tenants_organisation")}
    assert restored == slugs
    schema = cast.org_a.schema_name
    emails = {r[0] for r in query(fresh_database, f"SELECT email FROM {schema}.accounts_user")}
    assert cast.admin_a.email in emails and len(emails) == users
    (count,) = query(fresh_database, f"SELECT count(*) FROM {schema}.feedback_story")[0]
    assert count == stories
    # Only the organisation asked for: B's schema is not in the restored database.
    assert not query(
        fresh_database,
        f"SELECT 1 FROM pg_namespace WHERE nspname = '{cast.org_b.schema_name}'",
    )


def test_everything_restores_intact(cast: Cast, fresh_database: str, tmp_path: Path) -> None:
    call_command("backup", "--all", "--output", tmp_path)
    (dump,) = tmp_path.glob("*.dump")
    call_command("restore", str(dump), "--database", fresh_database)
    for organisation in (cast.org_a, cast.org_b):
        rows = query(fresh_database, f"SELECT email FROM {organisation.schema_name}.accounts_user")
        assert rows
    assert query(fresh_database, "SELECT count(*) FROM tenant_template.feedback_tag")[0][0] > 0


def test_bad_requests_are_refused_clearly(cast: Cast, committed_db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Say what to dump"):
        call_command("backup", "--output", tmp_path)
    with pytest.raises(CommandError, match="no-such-org"):
        call_command("backup", "--organisation", "no-such-org", "--output", tmp_path)
    with pytest.raises(CommandError, match="no dump"):
        call_command("restore", str(tmp_path / "missing.dump"))
