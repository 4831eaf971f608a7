"""The author's notices on a real Celery worker and broker: written to the outbox with the
story's arrival and its publication, sent once those have committed, each with the author's
"Your story" link. Committed rows (the worker has its own connection), cleaned up afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core import mail

from feedback.hub.models import Submission
from feedback.your_story import submission_for_token
from tenants.models import OutboxMessage
from tests.conftest import Cast, forget_published_stories, tell_and_publish, wait_until
from tests.feedback.test_your_story import link_in


@pytest.fixture
def forget_stories(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    public_ids: list[int] = []
    before = set(OutboxMessage.objects.values_list("pk", flat=True))
    yield public_ids
    forget_published_stories([cast.org_a, cast.org_b], public_ids)
    OutboxMessage.objects.exclude(pk__in=before).delete()


def test_the_receipt_and_publication_notices_are_sent_by_the_worker_after_commit(
    cast: Cast, forget_stories: list[int], celery_worker_thread: object
) -> None:
    title = "Worker receipt probe"

    def mine(subject: str) -> list[mail.EmailMessage]:
        return [m for m in mail.outbox if m.subject == subject and title in m.body]

    published = tell_and_publish(cast, [cast.ward_a], title=title)
    forget_stories.append(published.public_story.pk)
    wait_until(lambda: len(mine("We have received your story")) == 1)
    wait_until(lambda: len(mine("Your story is published")) == 1)
    notice = mine("Your story is published")[0]
    assert f"/stories/{published.public_story.pk}/" in notice.body
    submission = Submission.objects.get(public_story=published.public_story)
    for sent in (mine("We have received your story")[0], notice):
        assert sent.to == [submission.email]
        assert submission_for_token(link_in(sent).split("/")[2]).pk == submission.pk


def test_a_withdrawn_storys_author_is_told_and_their_contact_details_then_go(
    cast: Cast, forget_stories: list[int], celery_worker_thread: object
) -> None:
    from feedback.author_requests import ask_to_withdraw
    from feedback.withdrawal import withdraw_story

    published = tell_and_publish(cast, [cast.ward_a], title="Worker withdrawal probe")
    forget_stories.append(published.public_story.pk)
    submission = Submission.objects.get(public_story=published.public_story)
    address = submission.email
    asked = ask_to_withdraw(submission)
    withdraw_story(submission.pk, moderator=cast.moderator, author_request_id=asked.pk)

    def told() -> list[mail.EmailMessage]:
        return [m for m in mail.outbox if m.subject == "Your story has been withdrawn"]

    wait_until(lambda: len(told()) == 1)
    (notice,) = told()
    assert notice.to == [address]
    assert "Worker withdrawal probe" not in notice.body  # its text is gone, not repeated
    wait_until(lambda: Submission.objects.get(pk=submission.pk).contact_removed_at is not None)
    withdrawn = Submission.objects.get(pk=submission.pk)
    assert (withdrawn.email, withdrawn.postcode) == ("", "")
