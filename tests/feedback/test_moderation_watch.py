"""Hazard H1: a story that waits too long for moderation is brought to platform staff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.hub.models import Submission
from feedback.moderation_watch import ACTION, measure_backlog, watch_moderation_queue
from tenants.audit.models import AuditEvent
from tests.conftest import AUTHOR_EMAIL, Cast, tell

pytestmark = pytest.mark.django_db


def _age(submission_id: int, hours: float) -> None:
    with schema_context("public"):
        Submission.objects.filter(pk=submission_id).update(
            created_at=timezone.now() - timedelta(hours=hours)
        )


def test_a_queue_within_its_limit_alerts_nobody(cast: Cast, settings) -> None:  # noqa: ANN001
    settings.MODERATION_WAIT_ALERT_HOURS = 24
    _age(tell([cast.ward_a]), 23)
    assert watch_moderation_queue() is False
    assert mail.outbox == []


def test_a_story_waiting_past_the_limit_alerts_platform_staff_once(
    cast: Cast,
    settings,  # noqa: ANN001
) -> None:
    settings.MODERATION_WAIT_ALERT_HOURS = 24
    _age(tell([cast.ward_a]), 30)
    tell([cast.ward_b])
    assert measure_backlog().overdue == 1
    assert watch_moderation_queue() is True
    (message,) = mail.outbox
    assert message.to == [cast.moderator.email]
    assert "1 of the 2 stories" in message.body and "/moderation/" in message.body
    # No organisation's staff, and no author, is told.
    assert AUTHOR_EMAIL not in message.body
    with schema_context("public"):
        assert AuditEvent.objects.filter(action=ACTION).count() == 1
    # Told once per period, however often the watch runs.
    assert watch_moderation_queue() is False
    assert len(mail.outbox) == 1
    # After another period, still behind: told again.
    later = timezone.now() + timedelta(hours=25)
    assert watch_moderation_queue(now=later) is True
    assert len(mail.outbox) == 2


def test_nothing_pending_means_nothing_to_say(cast: Cast) -> None:
    assert measure_backlog().oldest_wait is None
    assert watch_moderation_queue() is False
