"""The broker is down when work is queued after a commit: the request still answers (2xx or
3xx), the work is committed, and that kind of work's sweeper queues it once the broker is
back (tenants/queueing.py `queue_after_commit`).

The broker really is unreachable: this process's Celery app points at a socket nobody
listens on, so kombu retries its publish and then raises OperationalError, as with Redis
stopped. Nothing here wraps a test transaction (`committed_db`): the commit, and so the
failed send, happens inside the request, as in production. Each test removes what it made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from celery.app.task import Task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing.models import Subscription
from billing.subscriptions import apply_stripe_subscription, ensure_subscription
from config.celery import app
from dashboards.models import LongReport, LongReportState
from dashboards.reports import long_reports
from dashboards.reports import tasks as report_tasks
from onboarding import tasks as onboarding_tasks
from onboarding.models import ImportState, ServiceImport
from onboarding.signup import wizard
from onboarding.signup.models import Signup, Step
from tenants.models import Organisation
from tenants.provisioning import provision_organisation
from tenants.queueing import queue_after_commit
from tests.conftest import PASSWORD, Cast, client_for, sign_in
from tests.faults.rows import forgetting_new_rows
from tests.onboarding.test_service_import import HEADER, counts, upload
from tests.signup.test_signup import hub, through_to_payment

# --- the broker, down and back ---------------------------------------------------------------


@contextmanager
def broker_down(folder: Path) -> Iterator[None]:
    """Every task this process sends, while inside, goes to a broker that is not there."""
    dead = f"redis+socket://{folder}/stopped-broker.sock"
    pools = app._pool, app.amqp._producer_pool
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.conf, "broker_url", dead)
        patch.setattr(app.conf, "broker_write_url", dead)
        # Celery keeps its connection pools; new ones are made for the dead address.
        app._pool = app.amqp._producer_pool = None
        try:
            yield
        finally:
            dead_pool = app._pool
            app._pool, app.amqp._producer_pool = pools
            if dead_pool is not None:
                dead_pool.force_close_all()


@contextmanager
def queued_tasks() -> Iterator[list[tuple[str, tuple, str]]]:
    """The tasks sent while inside, as (name, args, schema), kept from the broker: no worker
    runs in these tests, and a stray message would reach another test's worker."""
    sent: list[tuple[str, tuple, str]] = []

    def record(task: Task, args: tuple | None = None, kwargs: dict | None = None, **_: object):  # noqa: ANN202
        sent.append((task.name, tuple(args or ()), connection.schema_name))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Task, "apply_async", record)
        yield sent


# --- tidying up committed rows ---------------------------------------------------------------


def sign_out(client: Client, schema: str) -> None:
    with schema_context(schema):
        Session.objects.filter(session_key=client.session.session_key).delete()


def warnings_in(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# --- the helper ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_task_queued_after_commit_is_sent_in_the_schema_that_asked(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    from onboarding.tasks import run_service_import

    with queued_tasks() as sent, django_capture_on_commit_callbacks(execute=True):
        with tenant_context(cast.org_a):
            queue_after_commit(run_service_import, 7, what="a service import")
        assert sent == []  # not before the commit
    # The commit ran in the public schema; the task still goes to A's.
    assert sent == [("onboarding.run_service_import", (7,), cast.org_a.schema_name)]


# --- each place that queues after a commit -----------------------------------------------------


def test_a_long_report_asked_for_while_the_broker_is_down_is_queued_by_the_sweeper(
    cast: Cast, committed_db: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = client_for(cast.org_a)
    today = timezone.localdate()
    start, end = (today - timedelta(days=364)).isoformat(), today.isoformat()
    schema = cast.org_a.schema_name
    began = timezone.now()
    with forgetting_new_rows([schema]), override_settings(MEDIA_ROOT=tmp_path):
        assert sign_in(client, cast.member_a.email).status_code == 302
        try:
            with broker_down(tmp_path), caplog.at_level(logging.WARNING):
                asked = client.post(
                    "/reports/pdf/", {"kind": "summary", "start": start, "end": end}
                )
            assert asked.status_code == 302, asked.content[:500]
            token = asked["Location"].rstrip("/").rsplit("/", 1)[1]
            warned = warnings_in(caplog)
            assert "could not queue reports.build_long_pdf for a long report's build" in warned
            assert token not in warned
            # Committed, waiting for a worker; the person's page says so.
            with tenant_context(cast.org_a):
                report = LongReport.objects.get(token=token)
                assert report.state == LongReportState.QUEUED
            status = client.get(f"/reports/pdf/{token}/status/").json()
            assert status["state"] == "queued" and not status["finished"]

            with tenant_context(cast.org_a), queued_tasks() as sent:
                report_tasks.sweep_long_reports()
                assert sent == []  # not yet: its message may only be late
                LongReport.objects.filter(pk=report.pk).update(
                    updated_at=timezone.now() - long_reports.QUEUED_TOO_LONG * 2
                )
                report_tasks.sweep_long_reports()
                report_tasks.sweep_long_reports()  # sent once per QUEUED_TOO_LONG
            assert sent == [
                ("reports.build_long_pdf", (token, "summary", start, end, None), schema)
            ]

            # The worker builds it; a second message (the first was only late) changes nothing.
            with tenant_context(cast.org_a):
                report_tasks.build_long_pdf(*sent[0][1])
                made = long_reports.file_path(token)
                first = made.stat().st_mtime_ns
                report_tasks.build_long_pdf(*sent[0][1])
                assert made.stat().st_mtime_ns == first
                assert LongReport.objects.get(pk=report.pk).state == LongReportState.DONE
            assert client.get(f"/reports/pdf/{token}/status/").json()["state"] == "done"
            with tenant_context(cast.org_a), queued_tasks() as sent_again:
                LongReport.objects.filter(pk=report.pk).update(
                    updated_at=timezone.now() - long_reports.QUEUED_TOO_LONG * 2
                )
                report_tasks.sweep_long_reports()
            assert sent_again == []
        finally:
            with tenant_context(cast.org_a):
                LongReport.objects.filter(created_at__gte=began).delete()
            sign_out(client, schema)


def large_file(rows: int) -> str:
    text = HEADER + "Delta General,DG1,Delta General Hospital,DGH,hospital,\n"
    return text + "".join(f"Delta General,DG1,Ward {n},DW{n},ward,DGH\n" for n in range(rows - 1))


@contextmanager
def own_organisation() -> Iterator[Organisation]:
    """An organisation of the test's own (committed), dropped with its schema afterwards."""
    with forgetting_new_rows([]):
        organisation = provision_organisation(
            name="Delta Import Trust",
            slug="delta-import",
            kind="acute trust",
            admin_email="admin@delta-import.example",
            admin_name="Dee Admin",
            admin_password=PASSWORD,
        ).organisation
        try:
            yield organisation
        finally:
            organisation.delete(force_drop=True)


def test_a_large_import_sent_while_the_broker_is_down_is_queued_by_the_sweeper(
    committed_db: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with own_organisation() as organisation:
        import_sent_while_the_broker_is_down(organisation, tmp_path, caplog)


def import_sent_while_the_broker_is_down(
    fresh_organisation: Organisation, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = 250
    client = client_for(fresh_organisation)
    assert sign_in(client, "admin@delta-import.example").status_code == 302
    with broker_down(tmp_path), caplog.at_level(logging.WARNING):
        sent = upload(client, large_file(rows), "delta.csv")
    assert sent.status_code == 302, sent.content[:500]
    warned = warnings_in(caplog)
    assert "could not queue onboarding.run_service_import for a service import" in warned
    assert "delta.csv" not in warned
    with tenant_context(fresh_organisation):
        record = ServiceImport.objects.get()
        assert record.state == ImportState.QUEUED and record.total_rows == rows
    assert client.get(sent["Location"]).status_code == 200

    with tenant_context(fresh_organisation), queued_tasks() as queued:
        assert onboarding_tasks.sweep_imports() == 0  # not yet: its message may be on its way
        ServiceImport.objects.filter(pk=record.pk).update(
            created_at=timezone.now() - timedelta(minutes=6)
        )
        assert onboarding_tasks.sweep_imports() == 1
    assert queued == [
        ("onboarding.run_service_import", (record.pk,), fresh_organisation.schema_name)
    ]
    with tenant_context(fresh_organisation):
        assert onboarding_tasks.run_service_import(record.pk) == "done"
        assert onboarding_tasks.run_service_import(record.pk) == "not claimed"  # redelivered
    assert counts(fresh_organisation) == (1, rows, rows)


def pay(signup: Signup) -> None:
    """The sign-up's subscription made live in billing, as Stripe's webhook (or the card
    page's return) makes it: a payload shaped like Stripe's, through billing's own operation.
    Billing then tells the wizard (`subscription_changed`), which queues provisioning."""
    ensure_subscription(
        reference=signup.reference,
        name=signup.organisation_name,
        email=signup.admin_email,
        organisation=None,
    )
    slug = signup.slug
    with transaction.atomic(), schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = Subscription.objects.select_for_update().get(reference=signup.reference)
        subscription = {"id": f"sub_{slug}", "customer": f"cus_{slug}", "status": "active"}
        apply_stripe_subscription(row, subscription, source="test")


def sends_of(signup: Signup, sent: list[tuple[str, tuple, str]]) -> list[tuple]:
    """The sends for this sign-up (the sweeper looks at every sign-up in the database)."""
    return [send for send in sent if send[1] == (signup.pk,)]


def forget_signup(signup: Signup) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        Subscription.objects.filter(reference=signup.reference).delete()
        Signup.objects.filter(pk=signup.pk).delete()


def test_a_sign_up_paid_while_the_broker_is_down_is_provisioned_by_the_sweeper(
    cast: Cast, committed_db: None, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = hub()
    with forgetting_new_rows([]):
        signup = through_to_payment(
            client, organisation_name="Broker Down Hospice", slug="broker-down-hospice"
        )
        try:
            with broker_down(tmp_path), caplog.at_level(logging.WARNING):
                pay(signup)
                # The payer, back from paying: the page moves on (the payment was noted).
                back = client.get("/signup/paid/")
            assert back.status_code == 302 and back["Location"] == "/signup/progress/"
            warned = warnings_in(caplog)
            assert "could not queue signup.provision for a sign-up's provisioning" in warned
            assert signup.admin_email not in warned
            signup.refresh_from_db()
            assert signup.step == Step.PROVISIONING and signup.paid_at is not None
            status = client.get("/signup/status/").json()
            assert status["step"] == "provisioning" and status["error"] == ""

            with queued_tasks() as queued:
                wizard.sweep_signups()
                assert sends_of(signup, queued) == []  # not yet: its message may be late
                Signup.objects.filter(pk=signup.pk).update(
                    updated_at=timezone.now() - wizard.STUCK_PROVISIONING * 2
                )
                wizard.sweep_signups()
            assert sends_of(signup, queued) == [("signup.provision", (signup.pk,), "public")]
        finally:
            forget_signup(signup)
            sign_out(client, settings.PUBLIC_SCHEMA_NAME)
