"""The outbox's edges (tenants/messages.py): text attachments sealed like the bodies and
erased once sent; the contact-key rotation re-encrypts waiting and parked messages; sent
messages are purged after OUTBOX_KEEP_SENT_DAYS while parked ones stay; and platform staff
discard a parked message they have dealt with, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from feedback.hub.key_rotation import rotate_contact_key
from tenants import tasks as tenant_tasks
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import enqueue_email, purge_sent_messages, retry_message, send_message
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import PASSWORD, client_for, pass_second_factor

pytestmark = pytest.mark.django_db

ADDRESS = "sam.private@example.org"
CALENDAR = "BEGIN:VCALENDAR\r\nSUMMARY:Night ward visit\r\nEND:VCALENDAR\r\n"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids queued for sending (no worker runs them)."""
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    return sent


def write(key: str, **overrides: object) -> OutboxMessage:
    fields = {
        "kind": "test.probe",
        "key": key,
        "recipient": ADDRESS,
        "subject": "Your visit",
        "text_body": "See you on the night ward.",
        "html_body": "<p>See you on the night ward.</p>",
        "attachments": [
            {"filename": "visit.ics", "content": CALENDAR, "mimetype": "text/calendar"}
        ],
    }
    fields.update(overrides)
    return enqueue_email(**fields)


def stored(pk: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM public.tenants_outboxmessage WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def mine() -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [ADDRESS]]


def platform_admin() -> object:
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    client = client_for(None)
    client.force_login(operator)
    pass_second_factor(client, operator.email)
    return client


def test_attachments_are_sealed_sent_and_erased_once_sent() -> None:
    message = write("probe:attached")
    raw = stored(message.pk, "attachments")
    assert raw and "VCALENDAR" not in raw and "visit.ics" not in raw
    assert send_message(message.pk)
    (sent,) = mine()
    assert list(sent.attachments) == [("visit.ics", CALENDAR, "text/calendar")]
    assert sent.alternatives[0][1] == "text/html"
    assert stored(message.pk, "attachments") == ""
    without = write("probe:plain", attachments=())
    assert stored(without.pk, "attachments") == ""
    assert send_message(without.pk) and mine()[1].attachments == []


def test_the_key_rotation_re_encrypts_waiting_and_parked_messages() -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        waiting = write("probe:waiting")
        parked = write("probe:parked")
        OutboxMessage.objects.filter(pk=parked.pk).update(
            state=OutboxMessageState.PARKED, attempts=8
        )
        done = write("probe:sent", attachments=())
        assert send_message(done.pk)  # sent: nothing left to re-encrypt
    mail.outbox.clear()

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        result = rotate_contact_key(batch_size=1)
        assert result.by_model["public.tenants.OutboxMessage"] == 2
        assert rotate_contact_key().by_model["public.tenants.OutboxMessage"] == 0

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):  # the old key dropped
        for message in (waiting, parked):
            for column in ("recipient", "subject", "text_body", "html_body", "attachments"):
                token = stored(message.pk, column).encode()
                with pytest.raises(InvalidToken):
                    Fernet(OLD_KEY).decrypt(token)
                assert Fernet(NEW_KEY).decrypt(token)
        assert OutboxMessage.objects.get(pk=parked.pk).recipient == ADDRESS
        assert retry_message(OutboxMessage.objects.get(pk=parked.pk))
        assert send_message(parked.pk) and send_message(waiting.pk)
    assert len(mine()) == 2
    assert all(m.attachments[0][0] == "visit.ics" for m in mine())


@override_settings(OUTBOX_KEEP_SENT_DAYS=5)
def test_sent_messages_are_purged_after_the_keeping_days_and_parked_ones_stay() -> None:
    now = timezone.now()
    old_sent, recent_sent, old_parked, old_waiting = (
        write(f"probe:{name}") for name in ("old-sent", "recent-sent", "old-parked", "waiting")
    )
    for message in (old_sent, recent_sent):
        assert send_message(message.pk)
    OutboxMessage.objects.filter(pk=old_sent.pk).update(sent_at=now - timedelta(days=5, hours=1))
    OutboxMessage.objects.filter(pk=recent_sent.pk).update(sent_at=now - timedelta(days=4))
    long_ago = now - timedelta(days=90)
    OutboxMessage.objects.filter(pk=old_parked.pk).update(
        state=OutboxMessageState.PARKED, created_at=long_ago
    )
    OutboxMessage.objects.filter(pk=old_waiting.pk).update(
        created_at=long_ago, next_attempt_at=now + timedelta(hours=1)
    )

    assert tenant_tasks.purge_sent_outbox_messages() == 1
    left = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert left == {recent_sent.pk, old_parked.pk, old_waiting.pk}
    assert purge_sent_messages(now=now + timedelta(days=2)) == 1  # the recent one's turn
    assert purge_sent_messages(now=now + timedelta(days=365)) == 0  # parked stays till dealt with


def test_the_purge_runs_daily_with_time_limits() -> None:
    from django.conf import settings

    from config.celery import app

    (entry,) = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "tenants.purge_sent_outbox_messages"
    ]
    assert entry["schedule"].hour == {4} and entry["schedule"].minute == {20}
    task = app.tasks["tenants.purge_sent_outbox_messages"]
    assert 0 < task.soft_time_limit < task.time_limit


def test_platform_staff_discard_a_parked_message_audited_and_only_a_parked_one() -> None:
    parked, waiting = write("probe:parked"), write("probe:waiting")
    OutboxMessage.objects.filter(pk=parked.pk).update(
        state=OutboxMessageState.PARKED, attempts=8, last_error="550 mailbox unavailable"
    )
    admin = platform_admin()
    response = admin.post(
        "/admin/tenants/outboxmessage/",
        {"action": "discard", "_selected_action": [parked.pk, waiting.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "1 message discarded" in page and "1 not parked, so kept" in page
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [waiting.pk]
    audit = AuditEvent.objects.get(action="outbox.message_discarded")
    assert audit.target_id == str(parked.pk) and audit.actor.email == "ops@carevoice.example"
    assert "after 8 attempts" in audit.summary and ADDRESS not in audit.summary
    assert audit.detail == {"kind": "test.probe", "attempts": 8}
    # Nothing is left to send: the sweeper finds nothing, and retry cannot bring it back.
    assert not send_message(parked.pk)
    assert mine() == []
