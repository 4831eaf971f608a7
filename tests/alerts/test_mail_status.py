"""An organisation's own pages say what became of the emails it handed to the outbox: an
alert's or a scheduled report's "sent" is "handed over", and the outbox may have sent it,
be trying again, or have parked it for platform staff. Only the organisation's own messages,
only their state: never the mail server's reply."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from alerts.models import AlertDelivery, DeliveryState
from alerts.sending import outbox_key as alert_key
from dashboards.models import DeliveryMethod, ReportDelivery, ReportDeliveryState
from dashboards.reports.delivering import outbox_key as report_key
from tenants.messages import enqueue_email
from tenants.models import Organisation, OutboxMessage, OutboxMessageState
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

REPLY = "550 mailbox unavailable for someone@example.org"


def _alert(organisation: Organisation, email: str) -> str:
    """An alert handed to the outbox; its outbox key."""
    with tenant_context(organisation):
        delivery = AlertDelivery.objects.create(
            key=f"instant:0:probe:{email}",
            kind="instant",
            recipient=email,
            reason="Probe rule",
            subject="Probe: a new story",
            body="A new story.",
            state=DeliveryState.SENT,
            sent_at=timezone.now(),
        )
        key = alert_key(delivery)
        enqueue_email(
            kind="alerts.instant",
            key=key,
            recipient=email,
            subject=delivery.subject,
            text_body=delivery.body,
            organisation=organisation,
        )
    return key


def _report(organisation: Organisation, email: str) -> str:
    with tenant_context(organisation):
        delivery = ReportDelivery.objects.create(
            key=f"probe:{email}",
            report_name="Probe summary",
            period_start=date(2026, 10, 1),
            period_end=date(2026, 10, 31),
            recipient=email,
            method=DeliveryMethod.LINK,
            state=ReportDeliveryState.SENT,
            sent_at=timezone.now(),
        )
        key = report_key(delivery)
        enqueue_email(
            kind="reports.scheduled_report",
            key=key,
            recipient=email,
            subject="Report: Probe summary",
            text_body="Your report.",
            organisation=organisation,
        )
    return key


def _state(key: str, state: str, attempts: int) -> None:
    OutboxMessage.objects.filter(key=key).update(
        state=state,
        attempts=attempts,
        last_error=REPLY,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        sent_at=timezone.now() if state == OutboxMessageState.SENT else None,
    )


@pytest.mark.parametrize(
    ("make", "path"), [(_alert, "/alerts/sent/"), (_report, "/reports/outbox/")]
)
def test_the_page_says_what_the_outbox_did(
    cast: Cast, admin_a_client: Client, admin_b_client: Client, make, path: str
) -> None:  # noqa: ANN001
    key = make(cast.org_a, cast.admin_a.email)
    # B has a delivery of its own with (very likely) the same id: its key is its own.
    other = make(cast.org_b, cast.admin_b.email)
    assert key != other

    assert "Being sent" in admin_a_client.get(path).content.decode()

    _state(key, OutboxMessageState.WAITING, 2)
    page = admin_a_client.get(path).content.decode()
    assert "Mail server refused it 2 times; trying again" in page

    _state(key, OutboxMessageState.PARKED, 8)
    page = admin_a_client.get(path).content.decode()
    assert "Not delivered: the mail server refused it 8 times" in page
    # The mail server's reply, which may quote an address, stays with platform staff.
    assert "550 mailbox" not in page
    # B's page shows its own message, untouched by A's.
    theirs = admin_b_client.get(path).content.decode()
    assert "Not delivered" not in theirs and "Being sent" in theirs

    _state(key, OutboxMessageState.SENT, 9)
    page = admin_a_client.get(path).content.decode()
    assert "Not delivered" not in page and "Sent " in page


def test_the_status_reads_only_the_organisations_own_messages(cast: Cast) -> None:
    from tenants.mail_status import mail_statuses

    key = _alert(cast.org_a, cast.admin_a.email)
    _state(key, OutboxMessageState.PARKED, 8)
    assert mail_statuses(cast.org_a, [key])[key].parked
    # Asked by another organisation, even with A's key: nothing.
    assert mail_statuses(cast.org_b, [key]) == {}
    assert connection.schema_name == "public"
