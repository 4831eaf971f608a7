"""A database connection that has served many schemas is closed at the end of the request
or task that used it (tenants/connections.py): a PostgreSQL backend keeps what it looked up
of every table it touched, a gigabyte after 10,000 workspaces."""

from __future__ import annotations

import pytest
from celery import current_app
from celery.signals import task_postrun
from django.core.signals import request_finished
from django.db import connection, transaction
from django.test import override_settings
from django_tenants.utils import schema_context, tenant_context

from feedback.models import Story
from tests.conftest import Cast


def read_in(*schemas: str) -> None:
    for schema in schemas:
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT 1")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@override_settings(TENANT_SCHEMAS_PER_CONNECTION=2)
def test_a_connection_that_served_more_schemas_than_allowed_is_closed_after_the_request(
    cast: Cast, committed_db: None
) -> None:
    connection.close()
    read_in("public", cast.org_a.schema_name)
    assert connection.schemas_used == {"public", cast.org_a.schema_name}
    before = backend_pid()
    request_finished.send(sender=None)
    assert backend_pid() == before  # two schemas: kept
    read_in(cast.org_b.schema_name)
    request_finished.send(sender=None)
    assert connection.connection is None
    with tenant_context(cast.org_b):  # the next query opens a fresh one, in the right schema
        assert Story.objects.count() >= 0
    assert backend_pid() != before
    assert connection.schemas_used <= {"public", cast.org_b.schema_name}


@override_settings(TENANT_SCHEMAS_PER_CONNECTION=1)
def test_the_same_after_a_celery_task(cast: Cast, committed_db: None) -> None:
    connection.close()
    read_in(cast.org_a.schema_name, cast.org_b.schema_name)
    task = current_app.tasks["tenants.clear_expired_sessions"]
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)
    assert connection.connection is None


@override_settings(TENANT_SCHEMAS_PER_CONNECTION=1)
def test_a_connection_in_a_transaction_is_left_open(cast: Cast, committed_db: None) -> None:
    connection.close()
    with transaction.atomic():
        read_in(cast.org_a.schema_name, cast.org_b.schema_name)
        request_finished.send(sender=None)
        assert connection.connection is not None


@pytest.mark.django_db
def test_a_new_connection_starts_counting_afresh(cast: Cast) -> None:
    read_in(cast.org_a.schema_name)
    assert cast.org_a.schema_name in connection.schemas_used
