"""Feedback's news to the apps above it travels by signal inside its own transactions
(feedback/signals.py): sent once per publication (per organisation), response, change and
withdrawal, in the organisation's schema, with what receivers need; and a receiver that
fails undoes the whole operation, so nothing is half-written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.dispatch import Signal
from django_tenants.utils import schema_context, tenant_context

from dashboards.rollups.models import ServiceDay
from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse, PublicStory, Submission, SubmissionState
from feedback.models import Response, Story
from feedback.moderation import Decision, publish_submission
from feedback.responding import (
    Draft,
    ResponseToImport,
    edit_response,
    import_responses,
    publish_response,
    record_change,
)
from feedback.signals import (
    Answering,
    PublishedResponse,
    StoryAnswered,
    WrittenStory,
    response_changed,
    responses_published,
    stories_written,
    story_withdrawing,
)
from feedback.withdrawal import withdraw_story
from tests.conftest import Cast, tell, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "Thank you for telling us about the long wait for a bed on the ward. We are sorry it "
    "took so long; the ward manager has asked the discharge team to free beds earlier in "
    "the day. Rita Responder, Ward Manager"
)


@dataclass
class Heard:
    # (schema active when it arrived, its kwargs) for each send
    sends: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@contextmanager
def listening(signal: Signal) -> Iterator[Heard]:
    heard = Heard()

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        heard.sends.append((connection.schema_name, kwargs))

    signal.connect(receiver)
    try:
        yield heard
    finally:
        signal.disconnect(receiver)


class ReceiverBroke(Exception):
    pass


@contextmanager
def failing(signal: Signal) -> Iterator[None]:
    """A receiver that fails, connected after the product's own (which run first)."""

    def receiver(sender: Any, **kwargs: Any) -> None:
        raise ReceiverBroke

    signal.connect(receiver)
    try:
        yield
    finally:
        signal.disconnect(receiver)


def _story(cast: Cast, public_id: int, organisation=None) -> Story:  # noqa: ANN001
    with tenant_context(organisation or cast.org_a):
        return Story.objects.get(public_id=public_id)


def _respond(cast: Cast, story: Story, change: str = ChangeStatus.NONE) -> Response:
    with tenant_context(cast.org_a):
        draft = Draft(REPLY, change, "Beds freed earlier" if change != ChangeStatus.NONE else "")
        return publish_response(
            story, draft, responder=cast.responder_a, written_by=cast.responder_a
        )


def test_publishing_sends_stories_written_once_per_organisation_with_each_copy(
    cast: Cast,
) -> None:
    with listening(stories_written) as heard:
        published = tell_and_publish(
            cast, [cast.ward_a, cast.clinic_a, cast.ward_b], criticality="strongly critical"
        )
    public_id = published.public_story.pk
    a, b = _story(cast, public_id), _story(cast, public_id, cast.org_b)
    assert sorted(heard.sends, key=lambda send: send[0]) == [
        (
            cast.org_a.schema_name,
            {
                "schema_name": cast.org_a.schema_name,
                "stories": [
                    WrittenStory(
                        story_id=a.pk,
                        public_story_id=public_id,
                        criticality="strongly critical",
                        published_at=a.published_at,
                        service_ids=tuple(
                            sorted([cast.ward_a.service_id, cast.clinic_a.service_id])
                        ),
                    )
                ],
            },
        ),
        (
            cast.org_b.schema_name,
            {
                "schema_name": cast.org_b.schema_name,
                "stories": [
                    WrittenStory(
                        story_id=b.pk,
                        public_story_id=public_id,
                        criticality="strongly critical",
                        published_at=b.published_at,
                        service_ids=(cast.ward_b.service_id,),
                    )
                ],
            },
        ),
    ]
    # What the receivers did with it: the due time set, the story counted.
    with tenant_context(cast.org_a):
        assert Story.objects.get(pk=a.pk).due_at is not None
    assert ServiceDay.objects.get(organisation=cast.org_a).stories == 1


def test_a_failing_receiver_undoes_the_whole_publication(cast: Cast) -> None:
    submission_id = tell([cast.ward_a])
    with failing(stories_written), pytest.raises(ReceiverBroke):
        publish_submission(
            submission_id,
            moderator=cast.moderator,
            decision=Decision("mildly critical", ["what was good:kind staff"], [cast.ward_a]),
        )
    with schema_context("public"):
        assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
        assert not PublicStory.objects.exists()
    with tenant_context(cast.org_a):
        assert not Story.objects.exists()
    # The rollups' receiver had already counted it, in the transaction that rolled back.
    assert not ServiceDay.objects.filter(organisation=cast.org_a).exists()


def test_a_response_sends_responses_published_once_with_its_answering(cast: Cast) -> None:
    story = _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
    with listening(responses_published) as heard:
        response = _respond(cast, story, ChangeStatus.PLANNED)
    with tenant_context(cast.org_a):
        story.refresh_from_db()
    assert heard.sends == [
        (
            cast.org_a.schema_name,
            {
                "schema_name": cast.org_a.schema_name,
                "responses": [
                    PublishedResponse(
                        response_id=response.pk,
                        story_id=story.pk,
                        published_at=response.published_at,
                        change_status=ChangeStatus.PLANNED,
                    )
                ],
                "stories": [
                    StoryAnswered(
                        story_id=story.pk,
                        published_at=story.published_at,
                        before=Answering(None, None, ChangeStatus.NONE),
                        after=Answering(response.published_at, None, ChangeStatus.PLANNED),
                    )
                ],
            },
        )
    ]
    assert story.first_responded_at == response.published_at


def test_a_second_response_carries_the_first_response_time_unchanged(cast: Cast) -> None:
    story = _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
    first = _respond(cast, story, ChangeStatus.MADE)
    with listening(responses_published) as heard:
        _respond(cast, story)
    [(_, sent)] = heard.sends
    [answered] = sent["stories"]
    assert (
        answered.before == answered.after == Answering(first.published_at, None, ChangeStatus.MADE)
    )


def test_a_failing_receiver_undoes_the_response(cast: Cast) -> None:
    story = _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
    with failing(responses_published), pytest.raises(ReceiverBroke):
        _respond(cast, story)
    with tenant_context(cast.org_a):
        assert not Response.objects.exists()
        assert Story.objects.get(pk=story.pk).first_responded_at is None
    with schema_context("public"):
        assert not PublicResponse.objects.exists()
    after = ServiceDay.objects.get(organisation=cast.org_a)
    assert (after.stories, after.responded, after.response_seconds) == (1, 0, 0)


def test_editing_and_recording_a_change_send_response_changed_once_each(cast: Cast) -> None:
    story = _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
    response = _respond(cast, story)
    answered_at = response.published_at
    with tenant_context(cast.org_a), listening(response_changed) as heard:
        edit_response(
            response,
            Draft(REPLY + " Edited.", ChangeStatus.PLANNED, "Beds freed earlier"),
            editor=cast.responder_a,
        )
        record_change(
            response, ChangeStatus.MADE, "A discharge coordinator started", actor=cast.admin_a
        )
    assert [schema for schema, _ in heard.sends] == [cast.org_a.schema_name] * 2
    assert [sent["response_id"] for _, sent in heard.sends] == [response.pk] * 2
    assert [sent["stories"] for _, sent in heard.sends] == [
        [
            StoryAnswered(
                story.pk,
                story.published_at,
                before=Answering(answered_at, None, ChangeStatus.NONE),
                after=Answering(answered_at, None, ChangeStatus.PLANNED),
            )
        ],
        [
            StoryAnswered(
                story.pk,
                story.published_at,
                before=Answering(answered_at, None, ChangeStatus.PLANNED),
                after=Answering(answered_at, None, ChangeStatus.MADE),
            )
        ],
    ]
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert (row.changes_planned, row.changes_made) == (0, 1)


def test_a_failing_receiver_undoes_the_recorded_change(cast: Cast) -> None:
    story = _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
    response = _respond(cast, story, ChangeStatus.PLANNED)
    with tenant_context(cast.org_a), failing(response_changed), pytest.raises(ReceiverBroke):
        record_change(response, ChangeStatus.MADE, "Coordinator started", actor=cast.admin_a)
    with tenant_context(cast.org_a):
        assert Response.objects.get(pk=response.pk).change_status == ChangeStatus.PLANNED
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert (row.changes_planned, row.changes_made) == (1, 0)


def test_importing_responses_sends_responses_published_once_for_the_batch(cast: Cast) -> None:
    stories = [
        _story(cast, tell_and_publish(cast, [cast.ward_a]).public_story.pk) for _ in range(2)
    ]
    at = datetime.fromisoformat("2026-01-05T10:00:00+00:00")
    with tenant_context(cast.org_a), listening(responses_published) as heard:
        import_responses(
            [
                ResponseToImport(story, cast.responder_a, Draft(REPLY), at)
                for story in (stories[0], stories[1], stories[1])
            ]
        )
    [(schema, sent)] = heard.sends
    assert schema == cast.org_a.schema_name
    assert len(sent["responses"]) == 3
    assert {r.story_id for r in sent["responses"]} == {s.pk for s in stories}
    assert [s.story_id for s in sent["stories"]] == sorted(s.pk for s in stories)
    assert all(s.after.first_responded_at == at for s in sent["stories"])


def test_a_withdrawal_sends_story_withdrawing_once_per_organisation_before_deleting(
    cast: Cast,
) -> None:
    published = tell_and_publish(cast, [cast.ward_a, cast.ward_b])
    public_id = published.public_story.pk
    ids = {cast.org_a.schema_name: _story(cast, public_id).pk}
    ids[cast.org_b.schema_name] = _story(cast, public_id, cast.org_b).pk
    with schema_context("public"):
        submission_id = Submission.objects.get(public_story_id=public_id).pk
    seen: list[bool] = []

    def still_there(sender: Any, *, story_ids: list[int], **kwargs: Any) -> None:
        seen.append(Story.objects.filter(pk__in=story_ids).count() == len(story_ids))

    story_withdrawing.connect(still_there)
    try:
        with listening(story_withdrawing) as heard:
            withdraw_story(submission_id, moderator=cast.moderator, note="Checked by phone")
    finally:
        story_withdrawing.disconnect(still_there)
    assert sorted(heard.sends, key=lambda send: send[0]) == [
        (schema, {"schema_name": schema, "public_story_id": public_id, "story_ids": [ids[schema]]})
        for schema in sorted(ids)
    ]
    assert seen == [True, True]
    assert ServiceDay.objects.filter(organisation=cast.org_a).get().stories == 0


def test_a_failing_receiver_undoes_the_withdrawal(cast: Cast) -> None:
    public_id = tell_and_publish(cast, [cast.ward_a]).public_story.pk
    with schema_context("public"):
        submission_id = Submission.objects.get(public_story_id=public_id).pk
    with failing(story_withdrawing), pytest.raises(ReceiverBroke):
        withdraw_story(submission_id, moderator=cast.moderator, note="Checked by phone")
    with schema_context("public"):
        assert Submission.objects.get(pk=submission_id).state == SubmissionState.PUBLISHED
        assert PublicStory.objects.filter(pk=public_id).exists()
    assert _story(cast, public_id).pk
    assert ServiceDay.objects.get(organisation=cast.org_a).stories == 1
