"""Hazard H1: a story that waits too long for moderation is brought to platform staff, by
emails written to the outbox in the watch's transaction, one per member of staff and alert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.emails import queue_moderation_backlog_alert
from feedback.hub.models import Submission
from feedback.moderation_watch import ACTION, measure_backlog, watch_moderation_queue
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage
from tests.conftest import AUTHOR_EMAIL, Cast, tell

pytestmark = pytest.mark.django_db


def staff_mail() -> list[mail.EmailMessage]:
    """What was sent to anyone but the authors (whose receipts are in the outbox too)."""
    return [message for message in mail.outbox if message.to != [AUTHOR_EMAIL]]


def _age(submission_id: int, hours: float) -> None:
    with schema_context("public"):
        Submission.objects.filter(pk=submission_id).update(
            created_at=timezone.now() - timedelta(hours=hours)
        )


def test_a_queue_within_its_limit_alerts_nobody(cast: Cast, settings) -> None:  # noqa: ANN001
    settings.MODERATION_WAIT_ALERT_HOURS = 24
    _age(tell([cast.ward_a]), 23)
    assert watch_moderation_queue() is False
    send_due_messages()
    assert staff_mail() == []


def test_a_story_waiting_past_the_limit_alerts_platform_staff_once(
    cast: Cast,
    settings,  # noqa: ANN001
) -> None:
    settings.MODERATION_WAIT_ALERT_HOURS = 24
    _age(tell([cast.ward_a]), 30)
    tell([cast.ward_b])
    assert measure_backlog().overdue == 1
    assert watch_moderation_queue() is True
    assert staff_mail() == []  # written to the outbox, which sends it
    send_due_messages()
    (message,) = staff_mail()
    assert message.to == [cast.moderator.email]
    assert "1 of the 2 stories" in message.body and "/moderation/" in message.body
    # No organisation's staff, and no author, is told.
    assert AUTHOR_EMAIL not in message.body
    with schema_context("public"):
        assert AuditEvent.objects.filter(action=ACTION).count() == 1
    # Told once per period, however often the watch runs.
    assert watch_moderation_queue() is False
    send_due_messages()
    assert len(staff_mail()) == 1
    # After another period, still behind: told again.
    later = timezone.now() + timedelta(hours=25)
    assert watch_moderation_queue(now=later) is True
    send_due_messages()
    assert len(staff_mail()) == 2


def test_each_alert_is_one_message_per_member_of_staff_written_with_its_audit_row(
    cast: Cast,
    settings,  # noqa: ANN001
) -> None:
    settings.MODERATION_WAIT_ALERT_HOURS = 24
    with schema_context("public"):
        second = User.objects.create_user(
            "second.moderator@carevoice.example", "x" * 20, full_name="Sam", is_staff=True
        )
    _age(tell([cast.ward_a]), 30)

    class WatchFailed(Exception):
        pass

    with pytest.raises(WatchFailed), transaction.atomic():
        assert watch_moderation_queue() is True
        raise WatchFailed  # rolled back: no audit row, no message
    with schema_context("public"):
        assert not OutboxMessage.objects.filter(kind="feedback.moderation_backlog").exists()
        assert not AuditEvent.objects.filter(action=ACTION).exists()

    assert watch_moderation_queue() is True
    with schema_context("public"):
        event = AuditEvent.objects.get(action=ACTION)
        keys = sorted(
            OutboxMessage.objects.filter(kind="feedback.moderation_backlog").values_list(
                "key", flat=True
            )
        )
        assert keys == sorted(
            f"feedback.moderation_backlog:{event.pk}:{user.pk}" for user in (cast.moderator, second)
        )
        # The same alert again (a redelivered task that got past the check): no new message.
        queue_moderation_backlog_alert(occurrence=event.pk, pending=1, overdue=1, oldest_hours=30)
        assert OutboxMessage.objects.filter(kind="feedback.moderation_backlog").count() == 2
    send_due_messages()
    assert sorted(m.to[0] for m in staff_mail()) == sorted([cast.moderator.email, second.email])
    assert all(m.subject.startswith("Moderation queue behind: 1 waiting") for m in staff_mail())


def test_nothing_pending_means_nothing_to_say(cast: Cast) -> None:
    assert measure_backlog().oldest_wait is None
    assert watch_moderation_queue() is False
