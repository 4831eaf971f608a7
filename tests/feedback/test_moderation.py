"""Moderation: the queue, redactions, publishing in one transaction, rejections, conflicts."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from feedback import pii
from feedback.followup import submit_author_reply
from feedback.hub.models import PublicResponse, PublicStory, Submission, SubmissionState
from feedback.models import Story
from feedback.moderation import (
    Decision,
    ModerationConflict,
    ModerationError,
    publish_submission,
    reject_submission,
)
from feedback.publishing import PublishingError
from tenants.audit.models import AuditEvent
from tests.conftest import (
    AUTHOR_EMAIL,
    PASSWORD,
    Cast,
    client_for,
    sign_in,
    tell,
    tell_and_publish,
)
from tests.feedback.notices import send_notice

pytestmark = pytest.mark.django_db

PII_STORY = {
    "what_was_good": "Nurse Jo Bloggs was lovely. My NHS number is 943 476 5919.",
    "what_could_be_improved": "Ring me on 07700 900123 or email me@example.org.",
    "how_it_felt": "Born on 12/03/1956, I felt old! See www.example.org/me",
}


def moderator(cast: Cast):  # noqa: ANN201
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def decision(cast: Cast, **overrides: object) -> Decision:
    values = {"criticality": "not critical", "tag_keys": [], "listings": [cast.ward_a]}
    values.update(overrides)
    return Decision(**values)


def test_the_queue_is_oldest_first_with_counts_and_flags_personal_details(cast: Cast) -> None:
    first = tell([cast.ward_a], title="First story", **PII_STORY)
    tell([cast.ward_a], title="Second story")
    body = moderator(cast).get("/moderation/").content.decode()
    assert body.index("First story") < body.index("Second story")
    assert '<p class="figure">2</p>' in body
    page = moderator(cast).get(f"/moderation/{first}/").content.decode()
    for detail in (
        "Nurse Jo Bloggs",
        "943 476 5919",
        "07700 900123",
        "me@example.org",
        "12/03/1956",
        "www.example.org/me",
    ):
        assert f">{detail}</mark>" in page, detail


def test_accepted_redactions_are_applied_and_edited_ones_use_the_moderators_words(
    cast: Cast,
) -> None:
    submission_id = tell([cast.ward_a], **PII_STORY)
    submission = Submission.objects.get(pk=submission_id)
    response = moderator(cast).post(
        f"/moderation/{submission_id}/",
        {
            "action": "save",
            "title": submission.title,
            "what_was_good": submission.what_was_good,
            "what_could_be_improved": submission.what_could_be_improved,
            "how_it_felt": submission.how_it_felt,
            "redact": ["what_was_good:0", "what_was_good:1", "what_could_be_improved:0"],
            "finding-what_was_good-0": "Nurse Jo Bloggs",
            "replacement-what_was_good-0": "a nurse",
            "finding-what_was_good-1": "943 476 5919",
            "replacement-what_was_good-1": "",
            "finding-what_could_be_improved-0": "07700 900123",
            "replacement-what_could_be_improved-0": "[phone number removed]",
        },
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.what_was_good == "a nurse was lovely. My NHS number is [NHS number removed]."
    assert "07700" not in submission.what_could_be_improved
    assert "me@example.org" in submission.what_could_be_improved  # not ticked, kept
    event = AuditEvent.objects.get(action="moderation.edited")
    assert event.detail == {"redacted": {"name": 1, "nhs_number": 1, "phone": 1}}
    assert "943" not in str(event.detail) and "Bloggs" not in event.summary


def test_publishing_with_details_left_needs_the_moderators_confirmation(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], what_was_good="Dr Smith was great.")
    form = {
        "action": "publish",
        "title": "A title",
        "what_was_good": "Dr Smith was great.",
        "criticality": "not critical",
        "services": [cast.ward_a.pk],
    }
    response = moderator(cast).post(f"/moderation/{submission_id}/", form, follow=True)
    assert "Personal details are still highlighted" in response.content.decode()
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
    response = moderator(cast).post(
        f"/moderation/{submission_id}/", {**form, "details_checked": "on"}
    )
    assert response.status_code == 302
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PUBLISHED


@pytest.mark.parametrize(
    ("missing", "message"),
    [({"criticality": ""}, "criticality"), ({"services": []}, "at least one service")],
)
def test_publishing_needs_criticality_and_a_service(
    cast: Cast, missing: dict[str, object], message: str
) -> None:
    submission_id = tell([cast.ward_a])
    form = {
        "action": "publish",
        "title": "T",
        "what_was_good": "Fine.",
        "criticality": "not critical",
        "services": [cast.ward_a.pk],
        **missing,
    }
    response = moderator(cast).post(f"/moderation/{submission_id}/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PublicStory.objects.exists()


def test_publishing_writes_story_public_copy_and_state_in_one_transaction(cast: Cast) -> None:
    submission_id = tell([cast.ward_a, cast.ward_b])
    # An unknown tag fails after the PublicStory and A's Story are written: all must vanish.
    with pytest.raises(PublishingError):
        publish_submission(
            submission_id,
            moderator=cast.moderator,
            decision=decision(cast, listings=[cast.ward_a, cast.ward_b], tag_keys=["nope:nope"]),
        )
    connection.set_schema_to_public()
    assert not PublicStory.objects.exists()
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
    for org in (cast.org_a, cast.org_b):
        with tenant_context(org):
            assert not Story.objects.exists()


def test_publishing_signals_listeners_only_after_commit(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    from feedback.signals import story_published

    heard: list[dict[str, object]] = []

    def listener(**kwargs: object) -> None:
        heard.append(kwargs)

    story_published.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            published = publish_submission(
                tell([cast.ward_a]), moderator=cast.moderator, decision=decision(cast)
            )
            assert heard == []
        assert callbacks, "nothing was left for after the commit"
    finally:
        story_published.disconnect(listener)
    assert len(heard) == 1
    assert heard[0]["public_story_id"] == published.public_story.pk
    assert heard[0]["stories"] == published.stories


def test_a_submission_cannot_be_published_twice(cast: Cast) -> None:
    submission_id = tell([cast.ward_a])
    publish_submission(submission_id, moderator=cast.moderator, decision=decision(cast))
    with pytest.raises(ModerationConflict, match="already published by Morgan Moderator"):
        publish_submission(submission_id, moderator=cast.moderator, decision=decision(cast))
    with pytest.raises(ModerationConflict):
        reject_submission(submission_id, moderator=cast.moderator, reason="spam")
    assert PublicStory.objects.count() == 1


def test_rejecting_emails_the_author_with_the_reason(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    submission_id = tell([cast.ward_a], title="Not about care")
    with django_capture_on_commit_callbacks() as callbacks:
        moderator(cast).post(
            f"/moderation/{submission_id}/",
            {
                "action": "reject",
                "title": "Not about care",
                "what_was_good": "x",
                "rejection_reason": "not about care",
                "rejection_note": "Tell us about a visit instead.",
            },
        )
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.REJECTED
    assert len(callbacks) == 1  # the email is queued for the worker after commit
    assert send_notice("rejection", submission_id)
    assert mail.outbox[0].to == [AUTHOR_EMAIL]
    assert "It is not about an experience of care" in mail.outbox[0].body
    assert "Tell us about a visit instead." in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="moderation.rejected").exists()


def test_rejecting_needs_a_reason(cast: Cast) -> None:
    submission_id = tell([cast.ward_a])
    response = moderator(cast).post(
        f"/moderation/{submission_id}/",
        {"action": "reject", "title": "T", "what_was_good": "x", "rejection_reason": ""},
    )
    assert "Choose a reason" in response.content.decode()
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING


def test_only_moderators_reach_moderation(cast: Cast) -> None:
    anonymous = client_for(None).get("/moderation/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    # Organisation staff have no account on the hub at all.
    staff = client_for(None)
    assert not staff.login(username=cast.admin_a.email, password=PASSWORD)
    with schema_context("public"):
        from tenants.accounts.models import User

        User.objects.create_user(
            "support@carevoice.example", PASSWORD, full_name="S", is_staff=True
        )
    support = client_for(None)
    assert sign_in(support, "support@carevoice.example").status_code == 302
    assert support.get("/moderation/").status_code == 403
    assert support.get(f"/moderation/{tell([cast.ward_a])}/").status_code == 403


def test_a_moderated_submission_shows_who_did_it(cast: Cast) -> None:
    submission_id = tell([cast.ward_a])
    publish_submission(submission_id, moderator=cast.moderator, decision=decision(cast))
    body = moderator(cast).get(f"/moderation/{submission_id}/").content.decode()
    assert "published by Morgan Moderator" in body


def test_moderation_errors_are_messages_not_failures(cast: Cast) -> None:
    with pytest.raises(ModerationError, match="criticality"):
        publish_submission(
            tell([cast.ward_a]), moderator=cast.moderator, decision=decision(cast, criticality="")
        )
    response = moderator(cast).post("/moderation/424242/", {"action": "publish"})
    assert response.status_code == 404


def test_staff_see_criticality_in_their_workspace(cast: Cast) -> None:
    from tests.conftest import tell_and_publish

    published = tell_and_publish(cast, [cast.ward_a], criticality="strongly critical")
    client = client_for(cast.org_a)
    sign_in(client, cast.member_a.email)
    assert "Strongly critical" in client.get("/stories/").content.decode()
    (schema, story_id) = published.stories[0]
    assert "Strongly critical" in client.get(f"/stories/{story_id}/").content.decode()


def test_a_moderator_can_correct_the_service_to_another_organisations(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], title="Wrong place")
    client = moderator(cast)
    found = client.post(
        f"/moderation/{submission_id}/",
        {"action": "find", "q": "Beta Private", "title": "Wrong place", "what_was_good": "Fine."},
    )
    assert found.status_code == 200
    assert f'value="{cast.ward_b.pk}"' in found.content.decode()
    response = client.post(
        f"/moderation/{submission_id}/",
        {
            "action": "publish",
            "q": "Beta Private",
            "title": "Wrong place",
            "what_was_good": "Fine.",
            "criticality": "not critical",
            "services": [cast.ward_b.pk],
        },
    )
    assert response.status_code == 302
    story = PublicStory.objects.get(title="Wrong place")
    assert list(story.organisations.all()) == [cast.org_b]


def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the personal-details scanner is given from now on."""
    calls: list[str] = []
    scan = pii.find_personal_details

    def counted(text: str) -> list[pii.Finding]:
        calls.append(text)
        return scan(text)

    monkeypatch.setattr(pii, "find_personal_details", counted)
    return calls


def author_reply(cast: Cast, body: str) -> None:
    """An author's reply to a published response, through the product's own operations."""
    published = tell_and_publish(cast, [cast.ward_a])
    responder = client_for(cast.org_a)
    sign_in(responder, cast.responder_a.email)
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    reply = (
        "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for "
        "telling us how kind the nurses were. We have added a discharge coordinator so beds "
        "free up earlier in the day. Rita Responder, Ward Manager"
    )
    assert (
        responder.post(
            f"/stories/{story.pk}/",
            {
                "action": "publish",
                "body": reply,
                "change_status": "planned",
                "change_description": "A discharge coordinator on Alpha Ward One",
            },
        ).status_code
        == 302
    )
    submit_author_reply(PublicResponse.objects.get(public_story=published.public_story), body)


def test_the_moderation_pages_show_stored_findings_and_never_scan_text(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tell([cast.ward_a], title="First story", **PII_STORY)
    author_reply(cast, "Thanks. Ring me on 07700 900456 if you like.")
    calls = scans(monkeypatch)
    client = moderator(cast)
    queue = client.get("/moderation/").content.decode()
    page = client.get(f"/moderation/{first}/").content.decode()
    assert calls == []
    assert "<strong>6</strong>" in queue  # six details found in the first story
    assert "<mark>07700 900456</mark>" in queue
    assert ">Nurse Jo Bloggs</mark>" in page and ">www.example.org/me</mark>" in page


def test_a_story_sent_before_findings_were_stored_is_scanned_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    submission_id = tell([cast.ward_a], title="Older story", **PII_STORY)
    Submission.objects.filter(pk=submission_id).update(findings=None)
    calls = scans(monkeypatch)
    client = moderator(cast)
    assert "<strong>6</strong>" in client.get("/moderation/").content.decode()
    assert len(calls) == 6  # one for each field a moderator checks (text, nickname, helper)
    assert "<strong>6</strong>" in client.get("/moderation/").content.decode()
    assert ">943 476 5919</mark>" in client.get(f"/moderation/{submission_id}/").content.decode()
    assert len(calls) == 6


def test_a_moderators_edit_stores_the_findings_of_the_new_text(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], **PII_STORY)
    submission = Submission.objects.get(pk=submission_id)
    client = moderator(cast)
    response = client.post(
        f"/moderation/{submission_id}/",
        {
            "action": "save",
            "title": submission.title,
            "what_was_good": submission.what_was_good,
            "what_could_be_improved": "Ring me on 07700 900123 or email me@example.org.",
            "how_it_felt": "Born on 12/03/1956, I felt old!",
            "redact": ["what_could_be_improved:0"],
            "finding-what_could_be_improved-0": "07700 900123",
            "replacement-what_could_be_improved-0": "[phone number removed]",
        },
    )
    assert response.status_code == 302
    stored = Submission.objects.get(pk=submission_id).findings
    assert [f["text"] for f in stored["what_could_be_improved"]] == ["me@example.org"]
    assert [f["text"] for f in stored["how_it_felt"]] == ["12/03/1956"]
    page = client.get(f"/moderation/{submission_id}/").content.decode()
    assert ">me@example.org</mark>" in page
    assert ">07700 900123</mark>" not in page and ">www.example.org/me</mark>" not in page
