"""Responding: the inbox and triage, named public responses, the quality check, the edit
window, responding on a colleague's behalf, changes, and the author's side."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.signing import TimestampSigner
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.author_links import SALT, make_token
from feedback.choices import ChangeStatus
from feedback.hub.models import AuthorReply, PublicResponse, PublicStory, ReplyState
from feedback.models import Response, ResponseVersion, Story
from feedback.responding import (
    Draft,
    RespondingError,
    edit_response,
    publish_response,
    record_change,
)
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.conftest import AUTHOR_EMAIL, Cast, client_for, sign_in, tell_and_publish
from tests.feedback.notices import send_notice

pytestmark = pytest.mark.django_db

GOOD_REPLY = (
    "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We have added a discharge coordinator so beds free up "
    "earlier in the day. Rita Responder, Ward Manager"
)
GENERIC_REPLY = "Thank you for your feedback. Please contact PALS on 01234 567890."


@pytest.fixture
def story_a(cast: Cast) -> Story:
    published = tell_and_publish(cast, [cast.ward_a], criticality="moderately critical")
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def responder_client(cast: Cast, email: str | None = None):  # noqa: ANN201
    client = client_for(cast.org_a)
    sign_in(client, email or cast.responder_a.email)
    return client


def test_the_whole_loop_publish_respond_email_reply_moderated_shown(
    cast: Cast, story_a: Story, django_capture_on_commit_callbacks: object
) -> None:
    client = responder_client(cast)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/stories/{story_a.pk}/",
            {
                "action": "publish",
                "body": GOOD_REPLY,
                "change_status": "planned",
                "change_description": "A discharge coordinator on Alpha Ward One",
            },
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert callbacks, "the author's email waits for the commit"
    public = PublicResponse.objects.get(public_story_id=story_a.public_id)
    assert public.responder_name == "Rita Responder"

    assert send_notice("response", public.pk)
    email = mail.outbox[-1]
    assert email.to == [AUTHOR_EMAIL]
    link = re.search(r"http://localhost:8000(/r/[^/\s]+/)", email.body).group(1)

    hub = client_for(None)
    page = hub.get(link)
    assert page.status_code == 200 and "Rita Responder" in page.content.decode()
    hub.post(link, {"action": "reply", "body": "Thank you, that is good to hear."})
    hub.post(link, {"action": "helpful"})
    hub.post(link, {"action": "change happened"})
    reply = AuthorReply.objects.get()
    assert reply.state == ReplyState.PENDING
    story_page = hub.get(f"/stories/{story_a.public_id}/").content.decode()
    assert "that is good to hear" not in story_page  # not until moderated

    moderator = client_for(None)
    assert sign_in(moderator, cast.moderator.email).status_code == 302
    assert "that is good to hear" in moderator.get("/moderation/").content.decode()
    moderator.post(f"/moderation/replies/{reply.pk}/", {"action": "publish"})

    story_page = hub.get(f"/stories/{story_a.public_id}/").content.decode()
    assert "Rita Responder" in story_page
    assert "that is good to hear" in story_page
    assert "found this response helpful" in story_page
    assert "The author says this happened" in story_page
    assert PublicStory.objects.get(pk=story_a.public_id).progress == "changed"


def test_a_generic_reply_is_caught_before_it_is_published(cast: Cast, story_a: Story) -> None:
    client = responder_client(cast)
    checked = client.post(
        f"/stories/{story_a.pk}/",
        {"action": "check", "body": GENERIC_REPLY, "change_status": "none"},
    )
    assert checked.status_code == 200
    assert "PALS" in checked.content.decode() and "Quality check" in checked.content.decode()
    refused = client.post(
        f"/stories/{story_a.pk}/",
        {"action": "publish", "body": GENERIC_REPLY, "change_status": "none"},
    )
    assert "looks generic" in refused.content.decode()
    assert not PublicResponse.objects.exists()
    confirmed = client.post(
        f"/stories/{story_a.pk}/",
        {
            "action": "publish",
            "body": GENERIC_REPLY,
            "change_status": "none",
            "confirm_generic": "on",
        },
    )
    assert confirmed.status_code == 302
    with tenant_context(cast.org_a):
        stored = Response.objects.get()
        codes = {a["code"] for a in stored.quality["advice"]}
    assert "only_redirects" in codes
    assert stored.quality["score"] < 50


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "Write your response"), ("word " * 1001, "under 1,000 words")],
)
def test_empty_or_oversized_responses_are_refused(
    cast: Cast, story_a: Story, body: str, message: str
) -> None:
    with tenant_context(cast.org_a), pytest.raises(RespondingError, match=message):
        publish_response(
            story_a, Draft(body), responder=cast.responder_a, written_by=cast.responder_a
        )
    assert not PublicResponse.objects.exists()


def test_markup_in_a_response_is_shown_as_text(cast: Cast, story_a: Story) -> None:
    with tenant_context(cast.org_a):
        publish_response(
            story_a,
            Draft(GOOD_REPLY + " <script>alert(1)</script>"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    page = client_for(None).get(f"/stories/{story_a.public_id}/").content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_the_edit_window_keeps_every_version(cast: Cast, story_a: Story) -> None:
    with tenant_context(cast.org_a):
        response = publish_response(
            story_a, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )
        edit_response(response, Draft(GOOD_REPLY + " Edited."), editor=cast.responder_a)
        assert ResponseVersion.objects.filter(response=response).count() == 2
        with pytest.raises(RespondingError, match="Only the person"):
            edit_response(response, Draft("x y z"), editor=cast.admin_a)
        Response.objects.filter(pk=response.pk).update(
            published_at=timezone.now() - timedelta(minutes=31)
        )
        response.refresh_from_db()
        with pytest.raises(RespondingError, match="30 minutes"):
            edit_response(response, Draft(GOOD_REPLY + " Late."), editor=cast.responder_a)
    assert PublicResponse.objects.get().body.endswith("Edited.")


def test_admins_respond_on_behalf_of_a_colleague_and_it_is_recorded(
    cast: Cast, story_a: Story
) -> None:
    client = responder_client(cast, cast.admin_a.email)
    response = client.post(
        f"/stories/{story_a.pk}/",
        {
            "action": "publish",
            "body": GOOD_REPLY,
            "change_status": "none",
            "responder": cast.responder_a.pk,
        },
    )
    assert response.status_code == 302
    assert PublicResponse.objects.get().responder_name == "Rita Responder"
    with tenant_context(cast.org_a):
        stored = Response.objects.get()
        assert (stored.responder_id, stored.written_by_id) == (cast.responder_a.pk, cast.admin_a.pk)
        event = AuditEvent.objects.get(action="response.published")
        assert event.actor_id == cast.admin_a.pk
        assert event.detail["on_behalf_of"] == cast.responder_a.email
    # A responder cannot do the same.
    with tenant_context(cast.org_a), pytest.raises(RespondingError, match="administrators"):
        publish_response(
            story_a, Draft(GOOD_REPLY), responder=cast.admin_a, written_by=cast.responder_a
        )
    # Members cannot respond at all.
    member = responder_client(cast, cast.member_a.email)
    member.post(
        f"/stories/{story_a.pk}/",
        {"action": "publish", "body": GOOD_REPLY, "change_status": "none"},
    )
    assert PublicResponse.objects.count() == 1


def test_the_change_lifecycle(cast: Cast, story_a: Story) -> None:
    with tenant_context(cast.org_a):
        with pytest.raises(RespondingError, match="Say in a sentence"):
            publish_response(
                story_a,
                Draft(GOOD_REPLY, "planned", ""),
                responder=cast.responder_a,
                written_by=cast.responder_a,
            )
        response = publish_response(
            story_a, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )
        assert Story.objects.get(pk=story_a.pk).progress == "responded"
        record_change(
            response, ChangeStatus.PLANNED, "Discharge coordinator", actor=cast.responder_a
        )
        assert Story.objects.get(pk=story_a.pk).progress == "changed"
        record_change(
            response, ChangeStatus.MADE, "Discharge coordinator in post", actor=cast.responder_a
        )
    public = PublicResponse.objects.get()
    assert (public.change_status, public.change_description) == (
        "made",
        "Discharge coordinator in post",
    )
    moderator = client_for(None)
    sign_in(moderator, cast.moderator.email)
    moderator.post(
        f"/moderation/changes/{public.pk}/", {"question": "Since when is the coordinator in post?"}
    )
    page = client_for(None).get(f"/stories/{story_a.public_id}/").content.decode()
    assert "Change made" in page and "Since when is the coordinator in post?" in page


def test_responses_appear_in_the_api(cast: Cast, story_a: Story) -> None:
    from feedback.apikeys import create_api_key

    with tenant_context(cast.org_a):
        publish_response(
            story_a,
            Draft(GOOD_REPLY, "made", "Coordinator"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    key = create_api_key(cast.org_a, name="k").secret
    hub = client_for(None)
    answers = hub.get(f"/api/v2/responses?key={key}").json()
    assert len(answers) == 1
    assert answers[0]["changeScore"] == "change made" and answers[0]["changeInt"] == 2
    assert answers[0]["responderName"] == "Rita Responder"
    opinion = hub.get(f"/api/v2/opinions/{story_a.public_id}?key={key}").json()
    assert opinion["hasResponse"] is True and opinion["responseCount"] == 1
    assert (
        hub.get(f"/api/v2/opinions/{story_a.public_id}/responses?key={key}").json()[0]["id"]
        == answers[0]["id"]
    )
    other = create_api_key(cast.org_b, name="b").secret
    assert hub.get(f"/api/v2/responses?key={other}").json() == []
    assert hub.get(f"/api/v2/responses/{answers[0]['id']}?key={other}").status_code == 404


def test_signed_links_expire_and_cannot_reach_another_story(cast: Cast, story_a: Story) -> None:
    with tenant_context(cast.org_a):
        publish_response(
            story_a, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )
    public = PublicResponse.objects.get()
    hub = client_for(None)
    token = make_token(public)
    assert hub.get(f"/r/{token}/").status_code == 200
    assert hub.get(f"/r/{token[:-2]}xx/").status_code == 404
    forged = TimestampSigner(salt=SALT).sign_object(
        {"r": public.pk, "s": public.public_story_id + 1}
    )
    assert hub.get(f"/r/{forged}/").status_code == 404
    from django.core import signing

    old = signing.dumps({"r": public.pk, "s": public.public_story_id}, salt=SALT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("feedback.author_links.MAX_AGE_SECONDS", -1)
        assert hub.get(f"/r/{old}/").status_code == 404


def test_the_inbox_filters_searches_and_counts(cast: Cast) -> None:
    tell_and_publish(
        cast,
        [cast.ward_a],
        title="Parking again",
        what_was_good="",
        what_could_be_improved="Parking was awful.",
        criticality="strongly critical",
    )
    tell_and_publish(cast, [cast.clinic_a], title="Lovely eye clinic", criticality="not critical")
    client = responder_client(cast)
    body = client.get("/stories/?criticality=strongly+critical").content.decode()
    assert "Parking again" in body and "Lovely eye clinic" not in body
    body = client.get("/stories/?q=parking").content.decode()
    assert "Parking again" in body and "Lovely eye clinic" not in body
    body = client.get("/stories/?responded=no").content.decode()
    assert "Parking again" in body and "2</strong> stories" in body
    with tenant_context(cast.org_a):
        from feedback.models import Service

        ward = Service.objects.get(name="Alpha Ward One")
    body = client.get(f"/stories/?service={ward.pk}").content.decode()
    assert "Parking again" in body and "Lovely eye clinic" not in body
    assert client.get("/stories/?since=not-a-date").status_code == 400


def test_opening_a_story_marks_it_read_and_shows_who_read_it(cast: Cast, story_a: Story) -> None:
    responder_client(cast).get(f"/stories/{story_a.pk}/")
    page = (
        responder_client(cast, cast.member_a.email).get(f"/stories/{story_a.pk}/").content.decode()
    )
    assert "Rita Responder" in page and "Mo Member" in page
    with tenant_context(cast.org_a):
        assert Story.objects.get(pk=story_a.pk).progress == "read"


def test_triage_assign_note_and_private_tags_stay_private(cast: Cast, story_a: Story) -> None:
    from feedback.models import Tag
    from feedback.triage import add_private_tag

    with tenant_context(cast.org_a):
        secret_tag = add_private_tag(
            Tag(name="estates", group="what could be improved", polarity="negative")
        )
    client = responder_client(cast, cast.admin_a.email)
    client.post(
        f"/stories/{story_a.pk}/triage/", {"action": "assign", "assignee": cast.responder_a.pk}
    )
    client.post(
        f"/stories/{story_a.pk}/triage/", {"action": "note", "text": "Call the ward sister"}
    )
    client.post(f"/stories/{story_a.pk}/triage/", {"action": "tags", "tags": [secret_tag.pk]})
    page = client.get(f"/stories/{story_a.pk}/").content.decode()
    assert "Call the ward sister" in page and "estates (private)" in page
    with tenant_context(cast.org_a):
        assert Story.objects.get(pk=story_a.pk).assigned_to_id == cast.responder_a.pk
    public = client_for(None).get(f"/stories/{story_a.public_id}/").content.decode()
    assert "Call the ward sister" not in public and "estates" not in public
    bad = client.post(
        f"/stories/{story_a.pk}/triage/",
        {"action": "assign", "assignee": cast.member_a.pk},
        follow=True,
    )
    assert "cannot respond" in bad.content.decode()


def test_another_organisations_staff_cannot_respond_read_or_triage(
    cast: Cast, story_a: Story
) -> None:
    client = client_for(cast.org_b)
    sign_in(client, cast.admin_b.email)
    # B's schema has no story with A's id (or a different one); nothing of A's is shown.
    page = client.get(f"/stories/{story_a.pk}/")
    assert page.status_code == 404
    assert story_a.title not in page.content.decode()
    client.post(
        f"/stories/{story_a.pk}/",
        {"action": "publish", "body": GOOD_REPLY, "change_status": "none"},
    )
    client.post(f"/stories/{story_a.pk}/triage/", {"action": "note", "text": "B was here"})
    with tenant_context(cast.org_a):
        assert not Response.objects.filter(story=story_a).exists()
        assert not story_a.notes.exists()
    assert not PublicResponse.objects.filter(public_story_id=story_a.public_id).exists()


def test_the_author_is_never_shown_to_staff(cast: Cast, story_a: Story) -> None:
    with tenant_context(cast.org_a):
        publish_response(
            story_a, Draft(GOOD_REPLY), responder=cast.responder_a, written_by=cast.responder_a
        )
    client = responder_client(cast, cast.admin_a.email)
    for path in (f"/stories/{story_a.pk}/", "/stories/", "/audit/"):
        assert AUTHOR_EMAIL not in client.get(path).content.decode()
    with schema_context("public"):
        assert all(AUTHOR_EMAIL not in str(e.detail) for e in AuditEvent.objects.all())
    assert User.objects.filter(email=AUTHOR_EMAIL).count() == 0


def test_overdue_stories_are_flagged_in_the_inbox(cast: Cast) -> None:
    late = tell_and_publish(
        cast, [cast.ward_a], title="Nobody answered", criticality="severely critical"
    )
    with tenant_context(cast.org_a):
        Story.objects.filter(public_id=late.public_story.pk).update(
            due_at=timezone.now() - timedelta(hours=2)
        )
    tell_and_publish(cast, [cast.ward_a], title="Fresh and fine", criticality="not critical")
    body = responder_client(cast).get("/stories/?overdue=on").content.decode()
    assert "Nobody answered" in body and "Fresh and fine" not in body
    assert "overdue" in body


def test_each_organisation_a_story_names_can_respond(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a, cast.ward_b], criticality="mildly critical")
    for org, responder in ((cast.org_a, cast.responder_a), (cast.org_b, cast.responder_b)):
        with tenant_context(org):
            story = Story.objects.get(public_id=published.public_story.pk)
            publish_response(
                story,
                Draft(GOOD_REPLY.replace("Rita Responder", responder.full_name)),
                responder=responder,
                written_by=responder,
            )
    page = client_for(None).get(f"/stories/{published.public_story.pk}/").content.decode()
    assert "Rita Responder" in page and "Bea Responder" in page
    assert cast.org_a.name in page and cast.org_b.name in page


def test_progress_follows_the_work(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a], title="Progress probe")
    public_id = published.public_story.pk

    def progress() -> tuple[str, str]:
        with tenant_context(cast.org_a):
            mine = Story.objects.get(public_id=public_id).progress
        return mine, PublicStory.objects.get(pk=public_id).progress

    assert progress() == ("unheard", "unheard")
    client = responder_client(cast)
    client.get("/stories/")
    assert progress() == ("heard", "heard")
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=public_id)
    client.get(f"/stories/{story.pk}/")
    assert progress() == ("read", "read")
    client.post(
        f"/stories/{story.pk}/", {"action": "publish", "body": GOOD_REPLY, "change_status": "none"}
    )
    assert progress() == ("responded", "responded")
    client.get("/stories/")  # listing again never moves it back
    assert progress() == ("responded", "responded")
