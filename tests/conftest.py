"""The named cast every suite reuses, built through the product's own operations.

Organisations A and B are provisioned once per session (cloned schemas, committed); each
test then runs inside a transaction that is rolled back. Their first accounts get the
same ids in both schemas, which is what the isolation suite relies on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from tenants.accounts.models import Role, User
from tenants.models import Organisation
from tenants.provisioning import provision_organisation

PASSWORD = "correct-horse-battery-9"


@dataclass(frozen=True)
class Cast:
    org_a: Organisation
    org_b: Organisation
    admin_a: User
    responder_a: User
    member_a: User
    admin_b: User
    responder_b: User
    moderator: User


def _provision(slug: str, name: str) -> tuple[Organisation, User]:
    result = provision_organisation(
        name=name,
        slug=slug,
        kind="acute trust",
        admin_email=f"admin@{slug}.example",
        admin_name=f"Admin of {name}",
        admin_password=PASSWORD,
    )
    return result.organisation, result.admin


def _staff(organisation: Organisation, local: str, name: str, role: Role) -> User:
    with tenant_context(organisation):
        return User.objects.create_user(
            f"{local}@{organisation.slug}.example", PASSWORD, full_name=name, role=role
        )


@pytest.fixture(scope="session")
def cast(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Cast:
    with django_db_blocker.unblock(), schema_context(settings.PUBLIC_SCHEMA_NAME):
        org_a, admin_a = _provision("alpha", "Alpha Hospitals NHS Trust")
        org_b, admin_b = _provision("beta", "Beta Hospitals NHS Trust")
        responder_a = _staff(org_a, "responder", "Rita Responder", Role.RESPONDER)
        member_a = _staff(org_a, "member", "Mo Member", Role.MEMBER)
        responder_b = _staff(org_b, "responder", "Bea Responder", Role.RESPONDER)
        moderator = User.objects.create_user(
            "moderator@carevoice.example", PASSWORD, full_name="Morgan Moderator", is_staff=True
        )
    return Cast(org_a, org_b, admin_a, responder_a, member_a, admin_b, responder_b, moderator)


@pytest.fixture(autouse=True)
def _public_schema_and_fresh_cache() -> Iterator[None]:
    """Each test starts in the public schema with empty caches (rate limits, routing)."""
    from django.core.cache import cache

    from tenants.routing import forget_routes

    connection.set_schema_to_public()
    cache.clear()
    forget_routes()
    yield
    connection.set_schema_to_public()


def host_of(organisation: Organisation) -> str:
    return f"{organisation.slug}.{settings.BASE_DOMAIN}"


def client_for(organisation: Organisation | None, **kwargs: object) -> Client:
    host = host_of(organisation) if organisation else settings.BASE_DOMAIN
    return Client(HTTP_HOST=host, **kwargs)


def sign_in(client: Client, email: str, password: str = PASSWORD) -> object:
    return client.post("/accounts/login/", {"username": email, "password": password})


@pytest.fixture
def admin_a_client(cast: Cast, db: None) -> Client:
    client = client_for(cast.org_a)
    response = sign_in(client, cast.admin_a.email)
    assert response.status_code == 302, "the cast's admin could not sign in"
    return client


@pytest.fixture
def admin_b_client(cast: Cast, db: None) -> Client:
    client = client_for(cast.org_b)
    response = sign_in(client, cast.admin_b.email)
    assert response.status_code == 302
    return client


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup: None, django_db_blocker: pytest.FixtureRequest):
    """A real Celery worker, consuming from the real broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with (
        django_db_blocker.unblock(),
        start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=20
        ) as worker,
    ):
        yield worker


@pytest.fixture
def committed_db(django_db_blocker: pytest.FixtureRequest, cast: Cast) -> Iterator[None]:
    """Database access without a wrapping transaction, for work another thread must see.

    Tests using it clean up what they create.
    """
    with django_db_blocker.unblock():
        yield
