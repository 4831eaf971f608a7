"""Celery tasks sent in one organisation's context run in that organisation's schema only.

These tests commit their rows (a worker thread must see them) and clean up after themselves,
so they do not run inside the usual rolled-back transaction.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenants.models import Organisation
from tenants.tasks import clear_expired_sessions, dispatch_clear_expired_sessions
from tests.conftest import Cast, wait_until


def _expired_session(marker: str) -> str:
    store = SessionStore()
    store["marker"] = marker
    store.create()
    Session.objects.filter(session_key=store.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    return store.session_key


def test_a_task_sent_in_a_context_runs_in_a_schema_on_a_real_worker(
    cast: Cast, committed_db: None, celery_worker_thread: object
) -> None:
    marker = uuid.uuid4().hex
    with tenant_context(cast.org_a):
        key_a = _expired_session(marker)
    with tenant_context(cast.org_b):
        key_b = _expired_session(marker)
    try:
        with tenant_context(cast.org_a):
            result = clear_expired_sessions.delay()
        # Results are not stored; wait for the effect the worker had.
        wait_until(lambda: not _session_exists(cast.org_a, key_a))
        assert _session_exists(cast.org_b, key_b), "the task touched organisation B"
        assert result.id
    finally:
        for org, key in ((cast.org_a, key_a), (cast.org_b, key_b)):
            with tenant_context(org):
                Session.objects.filter(session_key=key).delete()


def _session_exists(organisation: Organisation, key: str) -> bool:
    with tenant_context(organisation):
        return Session.objects.filter(session_key=key).exists()


def test_the_dispatcher_queues_each_ready_organisation_in_its_own_schema(
    cast: Cast, committed_db: None, celery_worker_thread: object, settings: object
) -> None:
    settings.TENANT_TASK_SPREAD_SECONDS = 0
    marker = uuid.uuid4().hex
    keys = {}
    for org in (cast.org_a, cast.org_b):
        with tenant_context(org):
            keys[org.slug] = _expired_session(marker)
    with schema_context("public"):
        keys["public"] = _expired_session(marker)
    try:
        queued = dispatch_clear_expired_sessions.run()
        assert queued >= 3
        wait_until(lambda: not _session_exists(cast.org_a, keys["alpha"]))
        wait_until(lambda: not _session_exists(cast.org_b, keys["beta"]))
        with schema_context("public"):
            wait_until(lambda: not Session.objects.filter(session_key=keys["public"]).exists())
    finally:
        for org in (cast.org_a, cast.org_b):
            with tenant_context(org):
                Session.objects.filter(session_key=keys[org.slug]).delete()
        with schema_context("public"):
            Session.objects.filter(session_key=keys["public"]).delete()
