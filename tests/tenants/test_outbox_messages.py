"""Outgoing email through the outbox (tenants/messages.py): a key writes one row, a
rolled-back transaction sends nothing, a broker that is down loses nothing, a failed send
waits longer each time and is parked after the limit until platform staff retry it, a dead
worker's claim is sent once, two workers send once, and the row holds no plain text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections, transaction
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from tenants import messages
from tenants import tasks as tenant_tasks
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import enqueue_email, send_due_messages, send_message
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import PASSWORD, Cast, client_for, pass_second_factor

ADDRESS = "jo.private@example.org"
BODY = "Your story about the night ward was read by the ward manager."


def mine() -> list[mail.EmailMessage]:
    """What was sent to ADDRESS (rows other tests committed may be sent by a sweep too)."""
    return [message for message in mail.outbox if message.to == [ADDRESS]]


def write(key: str = "probe:1", **overrides: object) -> OutboxMessage:
    fields = {
        "kind": "test.probe",
        "key": key,
        "recipient": ADDRESS,
        "subject": "About your story",
        "text_body": BODY,
        "html_body": f"<p>{BODY}</p>",
    }
    fields.update(overrides)
    return enqueue_email(**fields)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids queued for sending (no worker runs them)."""
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    return sent


@pytest.fixture
def failing_mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """While the list holds True, every send fails with a reply naming the address."""
    failing = [True]
    real = messages._send

    def send(message: OutboxMessage) -> None:
        if failing[0]:
            raise OSError(f"550 mailbox {message.recipient} unavailable")
        real(message)

    monkeypatch.setattr(messages, "_send", send)
    yield failing


@pytest.mark.django_db
def test_the_same_key_twice_writes_one_row_and_queues_one_send(
    queued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = write()
        second = write(subject="Something else")
    assert OutboxMessage.objects.count() == 1 and first.pk == second.pk
    assert queued == [first.pk]
    assert send_message(first.pk)
    assert not send_message(first.pk)
    send_due_messages()
    assert len(mine()) == 1
    sent = mine()[0]
    assert sent.subject == "About your story" and sent.body == BODY
    assert sent.alternatives[0][0] == f"<p>{BODY}</p>"
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessageState.SENT and row.sent_at is not None and row.attempts == 1
    # Sent, it holds no personal data any more.
    assert (row.recipient, row.subject, row.text_body, row.html_body) == ("", "", "", "")


@pytest.mark.django_db
def test_a_rolled_back_transaction_writes_nothing_and_sends_nothing(
    queued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                write()
                raise RuntimeError("the event failed")
        except RuntimeError:
            pass
    assert callbacks == [] and queued == []
    assert not OutboxMessage.objects.filter(key="probe:1").exists()
    send_due_messages()
    assert mine() == []


@pytest.mark.django_db
def test_a_broker_that_is_down_raises_nothing_and_the_sweeper_sends(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    def broker_down(*args: object) -> None:
        raise ConnectionError("the broker is down")

    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        message = write()
    assert mine() == []
    assert tenant_tasks.send_due_outbox_messages() >= 1
    assert len(mine()) == 1
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxMessageState.SENT
    send_due_messages()
    assert len(mine()) == 1


@pytest.mark.django_db
@override_settings(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_SECONDS=60)
def test_a_failing_send_waits_longer_each_time_then_is_parked_and_retry_now_sends_it_once(
    cast: Cast,
    queued: list[int],
    failing_mail: list[bool],
    django_capture_on_commit_callbacks: object,
) -> None:
    message = write()
    waits = []
    for attempt in (1, 2):
        before = timezone.now()
        assert not send_message(message.pk)
        row = OutboxMessage.objects.get(pk=message.pk)
        assert row.state == OutboxMessageState.WAITING and row.attempts == attempt
        assert "550 mailbox" in row.last_error and ADDRESS not in row.last_error
        waits.append(row.next_attempt_at - before)
        # Not yet due: neither the sweeper nor a repeated task sends it early.
        send_due_messages()
        assert not send_message(message.pk)
        assert OutboxMessage.objects.get(pk=message.pk).attempts == attempt
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert timedelta(seconds=120) <= waits[0] < timedelta(seconds=125)
    assert timedelta(seconds=240) <= waits[1] < timedelta(seconds=245)

    assert not send_message(message.pk)
    row = OutboxMessage.objects.get(pk=message.pk)
    assert row.state == OutboxMessageState.PARKED and row.attempts == 3
    send_due_messages()
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxMessageState.PARKED
    assert mine() == []

    failing_mail[0] = False
    queued.clear()
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    admin = client_for(None)
    admin.force_login(operator)
    pass_second_factor(admin, operator.email)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/tenants/outboxmessage/",
            {"action": "retry_now", "_selected_action": [message.pk]},
            follow=True,
        )
    assert "1 message retried" in response.content.decode()
    assert queued == [message.pk]
    assert send_message(message.pk) and not send_message(message.pk)
    send_due_messages()
    assert len(mine()) == 1
    audit = AuditEvent.objects.get(action="outbox.message_retried")
    assert audit.target_id == str(message.pk) and audit.actor == operator
    assert ADDRESS not in audit.summary


@pytest.mark.django_db
@override_settings(OUTBOX_STALE_CLAIM_SECONDS=600)
def test_a_claim_whose_worker_died_is_sent_once_after_the_stale_time(queued: list[int]) -> None:
    message = write()
    assert messages.OUTBOX.claim(message.pk)  # the worker claims it, then dies
    send_due_messages()
    assert not send_message(message.pk) and mine() == []
    OutboxMessage.objects.filter(pk=message.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=601)
    )
    assert send_due_messages() >= 1
    send_due_messages()
    assert len(mine()) == 1
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 2


def test_two_workers_racing_send_once(committed_db: None, cast: Cast, queued: list[int]) -> None:
    with schema_context("public"):
        message = write(key="race:1")
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(send_message(message.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [False, True]
        assert len(mine()) == 1
    finally:
        with schema_context("public"):
            OutboxMessage.objects.filter(key="race:1").delete()


@pytest.mark.django_db
def test_the_address_subject_and_bodies_are_not_stored_in_plain_text(queued: list[int]) -> None:
    message = write()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT recipient, subject, text_body, html_body, last_error "
            "FROM public.tenants_outboxmessage WHERE id = %s",
            [message.pk],
        )
        raw = " ".join(cursor.fetchone())
    assert "jo.private" not in raw and "example.org" not in raw
    assert "night ward" not in raw and "About your story" not in raw
    assert OutboxMessage.objects.get(pk=message.pk).recipient == ADDRESS


@pytest.mark.django_db
def test_a_message_written_in_an_organisation_records_it_and_the_admin_shows_no_bodies(
    cast: Cast, queued: list[int]
) -> None:
    with tenant_context(cast.org_a):
        message = write()
    with schema_context("public"):
        hub_message = write(key="probe:hub")
        row = OutboxMessage.objects.get(pk=message.pk)
        assert row.organisation == cast.org_a
        assert OutboxMessage.objects.get(pk=hub_message.pk).organisation is None
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    admin = client_for(None)
    admin.force_login(operator)
    pass_second_factor(admin, operator.email)
    for url in (
        "/admin/tenants/outboxmessage/",
        f"/admin/tenants/outboxmessage/{message.pk}/change/",
    ):
        page = admin.get(url)
        html = page.content.decode()
        assert page.status_code == 200
        assert "j***@example.org" in html and cast.org_a.name in html
        assert ADDRESS not in html and "night ward" not in html
        assert "About your story" not in html


@pytest.mark.django_db
def test_a_message_written_under_a_dropped_key_waits_and_the_admin_still_lists_it(
    queued: list[int],
) -> None:
    from cryptography.fernet import Fernet

    message = write()
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        assert not send_message(message.pk)
        row = OutboxMessage.objects.filter(pk=message.pk).values("state", "attempts").get()
        assert row == {"state": OutboxMessageState.WAITING, "attempts": 1}
        operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
        admin = client_for(None)
        admin.force_login(operator)
        pass_second_factor(admin, operator.email)
        page = admin.get("/admin/tenants/outboxmessage/")
        assert page.status_code == 200 and "unreadable" in page.content.decode()
    assert mine() == []
