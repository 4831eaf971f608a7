"""Instant alerts end to end on a real Celery worker and broker: committed rows (the worker
has its own connection), cleaned up afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertDelivery
from feedback.hub.models import PublicStory, Submission
from feedback.models import Story
from tests.conftest import Cast, tell_and_publish


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not deliver in time")


@pytest.fixture
def forget_stories(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    public_ids: list[int] = []
    yield public_ids
    for org in (cast.org_a, cast.org_b):
        with tenant_context(org):
            for story in Story.objects.filter(public_id__in=public_ids):
                story.services.clear()
                story.tags.clear()
                story.delete()
    with schema_context("public"):
        for submission in Submission.objects.filter(public_story_id__in=public_ids):
            submission.services.clear()
            submission.delete()
        for public in PublicStory.objects.filter(pk__in=public_ids):
            public.services.clear()
            public.organisations.clear()
            public.delete()


def alert_mails(title: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if title in m.subject]


def test_publishing_sends_the_instant_alert_through_the_worker(
    cast: Cast, forget_stories: list[int], celery_worker_thread: object
) -> None:
    title = "Worker alert probe"
    published = tell_and_publish(cast, [cast.ward_a], criticality="severely critical", title=title)
    forget_stories.append(published.public_story.pk)
    wait_until(lambda: len(alert_mails(title)) == 1)
    assert alert_mails(title)[0].to == [cast.admin_a.email]  # the default rule
    time.sleep(0.5)
    assert len(alert_mails(title)) == 1


def test_the_sweeper_delivers_what_a_broker_outage_lost(
    cast: Cast,
    forget_stories: list[int],
    celery_worker_thread: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The broker is shared with the worker thread, so the outage is played at the one seam
    that meets it, queuing the task, with the error kombu raises when the broker is down."""
    from kombu.exceptions import OperationalError

    from alerts import sweeper, tasks

    title = "Broker outage probe"

    def broker_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(tasks.evaluate_story, "delay", broker_down)
        published = tell_and_publish(
            cast, [cast.ward_a], criticality="severely critical", title=title
        )
        forget_stories.append(published.public_story.pk)
    time.sleep(1.0)
    assert alert_mails(title) == []
    # The broker is back; the sweeper (beat runs it every five minutes) finds the story.
    with tenant_context(cast.org_a):
        story_id = Story.objects.get(public_id=published.public_story.pk).pk
        assert story_id in sweeper.unevaluated_story_ids(grace=timedelta(0))
        monkeypatch.setattr(sweeper, "GRACE", timedelta(0))
        tasks.sweep.delay()
    wait_until(lambda: len(alert_mails(title)) == 1)
    with tenant_context(cast.org_a):
        assert AlertDelivery.objects.filter(story_id=story_id).count() == 1
