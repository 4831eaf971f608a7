"""Anonymity that holds: moderators check, edit and redact the nickname, who posted a story on
the author's behalf, and authors' replies; outside the hub a story carries only its day."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from feedback import pii
from feedback.apikeys import create_api_key
from feedback.followup import submit_author_reply
from feedback.hub.models import (
    AuthorReply,
    PublicResponse,
    PublicStory,
    ReplyState,
    Submission,
    SubmissionState,
)
from feedback.models import Story
from feedback.moderation import Decision, publish_submission
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.conftest import PASSWORD, Cast, client_for, sign_in, tell, tell_and_publish

pytestmark = pytest.mark.django_db

UK = ZoneInfo("Europe/London")
NICKNAME = "jo.bloggs@example.com"
HELPER = "Her son, on 07700 900123"


def moderator(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def hub_staff_without_moderation() -> Client:
    """Platform staff who are not moderators."""
    with schema_context("public"):
        User.objects.create_user(
            "support@carevoice.example", PASSWORD, full_name="Sam Support", is_staff=True
        )
    client = client_for(None)
    assert sign_in(client, "support@carevoice.example").status_code == 302
    return client


def as_posted(submission: Submission, **changes: object) -> dict[str, object]:
    """The moderation form as the page fills it in, with `changes`."""
    return {
        "title": submission.title,
        "what_was_good": submission.what_was_good,
        "what_could_be_improved": submission.what_could_be_improved,
        "how_it_felt": submission.how_it_felt,
        "nickname": submission.nickname,
        "assisted_by": submission.assisted_by,
        **changes,
    }


def stories_everywhere(cast: Cast, public_id: int) -> list[Story]:
    stories = []
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            stories.append(Story.objects.get(public_id=public_id))
    return stories


# --- the nickname and "posted on behalf of" ---------------------------------------------------


def test_moderation_shows_the_nickname_and_who_posted_it_with_their_details_flagged(
    cast: Cast,
) -> None:
    submission_id = tell([cast.ward_a], nickname=NICKNAME, route="assisted", assisted_by=HELPER)
    page = moderator(cast).get(f"/moderation/{submission_id}/").content.decode()
    assert f">{NICKNAME}</mark>" in page
    assert ">07700 900123</mark>" in page
    # Each is offered for redaction, and is there to edit.
    assert 'value="nickname:0"' in page and 'value="assisted_by:0"' in page
    assert 'name="nickname"' in page and f'value="{NICKNAME}"' in page
    assert 'name="assisted_by"' in page and f'value="{HELPER}"' in page
    queue = moderator(cast).get("/moderation/").content.decode()
    assert f">{NICKNAME}</mark>" in queue and ">07700 900123</mark>" in queue


@pytest.mark.parametrize(
    ("nickname", "kind", "found"),
    [
        ("Jo, jo.bloggs@example.com", "email", "jo.bloggs@example.com"),
        ("Jo on 07700 900456", "phone", "07700 900456"),
    ],
)
def test_a_nickname_holding_an_email_or_phone_number_is_flagged(
    cast: Cast, nickname: str, kind: str, found: str
) -> None:
    submission_id = tell([cast.ward_a], nickname=nickname, what_was_good="Kind staff.")
    stored = Submission.objects.get(pk=submission_id).findings
    assert (kind, found) in [(f["kind"], f["text"]) for f in stored["nickname"]]
    row = moderator(cast).get("/moderation/").content.decode()
    assert f">{found}</mark>" in row


def test_redacting_the_nickname_and_editing_the_helper_changes_every_published_copy(
    cast: Cast,
) -> None:
    submission_id = tell(
        [cast.ward_a, cast.ward_b], nickname=NICKNAME, route="assisted", assisted_by=HELPER
    )
    submission = Submission.objects.get(pk=submission_id)
    response = moderator(cast).post(
        f"/moderation/{submission_id}/",
        as_posted(
            submission,
            action="publish",
            assisted_by="A relative",
            redact=["nickname:0"],
            **{"finding-nickname-0": NICKNAME, "replacement-nickname-0": "Jo"},
            criticality="not critical",
            services=[cast.ward_a.pk, cast.ward_b.pk],
            details_checked="on",
        ),
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    public = PublicStory.objects.get(submission__pk=submission_id)
    assert public.author_nickname == "Jo"
    for story in stories_everywhere(cast, public.pk):
        assert (story.author_nickname, story.assisted_by) == ("Jo", "A relative")
    hub_page = client_for(None).get(f"/stories/{public.pk}/").content.decode()
    assert "Posted by Jo" in hub_page and NICKNAME not in hub_page
    staff = client_for(cast.org_a)
    sign_in(staff, cast.responder_a.email)
    (story_a, _) = stories_everywhere(cast, public.pk)
    staff_page = staff.get(f"/stories/{story_a.pk}/").content.decode()
    assert "typed by A relative" in staff_page and "07700" not in staff_page
    with schema_context("public"):  # moderators' actions are audited on the hub
        edited = AuditEvent.objects.get(action="moderation.edited", target_id=str(submission_id))
        assert AuditEvent.objects.filter(
            action="moderation.published", target_id=str(submission_id)
        ).exists()
    assert "nickname" in edited.summary and edited.detail == {"redacted": {"email": 1}}
    assert NICKNAME not in edited.summary and "07700" not in edited.summary


def test_saving_an_edited_nickname_stores_it_with_its_new_findings(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], nickname=NICKNAME, assisted_by=HELPER)
    submission = Submission.objects.get(pk=submission_id)
    response = moderator(cast).post(
        f"/moderation/{submission_id}/",
        as_posted(
            submission,
            action="save",
            nickname="Jo from Leeds",
            redact=["assisted_by:0"],
            **{"finding-assisted_by-0": "07700 900123", "replacement-assisted_by-0": ""},
        ),
    )
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.nickname == "Jo from Leeds"
    assert submission.assisted_by == "Her son, on [phone number removed]"
    assert submission.findings["assisted_by"] == []
    assert submission.state == SubmissionState.PENDING
    assert AuditEvent.objects.filter(action="moderation.edited").count() == 1


def test_publishing_with_a_flagged_nickname_left_needs_the_moderators_confirmation(
    cast: Cast,
) -> None:
    submission_id = tell([cast.ward_a], nickname=NICKNAME, what_was_good="Kind staff.")
    submission = Submission.objects.get(pk=submission_id)
    form = as_posted(
        submission, action="publish", criticality="not critical", services=[cast.ward_a.pk]
    )
    refused = moderator(cast).post(f"/moderation/{submission_id}/", form)
    assert refused.status_code == 400
    assert "Personal details are still highlighted" in refused.content.decode()
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING


def test_a_redaction_that_makes_the_nickname_too_long_is_refused_with_a_message(
    cast: Cast,
) -> None:
    nickname = "x" * 40 + " a@b.co"
    submission_id = tell([cast.ward_a], nickname=nickname)
    submission = Submission.objects.get(pk=submission_id)
    response = moderator(cast).post(
        f"/moderation/{submission_id}/",
        as_posted(
            submission,
            action="save",
            redact=["nickname:0"],
            **{"finding-nickname-0": "a@b.co", "replacement-nickname-0": "y" * 60},
        ),
    )
    assert response.status_code == 400
    assert "shorten it to 60 or fewer" in response.content.decode()
    assert Submission.objects.get(pk=submission_id).nickname == nickname


# --- authors' replies --------------------------------------------------------------------------


def author_reply(cast: Cast, body: str) -> AuthorReply:
    """An author's reply to a published response, through the product's own operations."""
    published = tell_and_publish(cast, [cast.ward_a])
    responder = client_for(cast.org_a)
    sign_in(responder, cast.responder_a.email)
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    answer = (
        "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for "
        "telling us how kind the nurses were. We have added a discharge coordinator so beds "
        "free up earlier in the day. Rita Responder, Ward Manager"
    )
    response = responder.post(
        f"/stories/{story.pk}/",
        {
            "action": "publish",
            "body": answer,
            "change_status": "planned",
            "change_description": "A discharge coordinator on Alpha Ward One",
        },
    )
    assert response.status_code == 302
    return submit_author_reply(
        PublicResponse.objects.get(public_story=published.public_story), body
    )


REPLY = "Thank you. Ring me on 07700 900456 and ask for Jo."


def test_a_reply_is_shown_to_moderators_with_its_findings_without_scanning_it(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = author_reply(cast, REPLY)
    scanned: list[str] = []
    scan = pii.find_personal_details

    def counted(text: str) -> list[pii.Finding]:
        scanned.append(text)
        return scan(text)

    monkeypatch.setattr(pii, "find_personal_details", counted)
    client = moderator(cast)
    page = client.get(f"/moderation/replies/{reply.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert ">07700 900456</mark>" in body and 'value="body:0"' in body
    assert f"{REPLY}</textarea>" in body
    queue = client.get("/moderation/").content.decode()
    assert f'href="/moderation/replies/{reply.pk}/"' in queue
    assert scanned == []


def test_a_moderator_redacts_a_reply_before_publishing_it(cast: Cast) -> None:
    reply = author_reply(cast, REPLY)
    client = moderator(cast)
    saved = client.post(
        f"/moderation/replies/{reply.pk}/",
        {
            "action": "save",
            "body": REPLY,
            "redact": ["body:0"],
            "finding-body-0": "07700 900456",
            "replacement-body-0": "",
        },
    )
    assert saved.status_code == 302
    reply.refresh_from_db()
    assert reply.body == "Thank you. Ring me on [phone number removed] and ask for Jo."
    assert reply.findings == [f.to_json() for f in pii.find_personal_details(reply.body)], (
        "the findings are those of the new text"
    )
    assert reply.state == ReplyState.PENDING
    edited = AuditEvent.objects.get(action="moderation.reply_edited")
    assert edited.detail == {"redacted": {"phone": 1}} and "07700" not in edited.summary

    published = client.post(
        f"/moderation/replies/{reply.pk}/",
        {"action": "publish", "body": "Thank you, that helps.", "details_checked": "on"},
    )
    assert published.status_code == 302
    reply.refresh_from_db()
    assert (reply.state, reply.body) == (ReplyState.PUBLISHED, "Thank you, that helps.")
    story_page = client_for(None).get(f"/stories/{reply.response.public_story_id}/")
    assert "Thank you, that helps." in story_page.content.decode()
    assert "07700" not in story_page.content.decode()
    assert AuditEvent.objects.filter(action="moderation.reply_edited").count() == 2
    assert AuditEvent.objects.filter(action="moderation.reply_published").count() == 1


def test_a_reply_with_details_left_is_published_only_once_the_moderator_confirms(
    cast: Cast,
) -> None:
    reply = author_reply(cast, REPLY)
    client = moderator(cast)
    refused = client.post(f"/moderation/replies/{reply.pk}/", {"action": "publish"})
    assert refused.status_code == 400
    assert "Personal details are still highlighted" in refused.content.decode()
    assert AuthorReply.objects.get(pk=reply.pk).state == ReplyState.PENDING
    confirmed = client.post(
        f"/moderation/replies/{reply.pk}/", {"action": "publish", "details_checked": "on"}
    )
    assert confirmed.status_code == 302
    assert AuthorReply.objects.get(pk=reply.pk).body == REPLY


# --- isolation ---------------------------------------------------------------------------------


def test_only_moderators_reach_the_new_moderation_actions(
    cast: Cast, admin_b_client: Client
) -> None:
    reply = author_reply(cast, REPLY)
    submission_id = tell([cast.ward_a], nickname=NICKNAME)
    edit_reply = {"action": "save", "body": "Changed by someone else."}
    edit_story = {"action": "save", "title": "T", "what_was_good": "x", "nickname": "Hacked"}
    # Another organisation's staff: the workspace has no moderation, and their session means
    # nothing on the hub.
    for path in (f"/moderation/replies/{reply.pk}/", f"/moderation/{submission_id}/"):
        assert admin_b_client.get(path).status_code == 404
    admin_b_client.defaults["HTTP_HOST"] = client_for(None).defaults.get("HTTP_HOST", "localhost")
    response = admin_b_client.post(f"/moderation/replies/{reply.pk}/", edit_reply)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert admin_b_client.get(f"/moderation/replies/{reply.pk}/").status_code == 302
    # Platform staff without the moderator permission.
    support = hub_staff_without_moderation()
    assert support.get(f"/moderation/replies/{reply.pk}/").status_code == 403
    assert support.post(f"/moderation/replies/{reply.pk}/", edit_reply).status_code == 403
    assert support.post(f"/moderation/{submission_id}/", edit_story).status_code == 403
    assert AuthorReply.objects.get(pk=reply.pk).body == REPLY
    assert Submission.objects.get(pk=submission_id).nickname == NICKNAME
    assert not AuditEvent.objects.filter(
        action__in=["moderation.reply_edited", "moderation.edited"]
    ).exists()


# --- the day only, outside the hub ------------------------------------------------------------


def publish_sent_at(cast: Cast, sent: datetime, **overrides: object) -> PublicStory:
    submission_id = tell([cast.ward_a, cast.ward_b], **overrides)
    # Time travel for the test: the author sent it then.
    Submission.objects.filter(pk=submission_id).update(created_at=sent)
    return publish_submission(
        submission_id,
        moderator=cast.moderator,
        decision=Decision(
            criticality="not critical", tag_keys=[], listings=[cast.ward_a, cast.ward_b]
        ),
    ).public_story


@pytest.mark.parametrize(
    ("sent", "day"),
    [
        # Winter: UK time is UTC.
        (datetime(2025, 2, 3, 14, 37, 22, tzinfo=UTC), "2025-02-03"),
        # Summer: 23:30 UTC is 00:30 the next day in the UK.
        (datetime(2025, 7, 1, 23, 30, 5, tzinfo=UTC), "2025-07-02"),
    ],
)
def test_organisations_and_the_api_get_only_the_day_a_story_was_sent(
    cast: Cast, sent: datetime, day: str
) -> None:
    public = publish_sent_at(cast, sent)
    midnight = datetime.fromisoformat(day).replace(tzinfo=UK)
    for story in stories_everywhere(cast, public.pk):
        assert story.submitted_at == midnight
        assert story.submitted_at.astimezone(UK).time().isoformat() == "00:00:00"
    # The hub keeps the second, for moderation.
    assert PublicStory.objects.get(pk=public.pk).submitted_at == sent
    key = create_api_key(cast.org_a, name="analysts").secret
    hub = client_for(None)
    opinion = hub.get(f"/api/v2/opinions/{public.pk}?key={key}").json()
    assert opinion["dateOfSubmission"] == f"{day}T00:00:00Z"
    # Clients parse it as before.
    parsed = datetime.strptime(opinion["dateOfSubmission"], "%Y-%m-%dT%H:%M:%S%z")
    assert parsed == datetime.fromisoformat(day).replace(tzinfo=UTC)
    listed = hub.get(f"/api/v2/opinions?key={key}").json()
    assert [o["dateOfSubmission"] for o in listed] == [f"{day}T00:00:00Z"]
    xml = hub.get(f"/api/v2/opinions/{public.pk}?key={key}&format=xml").content
    assert ElementTree.fromstring(xml).findtext("dateOfSubmission") == f"{day}T00:00:00Z"


def test_the_submission_filter_cannot_find_the_time_a_story_was_sent(cast: Cast) -> None:
    public = publish_sent_at(cast, datetime(2025, 3, 4, 14, 37, 22, tzinfo=UTC))
    key = create_api_key(cast.org_a, name="analysts").secret
    hub = client_for(None)

    def found(after: str) -> bool:
        answer = hub.get(f"/api/v2/opinions?key={key}&submittedonafter={after}")
        assert answer.status_code == 200
        return [o["id"] for o in answer.json()] == [public.pk]

    assert found("2025-03-04")
    assert not found("2025-03-05")
    # A time of day either side of the second it was sent gives the same answer.
    assert found("2025-03-04T14:37:00") == found("2025-03-04T14:38:00")
