"""Two moderators publishing one submission at the same moment: exactly one succeeds.

Committed rows (two threads, two connections), cleaned up afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import PublicStory, Submission
from feedback.models import Story
from feedback.moderation import Decision, ModerationConflict, publish_submission
from tenants.models import OutboxMessage
from tests.conftest import Cast, forget_published_stories, tell


def decision(cast: Cast) -> Decision:
    return Decision(criticality="not critical", tag_keys=[], listings=[cast.ward_a])


@pytest.fixture
def without_alerts() -> Iterator[None]:
    """This publication commits; keep a running test worker from alerting on a story the
    test deletes again (alerts have tests of their own)."""
    from alerts.receivers import queue_instant_alerts
    from feedback.signals import story_published

    story_published.disconnect(queue_instant_alerts)
    yield
    story_published.connect(queue_instant_alerts)


def test_two_moderators_at_once_publish_exactly_once(
    cast: Cast, committed_db: None, without_alerts: None
) -> None:
    """Two threads, two connections, one submission: the row lock lets one through."""
    with schema_context("public"):
        submission_id = tell([cast.ward_a], title="Race")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        from django.db import connections

        try:
            barrier.wait()
            publish_submission(submission_id, moderator=cast.moderator, decision=decision(cast))
            outcomes.append("published")
        except ModerationConflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert sorted(outcomes) == ["conflict", "published"]
        assert PublicStory.objects.filter(title="Race").count() == 1
        with tenant_context(cast.org_a):
            assert Story.objects.filter(title="Race").count() == 1
    finally:
        _forget_race(cast)


def _forget_race(cast: Cast) -> None:
    with schema_context("public"):
        ids = list(PublicStory.objects.filter(title="Race").values_list("pk", flat=True))
    forget_published_stories([cast.org_a], ids)
    with schema_context("public"):
        for submission in Submission.objects.filter(title="Race"):
            # The author's notices it wrote to the outbox (feedback/emails.py) go with it.
            OutboxMessage.objects.filter(key__endswith=f":{submission.pk}").filter(
                key__startswith="feedback."
            ).delete()
            submission.services.clear()
            submission.delete()
