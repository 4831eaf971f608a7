"""Provisioning ends the database connection that made the workspace, once committed: a
backend that has made many schemas keeps a cached plan for each one's foreign keys, and
every later table it creates looks through them all (tenants/provisioning.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context

from tenants.accounts.models import User
from tenants.models import Organisation
from tenants.provisioning import provision_organisation

SLUG = "connection-check"


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def provision() -> Organisation:
    return provision_organisation(
        name="Connection Check",
        slug=SLUG,
        kind="hospice",
        admin_email="first@connection-check.example",
        admin_name="First Admin",
    ).organisation


@pytest.fixture
def cleaned_up(committed_db: None) -> Iterator[None]:
    yield
    with schema_context("public"):
        for organisation in Organisation.objects.filter(slug=SLUG):
            organisation.delete(force_drop=True)


def test_provisioning_ends_its_connection_and_the_next_query_opens_a_working_one(
    cleaned_up: None,
) -> None:
    before = backend_pid()
    organisation = provision()
    assert connection.connection is None
    assert backend_pid() != before
    with tenant_context(organisation):
        assert User.objects.get().email == "first@connection-check.example"


def test_inside_a_callers_transaction_the_connection_is_ended_only_after_the_commit(
    cleaned_up: None,
) -> None:
    with transaction.atomic():
        before = backend_pid()
        organisation = provision()
        assert backend_pid() == before
    assert connection.connection is None
    with tenant_context(organisation):
        assert User.objects.count() == 1


def test_a_rolled_back_provisioning_keeps_the_connection(cleaned_up: None) -> None:
    before = backend_pid()
    with pytest.raises(RuntimeError), transaction.atomic():
        provision()
        raise RuntimeError("the caller changed its mind")
    assert backend_pid() == before
    with schema_context("public"):
        assert not Organisation.objects.filter(slug=SLUG).exists()
