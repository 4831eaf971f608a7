"""What many organisations cost PostgreSQL beyond their rows, for benchmarks/tenant_scale.py:
the catalogue's size, a backend's memory once it has served many workspaces, and how long
backups and restores take.

Each organisation is a schema with 45 tables and their indexes, sequences and TOAST tables
(about 280 relations), so at 10,000 organisations the system catalogue holds millions
of rows, and every backend caches what it has looked up in it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection
from psycopg import sql

from tenants import backups
from tenants.models import Organisation

# Tables a workspace page reads (the inbox: the signed-in user, stories, their services and
# tags, responses; alert rules for the menu), where the template has them.
TOUCHED = (
    "accounts_user",
    "feedback_story",
    "feedback_service",
    "feedback_story_services",
    "feedback_tag",
    "feedback_story_tags",
    "feedback_response",
    "alerts_alertrule",
)


@dataclass(frozen=True)
class Catalogue:
    relations: int
    attributes: int
    catalogue_bytes: int
    database_bytes: int


def catalogue() -> Catalogue:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT (SELECT count(*) FROM pg_class),
                   (SELECT count(*) FROM pg_attribute),
                   (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
                      JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'pg_catalog' AND c.relkind IN ('r', 'm')),
                   pg_database_size(current_database())
            """
        )
        relations, attributes, catalogue_bytes, database_bytes = cursor.fetchone()
    return Catalogue(int(relations), int(attributes), int(catalogue_bytes), int(database_bytes))


def _connect(database: str | None = None) -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname=database or db["NAME"],
        autocommit=True,
    )


def _private_kilobytes(pid: int) -> int | None:
    """A process's private resident memory (RssAnon), when it runs on this machine."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass(frozen=True)
class BackendMemory:
    schemas: int
    contexts_bytes: int  # PostgreSQL's own account of the backend's memory
    private_kilobytes: int | None  # what the operating system says it holds privately


def backend_memory(schemas: list[str], steps: tuple[int, ...]) -> list[BackendMemory]:
    """A fresh backend's memory, then again after it has read the TOUCHED tables of the
    first n `schemas`, for each n in `steps`: what a long-lived connection serving many
    workspaces grows to."""
    found: list[BackendMemory] = []
    with _connect() as raw, raw.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [settings.TENANT_BASE_SCHEMA],
        )
        present = {name for (name,) in cursor.fetchall()}
        tables = [table for table in TOUCHED if table in present]

        def measure(count: int) -> None:
            cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
            (total,) = cursor.fetchone()
            found.append(BackendMemory(count, int(total), _private_kilobytes(pid)))

        measure(0)
        done = 0
        for step in steps:
            for schema in schemas[done:step]:
                cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                for table in tables:
                    cursor.execute(
                        sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.Identifier(table))
                    )
                    cursor.fetchall()
            done = min(step, len(schemas))
            measure(done)
    return found


@dataclass(frozen=True)
class Timed:
    seconds: float
    size_bytes: int
    note: str = ""


def _directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def physical_backup_and_restore(work: Path, run_as: str | None) -> tuple[Timed, Timed]:
    """pg_basebackup of the whole server (every database, as files, with the WAL to make it
    consistent), then a restore: a PostgreSQL server started on the copy, timed until it
    answers how many organisations there are. `run_as` is the system user the copy's
    server runs as (PostgreSQL refuses to run as root)."""
    db = settings.DATABASES["default"]
    copy = work / "basebackup"
    environment = {**os.environ, "PGHOST": db.get("HOST") or "", "PGUSER": db.get("USER") or ""}
    if db.get("PORT"):
        environment["PGPORT"] = str(db["PORT"])
    began = time.perf_counter()
    subprocess.run(
        [backups.tool("pg_basebackup"), "-D", str(copy), "-X", "stream", "-c", "fast"],
        env=environment,
        check=True,
        capture_output=True,
    )
    backup = Timed(time.perf_counter() - began, _directory_bytes(copy))

    sockets = Path(tempfile.mkdtemp(prefix="cv-restore-"))
    prefix = ["runuser", "-u", run_as, "--"] if run_as else []
    if run_as:
        work.chmod(0o711)  # the server's user must reach the copy in here
        shutil.chown(sockets, user=run_as)
        subprocess.run(["chown", "-R", run_as, str(copy)], check=True)
    (copy / "postgresql.auto.conf").write_text("")  # the original's own settings stay behind
    options = f"-c listen_addresses='' -k {sockets} -p 5499 -c max_locks_per_transaction=10000"
    began = time.perf_counter()
    subprocess.run(
        [
            *prefix,
            backups.tool("pg_ctl"),
            "-D",
            str(copy),
            "-o",
            options,
            "-w",
            "-t",
            "600",
            "-l",
            str(sockets / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        with psycopg.connect(
            host=str(sockets), port=5499, user=db.get("USER") or None, dbname=db["NAME"]
        ) as restored:
            (count,) = restored.execute(
                sql.SQL("SELECT count(*) FROM {}").format(
                    sql.Identifier(Organisation._meta.db_table)
                )
            ).fetchone()
        restore = Timed(time.perf_counter() - began, 0, f"{count:,} organisations answered")
    finally:
        subprocess.run(
            [*prefix, backups.tool("pg_ctl"), "-D", str(copy), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return backup, restore


def one_organisation_backup_and_restore(
    organisation: Organisation, work: Path
) -> tuple[Timed, Timed]:
    """`manage.py backup --public --organisation <slug>` (tenants/backups.py), then both
    dumps restored into an empty database: how one organisation is got back."""
    began = time.perf_counter()
    dumps = [backups.dump_public(work), backups.dump_organisation(organisation, work)]
    dumped = Timed(time.perf_counter() - began, sum(d.path.stat().st_size for d in dumps))
    database = f"carevoice_restore_{secrets.token_hex(4)}"
    with _connect() as raw:
        raw.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    try:
        began = time.perf_counter()
        for dump in dumps:
            backups.restore(dump.path, database=database)
        restored = Timed(time.perf_counter() - began, 0)
    finally:
        with _connect() as raw:
            raw.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )
        for dump in dumps:
            dump.path.unlink(missing_ok=True)
    return dumped, restored


def whole_logical_dump(work: Path, timeout: float) -> Timed:
    """`manage.py backup --all`: one pg_dump of everything. It locks every table it dumps in
    one transaction, so the server needs max_locks_per_transaction x max_connections above
    the number of tables (PostgreSQL says "out of shared memory" otherwise)."""
    path = work / "everything.dump"
    began = time.perf_counter()
    try:
        result = subprocess.run(
            [backups.tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path)],
            env=backups._environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Timed(time.perf_counter() - began, 0, f"stopped: not finished in {timeout:.0f} s")
    seconds = time.perf_counter() - began
    size = path.stat().st_size if path.exists() else 0
    path.unlink(missing_ok=True)
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        return Timed(seconds, size, f"failed: {last}")
    return Timed(seconds, size)
