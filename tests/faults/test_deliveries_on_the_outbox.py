"""Fault: the SMTP server refuses an alert's or a scheduled report's email.

Alert and report deliveries hand their email to the outbox of outgoing email
(tenants/messages.py), keyed by the organisation's schema and the delivery, so a refusing
mail server is met as every other email meets it. A real SMTP server (aiosmtpd, on
127.0.0.1; test_smtp_refusing.py) answers 451 while refusing. Shown:
- the delivery is marked sent (handed over) at once; its email waits, each try counted and
  each wait longer, and after OUTBOX_MAX_ATTEMPTS it is parked, listed on the platform's
  outbox page with its kind, its organisation and a masked address; platform staff's
  "Retry now" sends it once (a report's PDF arriving byte for byte);
- a delivery handed over twice (run again, or claimed again after its worker died between
  writing the email and marking the delivery) writes one outgoing email and sends one copy;
- organisation A's parked alert shows nowhere in organisation B's workspace.
"""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from alerts import sending
from alerts.delivering import send_pending
from alerts.evaluation import evaluate_story
from alerts.models import AlertDelivery, DeliveryState
from dashboards.models import ReportDelivery, ReportDeliveryState
from dashboards.reports import delivering as report_delivering
from tenants import tasks as tenant_tasks
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import masked_address, send_due_messages, send_message
from tenants.models import OutboxMessage, OutboxMessageState
from tests.alerts.test_alerts import publish
from tests.conftest import PASSWORD, Cast, client_for, pass_second_factor, sign_in
from tests.faults.test_smtp_refusing import MailServer, Servers, free_port
from tests.outbox_mail import sent_mail_to
from tests.reports.test_scheduled_reports import RUN, schedule_for

pytestmark = pytest.mark.django_db

TITLE = "Nobody answered the call bell"


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A real SMTP server on 127.0.0.1, refusing until told otherwise, and Django's SMTP
    backend sending to it."""
    port = free_port()
    servers = Servers(port)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=10,
    ):
        server = servers.start(MailServer())
        try:
            yield server
        finally:
            for controller in servers.started:
                controller.stop()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The outgoing emails queued for a worker, from the mail queue or (an alert's) the
    alerts queue; the test runs the task's body itself."""
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    monkeypatch.setattr(tenant_tasks.send_alert_outbox_message, "delay", sent.append)
    return sent


def let_the_wait_pass(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def refuse_until_parked(message: OutboxMessage, server: MailServer, address: str) -> None:
    """Tries as the worker and the sweeper make them, each refused: each counted, each wait
    longer than the last, then parked after OUTBOX_MAX_ATTEMPTS (3 here)."""
    waits = []
    for attempt in (1, 2, 3):
        let_the_wait_pass(message)
        before = timezone.now()
        assert not send_message(message.pk)
        row = OutboxMessage.objects.get(pk=message.pk)
        assert row.attempts == attempt and "451" in row.last_error
        assert address not in row.last_error
        assert server.refusals_of(address) == attempt and server.copies_to(address) == []
        if attempt < 3:
            assert row.state == OutboxMessageState.WAITING
            waits.append(row.next_attempt_at - before)
            # Not due yet: the sweeper does not try it early.
            send_due_messages()
            assert server.refusals_of(address) == attempt
    assert waits[0] >= timedelta(seconds=60) and waits[1] > waits[0]
    parked = OutboxMessage.objects.get(pk=message.pk)
    assert parked.state == OutboxMessageState.PARKED
    # Parked, nothing sends it, even once due.
    let_the_wait_pass(message)
    send_due_messages()
    assert server.refusals_of(address) == 3


def platform_staff() -> Client:
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    hub = client_for(None)
    hub.force_login(operator)
    pass_second_factor(hub, operator.email)
    return hub


def retry_on_the_platform_page(
    hub: Client, message: OutboxMessage, capture: Any, queued: list[int]
) -> None:
    with capture(execute=True):
        response = hub.post(
            "/admin/tenants/outboxmessage/",
            {"action": "retry_now", "_selected_action": [message.pk]},
            follow=True,
        )
    assert "1 message retried" in response.content.decode()
    assert queued[-1] == message.pk
    assert AuditEvent.objects.filter(
        action="outbox.message_retried", target_id=str(message.pk)
    ).exists()


def alert_to_admin_a(cast: Cast) -> tuple[AlertDelivery, OutboxMessage]:
    """A severely critical story published at A: the default rule alerts A's administrator."""
    story = publish(cast, title=TITLE)
    with tenant_context(cast.org_a):
        assert evaluate_story(story.pk) >= 1
        delivery = AlertDelivery.objects.get(story=story, recipient=cast.admin_a.email)
        key = sending.outbox_key(delivery)
    assert key == f"alert:{cast.org_a.schema_name}:{delivery.pk}"
    return delivery, OutboxMessage.objects.get(key=key)


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
def test_an_alert_refused_is_retried_with_backoff_parked_and_sent_once_on_retry(
    cast: Cast,
    mail_server: MailServer,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    address = cast.admin_a.email
    delivery, message = alert_to_admin_a(cast)
    # Handed to the outbox: the delivery says sent, the email waits for its worker.
    assert delivery.state == DeliveryState.SENT and delivery.sent_at is not None
    assert message.kind == "alerts.instant" and message.organisation_id == cast.org_a.pk
    assert message.state == OutboxMessageState.WAITING

    refuse_until_parked(message, mail_server, address)

    # Platform staff see it on the hub's outbox page: its kind, organisation, the reply and a
    # masked address; never the address, the subject or the story.
    hub = platform_staff()
    html = hub.get("/admin/tenants/outboxmessage/?state__exact=parked").content.decode()
    assert "alerts.instant" in html and cast.org_a.name in html and "451" in html
    assert masked_address(address) in html
    assert address not in html and TITLE not in html

    mail_server.refusing = False
    retry_on_the_platform_page(hub, message, django_capture_on_commit_callbacks, queued)
    assert tenant_tasks.send_outbox_message(message.pk)
    assert not tenant_tasks.send_outbox_message(message.pk)  # the task, redelivered
    send_due_messages()
    (copy,) = mail_server.copies_to(address)
    received = email.message_from_bytes(copy, policy=email.policy.default)
    assert TITLE in received["Subject"] and cast.org_a.name in received["Subject"]
    assert "/alerts/unsubscribe/" in received.get_body(("plain",)).get_content()
    assert received.get_body(("html",)) is not None  # the HTML part too
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert sent.state == OutboxMessageState.SENT and sent.attempts == 4 and sent.recipient == ""


def stored_attachments(message: OutboxMessage) -> list[dict[str, str]]:
    return json.loads(OutboxMessage.objects.get(pk=message.pk).attachments)


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
def test_a_report_refused_is_parked_and_on_retry_its_pdf_arrives_intact(
    cast: Cast,
    mail_server: MailServer,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    address = cast.admin_a.email
    with tenant_context(cast.org_a):
        schedule_for(cast, [address])
        assert report_delivering.deliver_due(RUN) == 1
        delivery = ReportDelivery.objects.get()
        key = report_delivering.outbox_key(delivery)
    assert delivery.state == ReportDeliveryState.SENT
    message = OutboxMessage.objects.get(key=key)
    assert message.kind == "reports.scheduled_report"
    assert message.organisation_id == cast.org_a.pk
    # The PDF is kept, encrypted with the rest, as base64.
    (stored,) = stored_attachments(message)
    assert stored["encoding"] == "base64" and stored["mimetype"] == "application/pdf"
    pdf = base64.b64decode(stored["content"])
    assert pdf.startswith(b"%PDF")

    refuse_until_parked(message, mail_server, address)
    hub = platform_staff()
    html = hub.get("/admin/tenants/outboxmessage/?state__exact=parked").content.decode()
    assert "reports.scheduled_report" in html and cast.org_a.name in html
    assert address not in html

    mail_server.refusing = False
    retry_on_the_platform_page(hub, message, django_capture_on_commit_callbacks, queued)
    assert tenant_tasks.send_outbox_message(message.pk)
    (copy,) = mail_server.copies_to(address)
    received = email.message_from_bytes(copy, policy=email.policy.default)
    assert received["Subject"] == "Report: Board pack"
    (attachment,) = received.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == stored["filename"]
    assert attachment.get_content() == pdf  # byte for byte
    assert "Board pack" in PdfReader(io.BytesIO(attachment.get_content())).pages[0].extract_text()
    # Sent, the row keeps nothing of it.
    assert OutboxMessage.objects.get(pk=message.pk).attachments == ""


def test_an_alert_handed_over_twice_or_after_a_crash_is_one_email(cast: Cast) -> None:
    delivery, message = alert_to_admin_a(cast)
    with tenant_context(cast.org_a):
        # Run again: nothing is waiting, nothing is written.
        assert not sending.send_delivery(delivery.pk)
        assert send_pending() == 0
        # A worker that wrote the email and died before marking the delivery: the delivery
        # is still claimed, and once the claim is stale it is handed over again.
        AlertDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
        )
        assert send_pending() == 1
        assert AlertDelivery.objects.get(pk=delivery.pk).state == DeliveryState.SENT
        keys = [sending.outbox_key(d) for d in AlertDelivery.objects.filter(pk=delivery.pk)]
    assert list(OutboxMessage.objects.filter(key__in=keys).values_list("pk", flat=True)) == [
        message.pk
    ]
    assert [m.subject for m in sent_mail_to(cast.admin_a.email) if TITLE in m.subject] == [
        f"[{cast.org_a.name}] New story: {TITLE}"
    ]
    # And a worker that dies after the email was sent, its delivery claimed again: no
    # second email either.
    with tenant_context(cast.org_a):
        AlertDelivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
        )
        assert send_pending() == 1
    assert len([m for m in sent_mail_to(cast.admin_a.email) if TITLE in m.subject]) == 1


def test_a_report_handed_over_twice_or_after_a_crash_is_one_email(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email])
        report_delivering.record_due(RUN)
        delivery = ReportDelivery.objects.get()
        # The worker claims it and writes the email, then dies before marking it.
        assert report_delivering.claim(delivery.pk)
        report_delivering.email_delivery(
            ReportDelivery.objects.select_related("schedule__report").get(pk=delivery.pk)
        )
        assert report_delivering.send_pending() == 0  # its claim is not stale yet
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            claimed_at=timezone.now() - timedelta(hours=1)
        )
        assert report_delivering.send_pending() == 1
        assert report_delivering.deliver_due(RUN) == 0
        assert ReportDelivery.objects.get(pk=delivery.pk).state == ReportDeliveryState.SENT
        key = report_delivering.outbox_key(delivery)
    assert OutboxMessage.objects.filter(key=key).count() == 1
    (sent,) = sent_mail_to(cast.admin_a.email)
    assert sent.subject == "Report: Board pack" and len(sent.attachments) == 1


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=1)
def test_a_parked_alert_of_a_shows_nowhere_in_bs_workspace(
    cast: Cast, mail_server: MailServer, queued: list[int]
) -> None:
    delivery, message = alert_to_admin_a(cast)
    assert not send_message(message.pk)
    message.refresh_from_db()
    assert message.state == OutboxMessageState.PARKED
    # The row is A's: the platform page names A, and B is named by none of A's emails.
    assert message.organisation_id == cast.org_a.pk
    assert not OutboxMessage.objects.filter(
        organisation=cast.org_b, key__startswith="alert:"
    ).exists()
    assert message.key.startswith(f"alert:{cast.org_a.schema_name}:")

    b_admin = client_for(cast.org_b)
    assert sign_in(b_admin, cast.admin_b.email).status_code == 302
    for path in ("/alerts/sent/", "/reports/outbox/", "/"):
        page = b_admin.get(path, follow=True)
        assert page.status_code == 200, path
        html = page.content.decode()
        assert TITLE not in html and cast.admin_a.email not in html, path
    # A's delivery by its id on B's domain, and the platform's outbox page on B's domain.
    assert b_admin.get(f"/alerts/sent/{delivery.pk}/").status_code == 404
    platform_page = b_admin.get("/admin/tenants/outboxmessage/")
    assert platform_page.status_code in (302, 403, 404)
    assert masked_address(cast.admin_a.email) not in platform_page.content.decode()
    with tenant_context(cast.org_b):
        assert not AlertDelivery.objects.filter(subject__contains=TITLE).exists()
