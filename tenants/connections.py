"""Ending database connections that have served many workspaces.

A PostgreSQL backend keeps what it has looked up of every table it has touched (catalogue
entries, relation descriptors, cached plans) for as long as it lives. With a schema per
organisation, a long-lived connection that serves requests for many organisations keeps all
of theirs: `benchmarks/tenant_scale.py` measured a backend that had read one page's tables
in each of 10,000 workspaces at over a gigabyte. CONN_MAX_AGE bounds a connection's life in
time; this bounds it in workspaces: at the end of a request or a Celery task, a connection
that has had cursors in more than TENANT_SCHEMAS_PER_CONNECTION schemas is closed, and the
next query opens a fresh one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections

DEFAULT_SCHEMAS_PER_CONNECTION = 100


def schemas_per_connection() -> int:
    return int(getattr(settings, "TENANT_SCHEMAS_PER_CONNECTION", DEFAULT_SCHEMAS_PER_CONNECTION))


class RemembersSchemas:
    """For the database wrapper: the schemas this connection has had cursors in, since it
    connected (django-tenants sets `schema_name` before each cursor)."""

    schemas_used: set[str]

    def connect(self) -> None:
        self.schemas_used = set()
        super().connect()  # type: ignore[misc]

    def _cursor(self, name: Any = None) -> Any:
        cursor = super()._cursor(name)  # type: ignore[misc]
        # After: a cursor on a closed connection connects first, which starts a new set.
        schema = getattr(self, "schema_name", None)
        if schema:
            self.__dict__.setdefault("schemas_used", set()).add(schema)
        return cursor


def end_widely_used_connections(**_: object) -> None:
    """Close each connection that has served more schemas than allowed, unless it is in
    the middle of a transaction (connected to request_finished and task_postrun)."""
    limit = schemas_per_connection()
    for connection in connections.all(initialized_only=True):
        used = getattr(connection, "schemas_used", ())
        if len(used) > limit and not connection.in_atomic_block:
            connection.close()
