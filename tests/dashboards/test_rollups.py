"""ServiceDay rollups: kept in step with publication and responses in the same transaction,
and equal to what `rebuild_rollups` recomputes from the stories."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards.rollups.models import RESPONSE_BUCKET_FIELDS, ServiceDay, ServiceDayTag
from dashboards.rollups.rebuilding import mark_missed_targets, rebuild_rollups
from dashboards.rollups.updating import bucket_field, uk_day
from feedback.choices import ChangeStatus
from feedback.hub.models import Submission
from feedback.models import Story
from feedback.responding import (
    Draft,
    ResponseToImport,
    edit_response,
    import_responses,
    publish_response,
    record_change,
)
from feedback.withdrawal import withdraw_story
from tests.conftest import Cast, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "I am sorry the wait for a bed on the ward was so long, and thank you for telling us how "
    "kind the nurses were. We have added a discharge coordinator so beds free up earlier in "
    "the day. Rita Responder, Ward Manager"
)


def rows(organisation) -> set[tuple]:  # noqa: ANN001
    fields = [f.name for f in ServiceDay._meta.fields if f.name not in ("id",)]
    days = {
        tuple(row)
        for row in ServiceDay.objects.filter(organisation=organisation).values_list(*fields)
        if row[fields.index("stories")]
    }
    tag_fields = [f.name for f in ServiceDayTag._meta.fields if f.name != "id"]
    tags = {
        ("tag", *row)
        for row in ServiceDayTag.objects.filter(organisation=organisation).values_list(*tag_fields)
        if row[-1]
    }
    return days | tags


def publish(cast: Cast, **kwargs: object) -> Story:
    published = tell_and_publish(cast, kwargs.pop("listings", [cast.ward_a]), **kwargs)
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def respond(cast: Cast, story: Story, change: str = ChangeStatus.NONE, at=None):  # noqa: ANN001, ANN201
    with tenant_context(cast.org_a):
        draft = Draft(REPLY, change, "A discharge coordinator" if change != "none" else "")
        response = publish_response(
            story, draft, responder=cast.responder_a, written_by=cast.responder_a
        )
        if at is not None:
            # Answered at `at`: as if the response had been published then.
            Story.objects.filter(pk=story.pk).update(first_responded_at=at)
        return response


def test_publication_counts_the_story_under_its_first_service_day_and_criticality(
    cast: Cast,
) -> None:
    story = publish(
        cast,
        listings=[cast.clinic_a, cast.ward_a],
        criticality="strongly critical",
        tags=["what was good:kind staff", "what could be improved:waiting time"],
    )
    first_service = min(cast.clinic_a.service_id, cast.ward_a.service_id)
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert (row.service_id, row.day, row.criticality) == (
        first_service,
        uk_day(story.published_at),
        "strongly critical",
    )
    assert (row.stories, row.responded, row.positive_tags, row.negative_tags) == (1, 0, 1, 1)
    tags = set(
        ServiceDayTag.objects.filter(organisation=cast.org_a).values_list(
            "tag_name", "polarity", "stories"
        )
    )
    assert tags == {("kind staff", "positive", 1), ("waiting time", "negative", 1)}
    assert not ServiceDay.objects.filter(organisation=cast.org_b).exists()


def test_a_response_counts_its_time_bucket_and_a_change_moves_from_planned_to_made(
    cast: Cast,
) -> None:
    story = publish(cast)
    response = respond(cast, story, ChangeStatus.PLANNED)
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert row.responded == 1
    assert getattr(row, bucket_field(row.response_seconds)) == 1
    assert sum(getattr(row, f) for f in RESPONSE_BUCKET_FIELDS) == 1
    assert (row.changes_planned, row.changes_made) == (1, 0)
    with tenant_context(cast.org_a):
        record_change(response, ChangeStatus.MADE, "Coordinator started", actor=cast.responder_a)
    row.refresh_from_db()
    assert (row.changes_planned, row.changes_made) == (0, 1)
    # A second response neither counts the story again nor moves its first-response time.
    respond(cast, story)
    row.refresh_from_db()
    assert (row.stories, row.responded, row.changes_made) == (1, 1, 1)


def test_a_missed_target_is_an_open_breach_until_answered(cast: Cast) -> None:
    story = publish(cast, criticality="severely critical")
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=story.pk).update(due_at=timezone.now() - timedelta(hours=2))
        assert mark_missed_targets() == 1
        assert mark_missed_targets() == 0  # marked once only
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert (row.breaches, row.breaches_open) == (1, 1)
    respond(cast, story)
    row.refresh_from_db()
    assert (row.breaches, row.breaches_open, row.responded) == (1, 0, 1)


def test_a_late_first_response_is_a_breach_at_once(cast: Cast) -> None:
    story = publish(cast)
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=story.pk).update(due_at=timezone.now() - timedelta(minutes=5))
        story.refresh_from_db()
    respond(cast, story)
    row = ServiceDay.objects.get(organisation=cast.org_a)
    assert (row.breaches, row.breaches_open) == (1, 0)


def test_incremental_rollups_equal_the_rebuilt_ones_and_rebuilding_is_idempotent(
    cast: Cast,
) -> None:
    now = timezone.now()
    stories = [
        publish(cast, criticality=c, tags=t, listings=ls)
        for c, t, ls in [
            ("not critical", ["what was good:kind staff"], [cast.ward_a]),
            ("mildly critical", ["what could be improved:waiting time"], [cast.clinic_a]),
            ("strongly critical", [], [cast.ward_a, cast.clinic_a]),
            ("severely critical", ["what could be improved:communication"], [cast.ward_a]),
            ("moderately critical", ["what was good:kind staff"], [cast.clinic_a]),
        ]
    ]
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=stories[3].pk).update(due_at=now - timedelta(hours=1))
        Story.objects.filter(pk=stories[2].pk).update(due_at=now - timedelta(minutes=1))
        stories[2].refresh_from_db()
    respond(cast, stories[0])
    respond(cast, stories[1], ChangeStatus.MADE)
    respond(cast, stories[2], ChangeStatus.PLANNED)  # late
    with tenant_context(cast.org_a):
        mark_missed_targets()
    incremental = rows(cast.org_a)
    assert incremental, "the rollups were written as the stories were"

    rebuild_rollups(cast.org_a)
    assert rows(cast.org_a) == incremental
    rebuild_rollups(cast.org_a)
    assert rows(cast.org_a) == incremental


def test_rebuild_repairs_drift_and_the_command_names_unknown_organisations(cast: Cast) -> None:
    publish(cast)
    publish(cast, criticality="not critical")
    expected = rows(cast.org_a)
    ServiceDay.objects.filter(organisation=cast.org_a).update(stories=99)
    ServiceDayTag.objects.filter(organisation=cast.org_a).delete()
    call_command("rebuild_rollups", cast.org_a.slug)
    assert rows(cast.org_a) == expected
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no-such-org"):
        call_command("rebuild_rollups", "no-such-org")
    assert connection.schema_name == "public"


def test_rollups_kept_by_the_receivers_equal_a_rebuild_through_every_path(cast: Cast) -> None:
    """Publication, responses, edits, recorded changes, imported responses (one story twice)
    and a withdrawal all reach the rollups by signal; the result is what a rebuild makes."""
    now = timezone.now()
    stories = [
        publish(cast, criticality=c, tags=t, listings=ls)
        for c, t, ls in [
            ("not critical", ["what was good:kind staff"], [cast.ward_a, cast.ward_b]),
            ("mildly critical", ["what could be improved:waiting time"], [cast.clinic_a]),
            ("strongly critical", ["feelings:grateful"], [cast.ward_a]),
            ("severely critical", [], [cast.clinic_a, cast.ward_b]),
            ("moderately critical", ["what was good:kind staff"], [cast.ward_a]),
        ]
    ]
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=stories[2].pk).update(due_at=now - timedelta(minutes=1))
        stories[2].refresh_from_db()
    response = respond(cast, stories[0], ChangeStatus.PLANNED)
    with tenant_context(cast.org_a):
        edit_response(
            response,
            Draft(REPLY, ChangeStatus.PLANNED, "Two discharge coordinators"),
            editor=cast.responder_a,
        )
        record_change(response, ChangeStatus.MADE, "Coordinators started", actor=cast.admin_a)
        import_responses(
            [
                ResponseToImport(stories[1], cast.responder_a, Draft(REPLY), now),
                ResponseToImport(
                    stories[2],
                    cast.responder_a,
                    Draft(REPLY, ChangeStatus.PLANNED, "A quieter ward at night"),
                    now,
                ),
                ResponseToImport(stories[2], cast.responder_a, Draft(REPLY + " Again."), now),
            ]
        )
    with tenant_context(cast.org_a):
        public_id = Story.objects.get(pk=stories[3].pk).public_id
    with schema_context("public"):
        submission = Submission.objects.get(public_story_id=public_id)
    withdraw_story(submission.pk, moderator=cast.moderator, note="Checked by phone")
    with tenant_context(cast.org_a):
        mark_missed_targets()

    for organisation in (cast.org_a, cast.org_b):
        incremental = rows(organisation)
        assert incremental, "the receivers wrote the rollups as the stories changed"
        rebuild_rollups(organisation)
        assert rows(organisation) == incremental
    row = ServiceDay.objects.get(
        organisation=cast.org_a, service_id=cast.ward_a.service_id, criticality="not critical"
    )
    assert (row.stories, row.responded, row.changes_planned, row.changes_made) == (1, 1, 0, 1)
