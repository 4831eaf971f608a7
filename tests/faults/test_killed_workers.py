"""Fault: a worker is SIGKILLed in the middle of each kind of task. Another worker takes over,
and the work is done exactly once: nothing lost, nothing twice, and whoever waits is told
where things stand, never that something failed that is in fact being resumed.

Real workers in processes of their own (tests/faults/worker.py) on the real broker and
database, each test on its own queue; the product's own operations queue the work. The
first worker stops at a chosen point (in the mail backend, or at a named function:
tests/faults/paused_worker.py) and is killed there with SIGKILL; a replacement starts and
takes over through the product's own recovery: the task message the dead worker never
acknowledged comes back (acks_late), a claim older than the stale setting is taken again,
and the sweepers find what was left. Committed rows, deleted afterwards.

Kinds: an alert, an author email, a scheduled report, a sign-up's provisioning, a service
import (and an import cut short by its soft time limit), and a Stripe webhook event.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertDelivery, DeliveryState
from alerts.sending import outbox_key as alert_outbox_key
from billing import stripe_api
from billing.models import (
    Invoice,
    PlanPrice,
    Subscription,
    SubscriptionStatus,
    WebhookEvent,
    WebhookState,
)
from billing.plans import ESSENTIALS, Interval
from billing.subscriptions import ensure_subscription, refresh_from_stripe
from billing.sync import sync_plans
from billing.tasks import sweep_webhook_events
from dashboards.models import (
    DeliveryMethod,
    Frequency,
    ReportDelivery,
    ReportDeliveryState,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports.delivering import outbox_key as report_outbox_key
from dashboards.reports.tasks import deliver_reports
from feedback.hub.models import Submission
from feedback.models import Service, Story
from onboarding.models import ImportState, ServiceImport
from onboarding.signup import wizard
from onboarding.signup.models import Signup, Step
from onboarding.signup.tasks import sweep_signups
from onboarding.tasks import run_service_import, sweep_imports
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.models import Organisation, OutboxMessage, OutboxMessageState
from tenants.provisioning import provision_organisation
from tests.billing.conftest import GOOD_CARD, deliver, stripe_event
from tests.conftest import (
    AUTHOR_EMAIL,
    PASSWORD,
    Cast,
    client_for,
    forget_published_stories,
    sign_in,
    tell,
    tell_and_publish,
)
from tests.faults.mailbox import sent
from tests.faults.worker import Workers
from tests.onboarding.test_service_import import HEADER, counts, upload
from tests.signup.test_signup import hub, pay_by_local_card, through_to_payment


@pytest.fixture
def forget_stories(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    """Published stories (public ids) the test adds to, deleted afterwards everywhere."""
    public_ids: list[int] = []
    yield public_ids
    forget_published_stories([cast.org_a], public_ids)


# --- an alert ------------------------------------------------------------------------------------


def test_an_alert_whose_worker_is_killed_mid_send_reaches_each_recipient_once(
    cast: Cast, workers: Workers, new_rows_forgotten: None, forget_stories: list[int]
) -> None:
    title = "Killed alert worker probe"
    first = workers.start(mail_seconds=300)
    # Publishing queues the story's alerts (alerts/receivers.py), for this test's worker.
    published = tell_and_publish(
        cast, [cast.ward_a], criticality="severely critical", title=title, email=""
    )
    forget_stories.append(published.public_story.pk)
    workers.wait(workers.paused, "the alert to reach the mail backend")
    first.kill()

    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
        deliveries = list(AlertDelivery.objects.filter(story=story))
        # Each delivery was handed to the outbox (its email written, keyed by the delivery)
        # before the worker began sending: the email is what was cut short.
        assert deliveries and {d.state for d in deliveries} == {DeliveryState.SENT}
        keys = [alert_outbox_key(d) for d in deliveries]
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        emails = OutboxMessage.objects.filter(key__in=keys)
        assert emails.count() == len(deliveries)
        assert {m.organisation_id for m in emails} == {cast.org_a.pk}
        assert OutboxMessageState.SENDING in {m.state for m in emails}
    assert sent(workers.folder) == []

    workers.start()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        workers.wait(
            lambda: not emails.exclude(state=OutboxMessageState.SENT).exists(),
            "the replacement to send the alerts",
        )
        workers.settle()
        assert emails.count() == len(deliveries)
    wanted = Counter((d.recipient, d.subject) for d in deliveries)
    mails = Counter((m["To"], m["Subject"]) for m in sent(workers.folder))
    assert mails == wanted
    assert cast.admin_a.email in {to for to, _ in mails}  # the default rule's recipient
    assert all(title in subject for _, subject in mails)


# --- an author email -----------------------------------------------------------------------------


@pytest.fixture
def forget_submissions(committed_db: None) -> Iterator[list[int]]:
    ids: list[int] = []
    yield ids
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for submission in Submission.objects.filter(pk__in=ids):
            submission.services.clear()
            submission.delete()


def test_an_author_email_whose_worker_is_killed_mid_send_reaches_the_author_once(
    cast: Cast, workers: Workers, new_rows_forgotten: None, forget_submissions: list[int]
) -> None:
    first = workers.start(mail_seconds=300)
    # The story's arrival writes the author's receipt to the outbox and queues its send.
    submission_id = tell([cast.ward_a], title="Killed mail worker probe")
    forget_submissions.append(submission_id)
    workers.wait(workers.paused, "the receipt to reach the mail backend")
    first.kill()

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        message = OutboxMessage.objects.get(key=f"feedback.receipt:{submission_id}")
    assert message.state == OutboxMessageState.SENDING and message.attempts == 1
    assert sent(workers.folder) == []

    workers.start()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        workers.wait(
            lambda: OutboxMessage.objects.get(pk=message.pk).state == OutboxMessageState.SENT,
            "the replacement to send the receipt",
        )
        workers.settle()
        message.refresh_from_db()
    (mail,) = sent(workers.folder)
    assert mail["To"] == AUTHOR_EMAIL and mail["Subject"] == "We have received your story"
    assert "Killed mail worker probe" in mail.get_body(("plain",)).get_content()
    # Claimed by the dead worker and by its replacement; sent by the replacement alone.
    assert message.attempts == 2 and message.sent_at is not None


# --- a scheduled report --------------------------------------------------------------------------


@pytest.fixture
def due_report(cast: Cast, committed_db: None) -> Iterator[ReportSchedule]:
    """A monthly report for organisation A's administrator, due since long ago."""
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(name="Killed report worker probe", months=1)
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            method=DeliveryMethod.ATTACHMENT,
            recipients=[cast.admin_a.email],
            next_run_on=date(2000, 1, 1),
        )
    yield schedule
    with tenant_context(cast.org_a):
        ReportDelivery.objects.filter(schedule=schedule).delete()
        report.delete()


def test_a_report_whose_worker_is_killed_mid_send_is_delivered_once(
    cast: Cast, workers: Workers, new_rows_forgotten: None, due_report: ReportSchedule
) -> None:
    first = workers.start(mail_seconds=300)
    with tenant_context(cast.org_a):
        deliver_reports.delay()  # as the hourly dispatch sends it, in the organisation's schema
    workers.wait(workers.paused, "the report to reach the mail backend")
    first.kill()

    with tenant_context(cast.org_a):
        (delivery,) = ReportDelivery.objects.filter(schedule=due_report)
        key = report_outbox_key(delivery)
    # Handed to the outbox, PDF and all, before the worker began sending the email.
    assert delivery.state == ReportDeliveryState.SENT
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        message = OutboxMessage.objects.get(key=key)
    assert message.state == OutboxMessageState.SENDING and message.organisation_id == cast.org_a.pk
    assert sent(workers.folder) == []

    workers.start()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        workers.wait(
            lambda: OutboxMessage.objects.get(pk=message.pk).state == OutboxMessageState.SENT,
            "the replacement to send the report",
        )
        workers.settle()
        assert OutboxMessage.objects.filter(key=key).count() == 1
    with tenant_context(cast.org_a):
        assert ReportDelivery.objects.filter(schedule=due_report).count() == 1
    (mail,) = sent(workers.folder)
    assert mail["To"] == cast.admin_a.email
    assert mail["Subject"] == "Report: Killed report worker probe"
    (attachment,) = mail.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")


# --- a Stripe webhook event ----------------------------------------------------------------------


@contextmanager
def plans_in_stripe() -> Iterator[None]:
    """Our plans in the local Stripe server and their committed PlanPrice rows (deleted
    afterwards if there were none before)."""
    if not stripe_api.uses_local_server():
        pytest.skip("needs the local Stripe server (run with `make test`)")
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        had_plans = PlanPrice.objects.exists()
        sync_plans()
    try:
        yield
    finally:
        if not had_plans:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                PlanPrice.objects.all().delete()


@dataclass(frozen=True)
class Payer:
    row: Subscription
    subscription: dict[str, Any]


@pytest.fixture
def payer(committed_db: None) -> Iterator[Payer]:
    """A payer with no organisation yet (as a sign-up's), with a customer, a card and a
    running subscription in the local Stripe server; its row knows nothing of them yet."""
    with plans_in_stripe(), schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = ensure_subscription(
            reference=f"faults:{uuid.uuid4().hex[:12]}",
            name="Killed Worker Hospice",
            email="billing@killed-worker-hospice.example",
            organisation=None,
        )
        customer = stripe_api.create_customer(
            name=row.billing_name, email=row.billing_email, reference=row.reference
        )
        method = stripe_api.create_card_payment_method(
            number=GOOD_CARD, exp_month=12, exp_year=2031, cvc="123", name="Test"
        )
        stripe_api.attach_payment_method(method["id"], customer["id"])
        subscription = stripe_api.create_subscription(
            customer_id=customer["id"],
            plan_id=ESSENTIALS.stripe_plan_id(Interval.ANNUAL),
            reference=row.reference,
        )
        try:
            yield Payer(row, subscription)
        finally:
            WebhookEvent.objects.filter(payload__data__object__customer=customer["id"]).delete()
            Invoice.objects.filter(subscription=row).delete()
            row.delete()


def test_a_webhook_event_whose_worker_is_killed_mid_way_is_applied_once(
    workers: Workers, new_rows_forgotten: None, payer: Payer
) -> None:
    first = workers.start(pause_at="billing.webhooks:record_invoice")
    invoice = stripe_api.retrieve_invoice(payer.subscription["latest_invoice"])
    # Stripe delivers "invoice.paid" to the hub, which stores it and queues its processing.
    event = stripe_event("invoice.paid", invoice)
    assert deliver(event).status_code == 200
    # Killed inside processing's transaction, the subscription applied, the invoice not yet.
    workers.wait(workers.paused, "the event's processing to reach the invoice")
    first.kill()

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
        assert stored.state == WebhookState.PROCESSING and stored.attempts == 1
        assert Subscription.objects.get(pk=payer.row.pk).status == SubscriptionStatus.NONE
        assert not Invoice.objects.filter(subscription=payer.row).exists()

    workers.start()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        workers.wait(
            lambda: WebhookEvent.objects.get(pk=stored.pk).state == WebhookState.PROCESSED,
            "the replacement to process the event",
        )
        sweep_webhook_events.delay()  # as beat sends it: nothing is left to queue again
        workers.settle()
        stored.refresh_from_db()
        row = Subscription.objects.get(pk=payer.row.pk)
        changes = AuditEvent.objects.filter(action="billing.status_changed", target_id=str(row.pk))
        assert stored.state == WebhookState.PROCESSED and stored.attempts == 2
        assert row.status == SubscriptionStatus.ACTIVE and row.plan == ESSENTIALS.key
        assert [i.stripe_invoice_id for i in Invoice.objects.filter(subscription=row)] == [
            invoice["id"]
        ]
        assert [c.detail["to"] for c in changes] == [SubscriptionStatus.ACTIVE]


# --- a sign-up's provisioning --------------------------------------------------------------------

SIGNUP_SLUG = "killed-worker-hospice"


@pytest.fixture
def forget_signup(committed_db: None, workers: Workers) -> Iterator[None]:
    """The sign-up, its payer and its workspace, deleted afterwards (once the workers, which
    may still have the workspace's schema open, are stopped)."""
    with plans_in_stripe():
        try:
            yield
        finally:
            workers.close()
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                for signup in Signup.objects.filter(slug=SIGNUP_SLUG):
                    for row in Subscription.objects.filter(reference=signup.reference):
                        WebhookEvent.objects.filter(subscription=row).delete()
                        row.invoices.all().delete()
                        row.delete()
                    signup.delete()
                for organisation in Organisation.objects.filter(slug=SIGNUP_SLUG):
                    organisation.delete(force_drop=True)


def test_provisioning_whose_worker_is_killed_mid_way_ends_ready_with_one_workspace(
    cast: Cast, workers: Workers, new_rows_forgotten: None, forget_signup: None
) -> None:
    client = hub()
    signup = through_to_payment(client, organisation_name="Killed Worker Hospice", slug=SIGNUP_SLUG)
    pay_by_local_card(client)
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        # What Stripe's webhook would make known: the subscription is paid.
        row = Subscription.objects.select_for_update().get(reference=signup.reference)
        refresh_from_stripe(row, source="test")
    # Paid: provisioning is queued, for this test's worker.
    assert wizard.note_payment(signup)

    # Killed after the workspace committed, linked to the sign-up, while finishing.
    first = workers.start(pause_at="onboarding.signup.wizard:attach_organisation")
    workers.wait(workers.paused, "provisioning to reach the subscription's hand-over")
    first.kill()

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        (organisation,) = Organisation.objects.filter(slug=SIGNUP_SLUG)
        signup.refresh_from_db()
        assert signup.organisation == organisation
        assert Subscription.objects.get(reference=signup.reference).organisation is None
    # The payer, waiting on the progress page, sees the work under way: not failed.
    status = client.get("/signup/status/").json()
    assert status["step"] == Step.PROVISIONING and status["error"] == ""
    assert status["workspace"] is None and 0 < status["progress"] < 100

    # Minutes later, by the clock the sweeper reads, it queues the sign-up again; and the
    # dead worker's message comes back too. Both resume from the link.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        Signup.objects.filter(pk=signup.pk).update(
            updated_at=timezone.now() - wizard.STUCK_PROVISIONING * 2
        )
        sweep_signups.delay()  # as beat sends it
    workers.start()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        workers.wait(
            lambda: Signup.objects.get(pk=signup.pk).step == Step.READY,
            "the replacement to finish the sign-up",
        )
        workers.settle()
        signup.refresh_from_db()
        assert list(Organisation.objects.filter(slug=SIGNUP_SLUG)) == [organisation]
        assert signup.organisation == organisation and signup.progress == 100
        assert Subscription.objects.get(reference=signup.reference).organisation == organisation
        completed = AuditEvent.objects.filter(
            action="signup.completed", target_id=str(organisation.pk)
        )
        assert completed.count() == 1
    with tenant_context(organisation):
        assert [u.email for u in User.objects.all()] == [signup.admin_email]
        attached = AuditEvent.objects.filter(action="billing.organisation_attached")
        assert attached.count() == 1
    status = client.get("/signup/status/").json()
    assert status["step"] == Step.READY and status["error"] == ""
    assert status["workspace"].startswith(f"http://{SIGNUP_SLUG}.{settings.BASE_DOMAIN}")
    page = client.get("/signup/progress/").content.decode()
    assert "Go to your workspace" in page and "We could not set up" not in page


# --- a service import ----------------------------------------------------------------------------

IMPORT_SLUG = "killed-import-trust"
IMPORT_ADMIN = f"admin@{IMPORT_SLUG}.example"
# Over INLINE_MAX_ROWS (200): imported on a worker.
ROWS = 250


def large_file() -> str:
    """A hospital and ROWS - 1 wards inside it: more than a page imports at once."""
    text = HEADER + "Killed General,KG1,Killed General Hospital,KGH,hospital,\n"
    return text + "".join(f"Killed General,KG1,Ward {n},KW{n},ward,KGH\n" for n in range(ROWS - 1))


@dataclass(frozen=True)
class Importer:
    organisation: Organisation
    client: Client


@pytest.fixture
def importer(committed_db: None, workers: Workers) -> Iterator[Importer]:
    """A new organisation of its own and its administrator, signed in; dropped afterwards
    (once the workers, which may have its schema open, are stopped)."""
    organisation = provision_organisation(
        name="Killed Import Trust",
        slug=IMPORT_SLUG,
        kind="acute trust",
        admin_email=IMPORT_ADMIN,
        admin_name="Ida Importer",
        admin_password=PASSWORD,
    ).organisation
    try:
        client = client_for(organisation)
        assert sign_in(client, IMPORT_ADMIN).status_code == 302
        yield Importer(organisation, client)
    finally:
        workers.close()
        organisation.delete(force_drop=True)


def import_status(importer: Importer, record: ServiceImport) -> dict[str, Any]:
    """What the import page's progress bar reads."""
    return importer.client.get(f"/services/import/{record.pk}/status/").json()


def imported_once(importer: Importer, record: ServiceImport) -> None:
    """Every row of the file is a service exactly once, and the page says so."""
    with tenant_context(importer.organisation):
        record.refresh_from_db()
        codes = sorted(Service.objects.values_list("code", flat=True))
        imports = AuditEvent.objects.filter(action="services.imported")
        assert imports.count() == 1
    assert codes == sorted(["KGH", *(f"KW{n}" for n in range(ROWS - 1))])
    assert counts(importer.organisation) == (1, ROWS, ROWS)
    assert record.state == ImportState.DONE and record.services_created == ROWS
    page = importer.client.get(f"/services/import/{record.pk}/").content.decode()
    assert f"{ROWS} services added" in page and "Nothing was imported" not in page


def test_an_import_whose_worker_is_killed_mid_way_is_run_again_and_imports_each_service_once(
    workers: Workers, new_rows_forgotten: None, importer: Importer
) -> None:
    # Killed inside the import's one transaction, with 119 services written in it.
    first = workers.start(pause_at="onboarding.service_import:save_service", pause_on_call=120)
    assert upload(importer.client, large_file(), "wards.csv").status_code == 302
    with tenant_context(importer.organisation):
        record = ServiceImport.objects.get()
    workers.wait(workers.paused, "the import to reach its 120th service")
    status = import_status(importer, record)
    assert status["state"] == ImportState.RUNNING and 0 < status["done"] < ROWS
    first.kill()

    # Nothing of it was written; the page still says it is importing, not that it failed.
    assert counts(importer.organisation) == (0, 0, 0)
    status = import_status(importer, record)
    assert status["state"] == ImportState.RUNNING and status["finished"] is False

    workers.start()
    with tenant_context(importer.organisation):
        sweep_imports.delay()  # as the sweep's dispatch sends it, in the organisation's schema
        workers.wait(
            lambda: ServiceImport.objects.get(pk=record.pk).state == ImportState.DONE,
            "the replacement to run the import again",
        )
        workers.settle()
    imported_once(importer, record)


def test_an_import_cut_short_by_its_soft_time_limit_is_run_again_not_failed(
    workers: Workers, new_rows_forgotten: None, importer: Importer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prefork pool enforces time limits (the solo pool does not); the sender's limits
    travel with the message, so the import is sent with a soft limit of a few seconds, and
    its worker stops at the first service written until that limit strikes. As in
    production, the message is not delivered again while the task may still run (the
    visibility timeout outlasts the hard limit): only the sweeper runs it again."""
    monkeypatch.setattr(run_service_import, "soft_time_limit", 4)
    monkeypatch.setattr(run_service_import, "time_limit", 120)
    monkeypatch.setattr(run_service_import, "_exec_options", None)  # Celery's cache of them
    first = workers.start(
        pool="prefork",
        pause_at="onboarding.service_import:save_service",
        pause_on_call=1,
        CELERY_VISIBILITY_TIMEOUT="600",
    )
    assert upload(importer.client, large_file(), "wards.csv").status_code == 302
    with tenant_context(importer.organisation):
        record = ServiceImport.objects.get()
        workers.wait(
            lambda: ServiceImport.objects.filter(
                pk=record.pk, state=ImportState.QUEUED, claimed_at__isnull=False
            ).exists(),
            "the soft time limit to cut the import short",
        )
        record.refresh_from_db()
    # Rolled back, kept (its file too) to run again; the page says so, and not "failed".
    assert counts(importer.organisation) == (0, 0, 0)
    assert record.content and not record.errors and record.finished_at is None
    status = import_status(importer, record)
    assert status["state"] == ImportState.QUEUED and status["finished"] is False
    assert status["label"].startswith("Interrupted before it finished")
    page = importer.client.get(f"/services/import/{record.pk}/").content.decode()
    assert "it will start again by itself" in page and "Nothing was imported" not in page
    first.stop()

    workers.start()
    with tenant_context(importer.organisation):
        sweep_imports.delay()
        workers.wait(
            lambda: ServiceImport.objects.get(pk=record.pk).state == ImportState.DONE,
            "the sweeper to run the import again",
        )
        workers.settle()
    imported_once(importer, record)
