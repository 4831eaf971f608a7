"""Instant alerts end to end on a real Celery worker and broker: committed rows (the worker
has its own connection), cleaned up afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from alerts.models import AlertDelivery
from feedback.models import Story
from tests.conftest import Cast, forget_published_stories, tell_and_publish, wait_until
from tests.faults.rows import forgetting_new_rows


@pytest.fixture
def forget_stories(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    """Published stories (public ids) forgotten afterwards, with the outgoing emails (the
    alerts', in the outbox) and audit rows the test committed."""
    public_ids: list[int] = []
    with forgetting_new_rows([cast.org_a.schema_name, cast.org_b.schema_name]):
        yield public_ids
        forget_published_stories([cast.org_a, cast.org_b], public_ids)


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


PUBLISH_WITH_THE_BROKER_DOWN = """
import django
django.setup()
from feedback.hub.models import ServiceListing
from feedback.moderation import Decision, publish_submission
from feedback.submissions import StoryFromAuthor, submit_story
from tenants.accounts.models import User
import sys
listing = ServiceListing.objects.get(pk=int(sys.argv[1]))
moderator = User.objects.get(pk=int(sys.argv[2]))
submission = submit_story(StoryFromAuthor(
    title=sys.argv[3], what_was_good="", what_could_be_improved="Nobody came at night.",
    how_it_felt="Scared.", author_role="patient", author_age_group="65-74", nickname="",
    email="", postcode="", route="web", listings=[listing]))
published = publish_submission(submission.pk, moderator=moderator,
    decision=Decision("severely critical", [], [listing]))
print(published.public_story.pk)
"""


def test_the_sweeper_delivers_what_a_broker_outage_lost(
    cast: Cast, forget_stories: list[int], celery_worker_thread: object, tmp_path: Path
) -> None:
    """Publish from a process whose broker is down (queuing its alerts fails, the
    publication still stands), then let the sweeper find the story."""
    from alerts import sweeper, tasks
    from tests.alerts.test_worker_killed import ROOT, database_url

    title = "Broker outage probe"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis+socket://{tmp_path}/stopped-broker.sock",
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    }
    publisher = subprocess.run(
        [
            sys.executable,
            "-c",
            PUBLISH_WITH_THE_BROKER_DOWN,
            str(cast.ward_a.pk),
            str(cast.moderator.pk),
            title,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert publisher.returncode == 0, publisher.stderr[-3000:]
    public_id = int(publisher.stdout.strip().splitlines()[-1])
    forget_stories.append(public_id)
    assert "could not queue alerts" in publisher.stderr
    time.sleep(1.0)
    assert alert_mails(title) == []
    # The broker is up for everyone else; the sweeper (every five minutes) finds the story.
    with tenant_context(cast.org_a):
        story_id = Story.objects.get(public_id=public_id).pk
        assert story_id in sweeper.unevaluated_story_ids(grace=timedelta(0))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sweeper, "GRACE", timedelta(0))
            tasks.sweep.delay()
            wait_until(lambda: len(alert_mails(title)) == 1)
    with tenant_context(cast.org_a):
        assert AlertDelivery.objects.filter(story_id=story_id).count() == 1
