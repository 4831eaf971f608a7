"""The outbox (tenants/outbox.py) on real rows in PostgreSQL: a claim is won once, a stale
claim is taken again and a fresh one is not, a failed send waits with its error and goes on
the next run, a row is marked done once; and each kind of row keeps its own stale setting."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.delivering import record
from alerts.emails import Message
from alerts.models import AlertDelivery, DeliveryKind, DeliveryState
from alerts.sending import DELIVERIES, email_delivery
from billing.models import WebhookEvent, WebhookState
from billing.webhooks import EVENTS
from dashboards.models import DeliveryMethod, ReportDelivery, ReportDeliveryState
from dashboards.reports import delivering as report_delivering
from tenants.messages import OUTBOX as MESSAGES
from tenants.messages import enqueue_email
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import Cast
from tests.outbox_mail import sent_mail
from tests.reports.test_scheduled_reports import RUN, schedule_for

pytestmark = pytest.mark.django_db


def waiting_delivery(key: str = "instant:0:outbox-probe:jo@alpha.example") -> AlertDelivery:
    record(
        kind=DeliveryKind.INSTANT,
        key=key,
        recipient="jo@alpha.example",
        reason="probe",
        message=Message(subject="Outbox probe", body="A story needs you.", html=""),
    )
    return AlertDelivery.objects.get(key=key)


def claimed_ago(delivery: AlertDelivery, seconds: int) -> None:
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_claim_is_won_once_and_a_second_claim_loses(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        delivery = waiting_delivery()
        assert DELIVERIES.claim(delivery.pk)
        assert not DELIVERIES.claim(delivery.pk)
        delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENDING and delivery.claimed_at is not None


@override_settings(ALERT_STALE_CLAIM_SECONDS=600)
def test_a_stale_claim_is_claimed_again_and_a_fresh_one_is_not(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        delivery = waiting_delivery()
        assert DELIVERIES.claim(delivery.pk)
        claimed_ago(delivery, 540)  # its worker may still be sending
        assert not DELIVERIES.claim(delivery.pk)
        assert not DELIVERIES.deliver(delivery.pk, email_delivery)
        claimed_ago(delivery, 660)  # its worker died
        assert DELIVERIES.claim(delivery.pk)
        delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENDING
    assert delivery.claimed_at > timezone.now() - timedelta(seconds=60)
    assert mail.outbox == []


def test_a_task_out_of_time_releases_the_row_and_stops(cast: Cast) -> None:
    """Celery's soft time limit, raised mid-send: the row goes back for the next run, and
    the task stops there instead of starting another send before the hard kill."""
    from celery.exceptions import SoftTimeLimitExceeded

    def out_of_time(delivery: AlertDelivery) -> None:
        raise SoftTimeLimitExceeded()

    with tenant_context(cast.org_a):
        delivery = waiting_delivery()
        with pytest.raises(SoftTimeLimitExceeded):
            DELIVERIES.deliver(delivery.pk, out_of_time)
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING
        assert DELIVERIES.deliver(delivery.pk, email_delivery)


def test_a_failed_send_is_released_with_its_error_and_sent_on_the_next_run(
    cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    def mail_server_down(delivery: AlertDelivery) -> None:
        raise OSError("550 relay refused for jo@alpha.example")

    with tenant_context(cast.org_a):
        delivery = waiting_delivery()
        with caplog.at_level(logging.WARNING, logger="tenants.outbox"):
            assert not DELIVERIES.deliver(delivery.pk, mail_server_down)
        delivery.refresh_from_db()
        assert (delivery.state, delivery.error) == (
            DeliveryState.PENDING,
            "550 relay refused for jo@alpha.example",
        )
        assert delivery.sent_at is None
        assert DELIVERIES.deliver(delivery.pk, email_delivery)
        delivery.refresh_from_db()
    assert (delivery.state, delivery.error) == (DeliveryState.SENT, "")
    assert delivery.sent_at is not None
    # Written to the outbox of outgoing email, which sends it.
    assert [m.subject for m in sent_mail()] == ["Outbox probe"]
    # The log names the row and the kind of failure; the reply, with its address, stays
    # on the row.
    assert f"alert delivery {delivery.pk} not sent (OSError)" in caplog.text
    assert "jo@alpha.example" not in caplog.text


def test_a_row_is_marked_done_once_and_never_sent_again(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        delivery = waiting_delivery()
        assert not DELIVERIES.mark_done(delivery.pk)  # not claimed
        assert DELIVERIES.claim(delivery.pk)
        assert DELIVERIES.mark_done(delivery.pk, sent_at=timezone.now())
        assert not DELIVERIES.mark_done(delivery.pk, sent_at=timezone.now())
        assert not DELIVERIES.release(delivery.pk, "too late")
        claimed_ago(delivery, 24 * 60 * 60)  # a done row never goes stale
        assert not DELIVERIES.deliver(delivery.pk, email_delivery)
        delivery.refresh_from_db()
    assert (delivery.state, delivery.error) == (DeliveryState.SENT, "")
    assert mail.outbox == []


def test_each_claim_of_a_webhook_event_counts_an_attempt_and_a_lost_claim_does_not(
    cast: Cast,
) -> None:
    with schema_context("public"):
        event = WebhookEvent.objects.create(
            stripe_event_id="evt_outbox_probe", type="invoice.paid", payload={}
        )
        assert EVENTS.claim(event.pk)
        assert not EVENTS.claim(event.pk)
        WebhookEvent.objects.filter(pk=event.pk).update(state=WebhookState.FAILED)
        assert EVENTS.claim(event.pk)
        event.refresh_from_db()
    assert (event.state, event.attempts) == (WebhookState.PROCESSING, 2)


def test_an_outgoing_email_is_claimed_once_released_and_taken_again_when_stale(
    cast: Cast,
) -> None:
    with schema_context("public"):
        message = enqueue_email(
            kind="test.probe",
            key="outbox-probe:1",
            recipient="x@alpha.example",
            subject="Probe",
            text_body="A probe.",
        )
        assert MESSAGES.claim(message.pk)
        assert not MESSAGES.claim(message.pk)
        assert MESSAGES.release(message.pk, "mail server down")
        message.refresh_from_db()
        assert (message.state, message.last_error) == (
            OutboxMessageState.WAITING,
            "mail server down",
        )
        assert MESSAGES.claim(message.pk)
        # A worker that claimed it and died: taken again once the claim is stale, not before.
        OutboxMessage.objects.filter(pk=message.pk).update(
            claimed_at=timezone.now() - timedelta(minutes=5)
        )
        with override_settings(OUTBOX_STALE_CLAIM_SECONDS=3600):
            assert not MESSAGES.claim(message.pk)
        with override_settings(OUTBOX_STALE_CLAIM_SECONDS=60):
            assert MESSAGES.claim(message.pk)
        assert MESSAGES.mark_done(message.pk, sent_at=timezone.now())
        with override_settings(OUTBOX_STALE_CLAIM_SECONDS=0):
            assert not MESSAGES.claim(message.pk)  # sent: never again
        message.refresh_from_db()
        assert message.state == OutboxMessageState.SENT


def test_report_deliveries_go_stale_after_their_own_setting_not_the_alerts(
    cast: Cast,
) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email], method=DeliveryMethod.LINK)
        report_delivering.record_due(RUN)
        delivery = ReportDelivery.objects.get()
        assert report_delivering.claim(delivery.pk)
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            claimed_at=timezone.now() - timedelta(minutes=10)
        )
        with override_settings(REPORT_STALE_CLAIM_SECONDS=3600, ALERT_STALE_CLAIM_SECONDS=60):
            assert report_delivering.send_pending() == 0
        with override_settings(REPORT_STALE_CLAIM_SECONDS=60, ALERT_STALE_CLAIM_SECONDS=3600):
            assert report_delivering.send_pending() == 1
        delivery.refresh_from_db()
    assert delivery.state == ReportDeliveryState.SENT
    assert len(sent_mail()) == 1
