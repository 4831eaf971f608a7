"""Retention on real data: authors' contact details deleted a year after the last follow-up,
the text of rejected (and settled withheld, and withdrawn) submissions purged after 90 days,
pending and published stories never purged; once on the real Celery worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import (
    AuthorReply,
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    ConcernCategory,
    PublicResponse,
    SafeguardingConcern,
    Submission,
    SubmissionState,
)
from feedback.models import Story
from feedback.moderation import findings_for, reject_submission
from feedback.responding import Draft, publish_response
from feedback.retention import apply_retention, purged_title
from tenants.audit.models import AuditEvent
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, tell, tell_and_publish, wait_until

GOOD_REPLY = (
    "Thank you for telling us about the wait for a bed on Alpha Ward One. We have added a "
    "discharge coordinator so beds free up earlier in the day. Rita Responder, Ward Manager"
)


def ago(days: int) -> timezone.datetime:
    return timezone.now() - timedelta(days=days)


def age(submission_id: int, days: int) -> None:
    """As if the submission had arrived, and been moderated if it was, `days` ago."""
    Submission.objects.filter(pk=submission_id).update(created_at=ago(days))
    Submission.objects.filter(pk=submission_id, moderated_at__isnull=False).update(
        moderated_at=ago(days)
    )


def reject(cast: Cast, days_ago: int, **story: object) -> int:
    submission_id = tell([cast.ward_a], **story)
    reject_submission(submission_id, moderator=cast.moderator, reason="spam", note="Advert.")
    age(submission_id, days_ago)
    return submission_id


def fresh(submission_id: int) -> Submission:
    return Submission.objects.get(pk=submission_id)


def has_contact(submission_id: int) -> bool:
    submission = fresh(submission_id)
    return (submission.email, submission.postcode) == (AUTHOR_EMAIL, AUTHOR_POSTCODE)


def is_purged(submission_id: int) -> bool:
    s = fresh(submission_id)
    return (
        s.title == purged_title()
        and not any(
            [
                s.what_was_good,
                s.what_could_be_improved,
                s.how_it_felt,
                s.nickname,
                s.assisted_by,
                s.rejection_note,
                s.findings,
            ]
        )
        and s.text_purged_at is not None
    )


@pytest.mark.django_db
def test_contact_details_go_a_year_after_the_last_follow_up_not_a_day_before(
    cast: Cast,
) -> None:
    kept = tell([cast.ward_a], title="Told 364 days ago")
    age(kept, 364)
    deleted = tell([cast.ward_a], title="Told 366 days ago")
    age(deleted, 366)

    run = apply_retention()

    assert run.contact_removed == 1
    assert has_contact(kept) and fresh(kept).contact_removed_at is None
    gone = fresh(deleted)
    assert (gone.email, gone.postcode) == ("", "")
    assert gone.contact_removed_at is not None
    # Only the way to reach the author goes; the story is still there to moderate.
    assert gone.title == "Told 366 days ago" and gone.state == SubmissionState.PENDING
    # The stored values are empty, not an encryption of nothing.
    with schema_context("public"):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT email, postcode FROM hub_submission WHERE id = %s", [deleted])
            assert cursor.fetchone() == ("", "")


@pytest.mark.django_db
def test_a_response_published_two_months_ago_keeps_the_authors_contact_details(
    cast: Cast,
) -> None:
    answered = tell_and_publish(cast, [cast.ward_a], title="Answered lately").public_story
    unanswered = tell_and_publish(cast, [cast.ward_a], title="Never answered").public_story
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=answered.pk)
        publish_response(
            story, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )
    PublicResponse.objects.filter(public_story=answered).update(
        published_at=ago(60), updated_at=ago(60)
    )
    answered_id = answered.submission.pk
    unanswered_id = unanswered.submission.pk
    age(answered_id, 500)
    age(unanswered_id, 500)

    apply_retention()

    assert has_contact(answered_id)
    assert not has_contact(unanswered_id)
    # Published stories keep their text whatever happens to the contact details.
    assert fresh(unanswered_id).title == "Never answered"
    assert fresh(unanswered_id).text_purged_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("follow_up", ["author_seen", "reply", "request", "withdrawn"])
def test_every_kind_of_follow_up_keeps_the_contact_details(cast: Cast, follow_up: str) -> None:
    public_story = tell_and_publish(cast, [cast.ward_a]).public_story
    submission_id = public_story.submission.pk
    age(submission_id, 500)
    recent = ago(30)
    if follow_up == "author_seen":
        Submission.objects.filter(pk=submission_id).update(author_seen_at=recent)
    elif follow_up == "withdrawn":
        Submission.objects.filter(pk=submission_id).update(withdrawn_at=recent)
    elif follow_up == "reply":
        with tenant_context(cast.org_a):
            story = Story.objects.get(public_id=public_story.pk)
            publish_response(
                story, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
            )
        response = PublicResponse.objects.get(public_story=public_story)
        PublicResponse.objects.filter(pk=response.pk).update(
            published_at=ago(400), updated_at=ago(400)
        )
        reply = AuthorReply.objects.create(response=response, body="Thank you for answering.")
        AuthorReply.objects.filter(pk=reply.pk).update(created_at=recent)
    else:
        request = AuthorRequest.objects.create(
            kind=AuthorRequestKind.COPY, submission_id=submission_id, via_link=True
        )
        AuthorRequest.objects.filter(pk=request.pk).update(created_at=ago(400), handled_at=recent)

    assert apply_retention().contact_removed == 0
    assert has_contact(submission_id)


@pytest.mark.django_db
def test_rejected_text_is_purged_after_90_days_not_at_89(cast: Cast) -> None:
    kept = reject(cast, 89, title="Rejected 89 days ago", assisted_by="my son")
    purged = reject(cast, 91, title="Rejected 91 days ago", assisted_by="my son")

    run = apply_retention()

    assert run.rejected_purged == 1
    assert fresh(kept).title == "Rejected 89 days ago"
    assert fresh(kept).rejection_note == "Advert." and fresh(kept).assisted_by == "my son"
    assert fresh(kept).text_purged_at is None
    assert is_purged(purged)
    assert purged_title() == "[removed after 90 days]"
    # A moderator opening it afterwards (which scans what is left) leaves nothing to purge.
    assert findings_for(fresh(purged))["title"] == []
    assert apply_retention().rejected_purged == 0
    # What is not the author's words stays: the decision and its reason.
    assert fresh(purged).state == SubmissionState.REJECTED
    assert fresh(purged).rejection_reason == "spam"


@pytest.mark.django_db
def test_the_moderators_audit_rows_lose_a_purged_storys_title_but_stay(cast: Cast) -> None:
    kept = reject(cast, 89, title="Kept title of a story")
    purged = reject(cast, 91, title="Purged title of a story")
    rows = AuditEvent.objects.filter(target_type="hub.submission")

    run = apply_retention()

    assert run.audit_wording_removed == 1
    (row,) = rows.filter(target_id=str(purged))
    assert "Purged title" not in row.summary
    assert row.action == "moderation.rejected" and row.actor_label == cast.moderator.email
    assert row.summary == "[wording removed with the story's text] moderation.rejected"
    assert "Kept title" in rows.get(target_id=str(kept)).summary
    assert apply_retention().audit_wording_removed == 0


@pytest.mark.django_db
def test_pending_and_published_texts_are_never_purged(cast: Cast) -> None:
    pending = tell([cast.ward_a], title="Still waiting")
    age(pending, 1000)
    published = tell_and_publish(cast, [cast.ward_a], title="Published long ago")
    published_id = published.public_story.submission.pk
    age(published_id, 1000)

    run = apply_retention()

    assert run.texts_purged == 0
    for submission_id, title in ((pending, "Still waiting"), (published_id, "Published long ago")):
        submission = fresh(submission_id)
        assert submission.title == title and submission.what_was_good
        assert submission.nickname == "Pat" and submission.text_purged_at is None
    # Their contact details, untouched for 1000 days, do go.
    assert run.contact_removed == 2


def withhold(cast: Cast, days_ago: int) -> int:
    submission_id = tell([cast.ward_a, cast.ward_b], title="Withheld story")
    Submission.objects.filter(pk=submission_id).update(
        state=SubmissionState.WITHHELD, moderated_at=ago(days_ago)
    )
    for organisation in (cast.org_a, cast.org_b):
        SafeguardingConcern.objects.create(
            submission_id=submission_id,
            organisation=organisation,
            category=ConcernCategory.ADULT_AT_RISK,
            note="The author describes a relative being hit at home.",
            raised_by=cast.moderator,
            raised_at=ago(days_ago),
            escalate_at=ago(days_ago),
        )
    return submission_id


@pytest.mark.django_db
def test_withheld_text_is_purged_90_days_after_the_last_acknowledgement(cast: Cast) -> None:
    submission_id = withhold(cast, 400)
    concerns = SafeguardingConcern.objects.filter(submission_id=submission_id)
    # One organisation has not acknowledged: the text is the evidence of the concern.
    concerns.filter(organisation=cast.org_a).update(acknowledged_at=ago(200))
    assert apply_retention().withheld_purged == 0
    assert fresh(submission_id).title == "Withheld story"
    # Both have, the later one 89 days ago: still kept.
    concerns.filter(organisation=cast.org_b).update(acknowledged_at=ago(89))
    assert apply_retention().withheld_purged == 0
    assert fresh(submission_id).text_purged_at is None
    # 91 days ago: purged, the concerns themselves kept.
    concerns.filter(organisation=cast.org_b).update(acknowledged_at=ago(91))
    assert apply_retention().withheld_purged == 1
    assert is_purged(submission_id)
    assert concerns.count() == 2


@pytest.mark.django_db
def test_anything_left_of_a_withdrawn_story_is_purged_at_once(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], title="Withdrawn story")
    Submission.objects.filter(pk=submission_id).update(
        state=SubmissionState.WITHDRAWN, withdrawn_at=timezone.now(), what_was_good=""
    )
    assert apply_retention().withdrawn_purged == 1
    withdrawn = fresh(submission_id)
    assert withdrawn.title == "[withdrawn at the author's request]"
    assert not (withdrawn.what_could_be_improved or withdrawn.how_it_felt or withdrawn.nickname)
    assert withdrawn.text_purged_at is not None
    # Wiped, with nothing found in what is left: nothing to do.
    nothing = {"title": [], "what_was_good": []}
    Submission.objects.filter(pk=submission_id).update(findings=nothing)
    assert apply_retention().withdrawn_purged == 0
    # A personal detail still recorded as found in it is something left.
    found = {"title": [], "what_was_good": [{"kind": "name", "start": 0, "end": 5}]}
    Submission.objects.filter(pk=submission_id).update(findings=found)
    assert apply_retention().withdrawn_purged == 1
    assert fresh(submission_id).findings is None


@pytest.mark.django_db
def test_handled_requests_lose_the_authors_words_a_year_after_handling(cast: Cast) -> None:
    def request(handled_days_ago: int | None) -> int:
        made = AuthorRequest.objects.create(
            kind=AuthorRequestKind.WITHDRAW,
            details="I wrote about the night of my fall on ward one.",
            contact="07700 900123",
            state=AuthorRequestState.OPEN if handled_days_ago is None else AuthorRequestState.DONE,
            handled_at=None if handled_days_ago is None else ago(handled_days_ago),
        )
        AuthorRequest.objects.filter(pk=made.pk).update(created_at=ago(900))
        return made.pk

    old, recent, open_ = request(366), request(364), request(None)

    assert apply_retention().requests_cleared == 1

    cleared = AuthorRequest.objects.get(pk=old)
    assert (cleared.details, cleared.contact) == ("", "")
    for kept in (recent, open_):
        assert AuthorRequest.objects.get(pk=kept).contact == "07700 900123"


@pytest.mark.django_db
def test_a_second_run_changes_nothing_and_each_run_is_audited_in_the_hub(cast: Cast) -> None:
    contact = tell([cast.ward_a])
    age(contact, 400)
    rejected = reject(cast, 400)  # its contact details go too

    first = apply_retention()
    after_first = fresh(rejected).text_purged_at, fresh(contact).contact_removed_at
    second = apply_retention()

    assert (first.contact_removed, first.rejected_purged) == (2, 1)
    assert (second.contact_removed, second.texts_purged, second.requests_cleared) == (0, 0, 0)
    assert (fresh(rejected).text_purged_at, fresh(contact).contact_removed_at) == after_first
    with schema_context("public"):
        runs = list(AuditEvent.objects.filter(action="retention.applied").order_by("id"))
    assert len(runs) == 2
    assert runs[0].actor is None and runs[0].actor_label == "platform: nightly retention"
    assert runs[0].detail["contact_removed"] == 2 and runs[0].detail["rejected_purged"] == 1
    assert runs[0].detail["contact_retention_days"] == 365
    assert runs[1].detail["contact_removed"] == 0
    # Neither the audit row nor anything else names the author.
    assert AUTHOR_EMAIL not in runs[0].summary + str(runs[0].detail)


@pytest.mark.django_db
def test_retention_reads_its_periods_from_settings(cast: Cast, settings: object) -> None:
    settings.AUTHOR_CONTACT_RETENTION_DAYS = 30
    settings.REJECTED_TEXT_RETENTION_DAYS = 10
    contact = tell([cast.ward_a])
    age(contact, 31)
    rejected = reject(cast, 11)

    run = apply_retention()

    assert (run.contact_removed, run.rejected_purged) == (1, 1)
    assert fresh(rejected).title == "[removed after 10 days]"
    assert not has_contact(contact) and has_contact(rejected)


@pytest.mark.django_db
def test_retention_touches_no_organisations_schema(cast: Cast) -> None:
    """Organisations hold no contact details: their stories and audit logs are untouched."""
    published = tell_and_publish(cast, [cast.ward_a], title="Kept in the workspace")
    age(published.public_story.submission.pk, 500)
    with tenant_context(cast.org_a):
        before = AuditEvent.objects.count()
        story = Story.objects.get(public_id=published.public_story.pk)

    assert apply_retention().contact_removed == 1

    with tenant_context(cast.org_a):
        assert AuditEvent.objects.count() == before
        assert not AuditEvent.objects.filter(action="retention.applied").exists()
        after = Story.objects.get(pk=story.pk)
        assert (after.title, after.body) == (story.title, story.body)


def test_the_nightly_task_applies_retention_on_the_real_worker(
    cast: Cast, committed_db: None, celery_worker_thread: object
) -> None:
    from feedback.tasks import apply_retention as retention_task

    with schema_context("public"):
        contact = tell([cast.ward_a], title="Worker retention probe")
        age(contact, 400)
        # No email, so no rejection notice is queued for the worker as well.
        rejected = reject(cast, 100, title="Worker rejected probe", email="")
        runs_before = AuditEvent.objects.filter(action="retention.applied").count()
    try:
        retention_task.delay()
        wait_until(lambda: fresh(contact).contact_removed_at is not None)
        with schema_context("public"):
            assert (fresh(contact).email, fresh(contact).postcode) == ("", "")
            assert is_purged(rejected)
            # Moderated 100 days ago is a follow-up: its postcode stays for now.
            assert fresh(rejected).postcode == AUTHOR_POSTCODE
            run = AuditEvent.objects.filter(action="retention.applied").latest("id")
            assert AuditEvent.objects.filter(action="retention.applied").count() == runs_before + 1
            assert run.detail["rejected_purged"] >= 1 and run.detail["contact_removed"] >= 1
    finally:
        with schema_context("public"):
            for submission in Submission.objects.filter(pk__in=[contact, rejected]):
                submission.services.clear()
                submission.delete()


def test_retention_runs_every_night() -> None:
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["feedback-retention"]
    assert entry["task"] == "feedback.apply_retention"
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {40}


@pytest.mark.django_db
def test_a_withdrawn_storys_contact_details_go_a_day_later_if_its_notice_never_ran(
    cast: Cast,
) -> None:
    submission_id = tell([cast.ward_a], title="Withdrawn, notice lost")
    Submission.objects.filter(pk=submission_id).update(
        state=SubmissionState.WITHDRAWN, withdrawn_at=timezone.now() - timedelta(hours=23)
    )
    assert apply_retention().contact_removed == 0
    assert has_contact(submission_id)
    Submission.objects.filter(pk=submission_id).update(
        withdrawn_at=timezone.now() - timedelta(hours=25)
    )
    assert apply_retention().contact_removed == 1
    assert not has_contact(submission_id)
