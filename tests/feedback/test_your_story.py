"""An author's "Your story" page: reached through the signed link in every email Carevoice
sends them, refused to anyone without it, showing their story and its responses; from it
they ask for withdrawal or download what Carevoice holds about them. Authors with no email
ask through a form a moderator handles."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.core import mail, signing
from django.test import override_settings
from django_tenants.utils import schema_context

from feedback.author_links import make_token as make_response_token
from feedback.followup import submit_author_reply
from feedback.hub.models import (
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    Submission,
    SubmissionState,
)
from feedback.moderation import Decision, publish_submission, reject_submission
from feedback.safeguarding import raise_concern, withhold_submission
from feedback.your_story import SALT, make_story_token, submission_for_token
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    PASSWORD,
    Cast,
    client_for,
    sign_in,
    tell,
    tell_and_publish,
)
from tests.feedback.notices import send_notice
from tests.feedback.test_withdrawal import ask_through_the_link, moderator_client, respond

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://localhost:8000(/your-story/[^/\s\"<]+/)")


def page_of(submission_id: int) -> str:
    return f"/your-story/{make_story_token(Submission.objects.get(pk=submission_id))}/"


def link_in(message: mail.EmailMultiAlternatives) -> str:
    """The "Your story" link in both the text and the HTML of an email (the same one)."""
    (text_link,) = set(LINK.findall(message.body))
    (html,) = [content for content, kind in message.alternatives if kind == "text/html"]
    assert set(LINK.findall(html)) == {text_link}
    return text_link


def assert_private(response) -> None:  # noqa: ANN001
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"


# --- the link, in every email to an author -----------------------------------------------------


def test_every_email_to_an_author_carries_their_signed_link(cast: Cast) -> None:
    published_id = tell([cast.ward_a], title="Kind nurses on the ward")
    rejected_id = tell([cast.ward_a], title="A story we could not publish")
    assert send_notice("receipt", published_id)
    published = publish_submission(
        published_id,
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a]),
    )
    assert send_notice("publication", published_id)
    response = respond(cast, cast.org_a, published.public_story.pk)
    assert send_notice("response", response.pk)
    reject_submission(rejected_id, moderator=cast.moderator, reason="not about care")
    assert send_notice("rejection", rejected_id)

    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "We have received your story",
        "Your story is published",
        "Alpha Hospitals NHS Trust has responded to your story",
        "We could not publish your story",
    ]
    hub = client_for(None)
    for message, submission_id, title in [
        (mail.outbox[0], published_id, "Kind nurses on the ward"),
        (mail.outbox[1], published_id, "Kind nurses on the ward"),
        (mail.outbox[2], published_id, "Kind nurses on the ward"),
        (mail.outbox[3], rejected_id, "A story we could not publish"),
    ]:
        assert message.to == [AUTHOR_EMAIL]
        link = link_in(message)
        assert submission_for_token(link.split("/")[2]).pk == submission_id
        page = hub.get(link)
        assert page.status_code == 200, message.subject
        assert title in page.content.decode()
    assert "not about an experience of care" in hub.get(page_of(rejected_id)).content.decode()


def test_authors_without_an_email_are_sent_nothing(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], email="")
    assert not send_notice("receipt", submission_id)
    publish_submission(
        submission_id,
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a]),
    )
    assert not send_notice("publication", submission_id)
    assert mail.outbox == []


# --- the link: refused unless genuine ------------------------------------------------------------


class _Past(signing.TimestampSigner):
    """Signs as if 401 days ago: the only way to hold an old token without waiting."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 401 * 24 * 60 * 60)


def test_a_forged_altered_or_expired_link_is_refused_with_the_way_forward(cast: Cast) -> None:
    submission = Submission.objects.get(pk=tell([cast.ward_a], title="Private story"))
    other = Submission.objects.get(pk=tell([cast.ward_a], title="Someone else's story"))
    good = make_story_token(submission)
    stamp = int(submission.created_at.timestamp())
    payload, _, signature = good.partition(":")
    hub = client_for(None)
    refused = {
        "altered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "another salt": signing.dumps({"s": submission.pk, "c": stamp}, salt="something else"),
        "a reply link": make_response_token(
            respond(cast, cast.org_a, tell_and_publish(cast, [cast.ward_a]).public_story.pk)
        ),
        "no such submission": signing.dumps({"s": 999999, "c": stamp}, salt=SALT),
        "another row's stamp": signing.dumps({"s": submission.pk, "c": stamp - 1}, salt=SALT),
        "not a token": "your-story",
        "garbage payload": signing.dumps(["s", submission.pk], salt=SALT),
        "payload swapped": make_story_token(other).partition(":")[0] + ":" + signature,
    }
    for what, token in refused.items():
        response = hub.get(f"/your-story/{token}/")
        body = response.content.decode()
        assert response.status_code == 404, what
        assert "Private story" not in body and "Someone else" not in body, what
        assert "/your-story/ask/" in body, what
        assert_private(response)
    expired = _Past(salt=SALT).sign_object({"s": submission.pk, "c": stamp})
    response = hub.get(f"/your-story/{expired}/")
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert "/your-story/ask/" in response.content.decode()
    assert "Private story" not in response.content.decode()
    # A POST with a bad token does nothing either.
    assert hub.post(f"/your-story/{expired}/", {"action": "withdraw"}).status_code == 410
    assert not AuthorRequest.objects.exists()
    assert hub.get(f"/your-story/{good}/").status_code == 200


def test_a_link_shows_its_own_story_only_and_marks_when_it_was_used(cast: Cast) -> None:
    mine = tell_and_publish(cast, [cast.ward_a], title="My own story")
    theirs = tell_and_publish(cast, [cast.ward_b], title="Their story", nickname="Theo")
    submit_author_reply(respond(cast, cast.org_a, mine.public_story.pk), "Waiting reply words")
    respond(cast, cast.org_b, theirs.public_story.pk)
    own = Submission.objects.get(public_story=mine.public_story)
    other = Submission.objects.get(public_story=theirs.public_story)
    page = client_for(None).get(page_of(own.pk))
    assert page.status_code == 200
    assert_private(page)
    body = page.content.decode()
    assert "My own story" in body and "Rita Responder" in body
    assert "Waiting reply words" in body and "waiting for moderation" in body
    assert "Their story" not in body and "Bea Responder" not in body and "Theo" not in body
    # The reply is the author's, shown to them while it waits; the public never sees it.
    public = client_for(None).get(f"/stories/{mine.public_story.pk}/").content.decode()
    assert "Waiting reply words" not in public
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.author_seen_at is not None and other.author_seen_at is None


def test_nobody_reaches_a_page_without_the_token(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], title="Private story")
    hub = client_for(None)
    for path in ("/your-story/", f"/your-story/{submission_id}/", "/your-story/ask/x/"):
        response = hub.get(path)
        assert response.status_code == 404, path
        assert "Private story" not in response.content.decode()
    # Nor on an organisation's domain, signed in as its administrator.
    workspace = client_for(cast.org_a)
    assert sign_in(workspace, cast.admin_a.email).status_code == 302
    assert workspace.get(page_of(submission_id)).status_code == 404


# --- withdrawal, asked from the page --------------------------------------------------------------


def test_the_author_asks_for_withdrawal_from_the_page_and_a_moderator_will_confirm(
    cast: Cast,
) -> None:
    published = tell_and_publish(cast, [cast.ward_a], title="My own story")
    submission = Submission.objects.get(public_story=published.public_story)
    link = page_of(submission.pk)
    hub = client_for(None)
    strict = client_for(None, enforce_csrf_checks=True)
    assert strict.post(link, {"action": "withdraw"}).status_code == 403
    assert not AuthorRequest.objects.exists()

    asked = hub.post(link, {"action": "withdraw", "reason": "My family recognised me."})
    assert asked.status_code == 302 and asked["Location"] == link
    request = AuthorRequest.objects.get()
    assert (request.kind, request.via_link, request.state, request.submission_id) == (
        AuthorRequestKind.WITHDRAW,
        True,
        AuthorRequestState.OPEN,
        submission.pk,
    )
    assert request.details == "My family recognised me."
    body = hub.get(link).content.decode()
    assert "A moderator will confirm it" in body
    assert 'value="withdraw"' not in body  # asked once is enough
    again = hub.post(link, {"action": "withdraw"})
    assert again.status_code == 409 and "already asked" in again.content.decode()
    assert hub.post(link, {"action": "other"}).status_code == 400
    assert AuthorRequest.objects.count() == 1
    with schema_context("public"):
        assert AuditEvent.objects.filter(action="author.asked_withdrawal").count() == 1
    # The story stands until a moderator confirms, and the moderators see the request.
    assert hub.get(f"/stories/{published.public_story.pk}/").status_code == 200
    queue = moderator_client(cast).get("/moderation/requests/").content.decode()
    assert "through the author's link" in queue and "My family recognised me." in queue


@override_settings(PUBLIC_FORM_RATE_LIMIT=3)
def test_the_page_s_forms_are_rate_limited(cast: Cast) -> None:
    link = page_of(tell([cast.ward_a]))
    hub = client_for(None)
    statuses = [hub.post(link, {"action": "download"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert hub.post(link, {"action": "withdraw"}).status_code == 429
    assert not AuthorRequest.objects.exists()


def test_a_pending_story_is_withdrawn_the_same_way(cast: Cast) -> None:
    submission_id = tell(
        [cast.ward_a], title="Not yet published", what_was_good="Words only I wrote."
    )
    link = page_of(submission_id)
    hub = client_for(None)
    body = hub.get(link).content.decode()
    assert "waiting for a moderator" in body and "Words only I wrote." in body
    request_id = ask_through_the_link(submission_id)
    moderator = moderator_client(cast)
    assert (
        moderator.post(
            f"/moderation/requests/{request_id}/", {"action": "withdraw", "note": ""}
        ).status_code
        == 302
    )
    submission = Submission.objects.get(pk=submission_id)
    assert submission.state == SubmissionState.WITHDRAWN
    assert submission.what_was_good == "" and "Not yet published" not in submission.title
    assert "Not yet published" not in moderator.get("/moderation/").content.decode()
    body = hub.get(link).content.decode()
    assert "Your story was withdrawn" in body and "Words only I wrote." not in body
    with schema_context("public"):
        event = AuditEvent.objects.get(action="moderation.withdrawn")
    assert event.actor == cast.moderator and event.detail["public_id"] is None


def test_a_declined_request_is_audited_and_the_author_is_told(cast: Cast) -> None:
    submission_id = tell_and_publish(cast, [cast.ward_a]).public_story.submission.pk
    request_id = ask_through_the_link(submission_id)
    moderator = moderator_client(cast)
    refused = moderator.post(f"/moderation/requests/{request_id}/", {"action": "decline"})
    assert refused.status_code == 400
    assert "Say why you are declining" in refused.content.decode()
    declined = moderator.post(
        f"/moderation/requests/{request_id}/",
        {"action": "decline", "note": "This link was forwarded by someone else; write to us."},
    )
    assert declined.status_code == 302
    request = AuthorRequest.objects.get(pk=request_id)
    assert request.state == AuthorRequestState.DECLINED and request.handled_by == cast.moderator
    with schema_context("public"):
        assert AuditEvent.objects.get(action="moderation.request_declined").actor == cast.moderator
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PUBLISHED
    page = client_for(None).get(page_of(submission_id)).content.decode()
    assert "forwarded by someone else" in page and 'value="withdraw"' in page
    again = moderator.post(
        f"/moderation/requests/{request_id}/", {"action": "decline", "note": "x"}
    )
    assert again.status_code == 400 and "already declined" in again.content.decode()


def test_a_withheld_story_is_never_called_a_safeguarding_case_to_its_author(cast: Cast) -> None:
    """Whoever reads the author's mail may be the person a concern is about."""
    submission_id = tell([cast.ward_a], title="What happens at home")
    raise_concern(submission_id, moderator=cast.moderator, category="abuse", note="At risk.")
    withhold_submission(submission_id, moderator=cast.moderator, note="Too identifying.")
    hub = client_for(None)
    page = hub.get(page_of(submission_id)).content.decode()
    assert "it has not been published" in page and "Withheld" not in page
    download = hub.post(page_of(submission_id), {"action": "download"}).content.decode()
    assert json.loads(download)["submission"]["state"] == "Not published"
    assert "Withheld" not in download and "At risk." not in download


# --- the download --------------------------------------------------------------------------


def test_the_author_downloads_what_carevoice_holds_about_them(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a], title="My own story", nickname="Pat")
    tell_and_publish(cast, [cast.ward_a], title="Someone else's story", email="other@example.net")
    response = respond(cast, cast.org_a, published.public_story.pk)
    submit_author_reply(response, "Thank you for listening.")
    submission = Submission.objects.get(public_story=published.public_story)
    ask_through_the_link(submission.pk, reason="Please take it down.")

    download = client_for(None).post(page_of(submission.pk), {"action": "download"})
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/json")
    assert download["Content-Disposition"].startswith("attachment;")
    assert_private(download)
    data = json.loads(download.content)
    held = data["submission"]
    assert (held["email"], held["postcode"]) == (AUTHOR_EMAIL, AUTHOR_POSTCODE)
    assert held["title"] == "My own story" and held["nickname"] == "Pat"
    assert held["what_was_good"] == "The nurses were kind and explained everything."
    assert held["state"] == "Published" and held["sent_at"]
    assert data["published_story"]["public_id"] == published.public_story.pk
    assert "The wait for a bed was long." in data["published_story"]["body"]
    (given,) = data["responses"]
    assert given["responder"] == "Rita Responder" and "Thank you for telling us" in given["body"]
    assert given["your_replies"][0]["body"] == "Thank you for listening."
    assert data["your_requests"][0]["your_words"] == "Please take it down."
    assert "records kept for safeguarding are not included; ask the moderators" in (
        data["about"].lower()
    )
    assert "Someone else" not in download.content.decode()
    assert "other@example.net" not in download.content.decode()
    with schema_context("public"):
        event = AuditEvent.objects.get(action="author.downloaded_data")
    assert event.actor is None and event.target_id == str(submission.pk)
    assert "author downloaded their data" in event.summary


# --- authors with no email ------------------------------------------------------------------


ASK = {
    "kind": "withdraw",
    "story": "Kind nurses on the ward",
    "organisation": "Alpha Ward One",
    "when": "last month",
    "only_you": "I wrote that the wait for a bed was long, and signed it Pat.",
    "contact": "Phone 0113 496 0000, evenings",
}


def test_the_ask_form_says_how_a_request_is_verified(cast: Cast) -> None:
    page = client_for(None).get("/your-story/ask/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "a moderator will verify your request by what only the author would know" in text
    assert "may contact you" in text
    assert 'name="csrfmiddlewaretoken"' in text


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("kind", "Choose whether you want your story withdrawn or a copy."),
        ("only_you", "Tell us something only the author would know"),
        ("contact", "Tell us how to reach you with the answer."),
        (("story", "organisation", "when"), "Tell us how to find your story"),
    ],
)
def test_the_ask_form_refuses_what_it_cannot_use(
    cast: Cast, missing: str | tuple[str, ...], message: str
) -> None:
    names = (missing,) if isinstance(missing, str) else missing
    sent = client_for(None).post(
        "/your-story/ask/", {k: v for k, v in ASK.items() if k not in names}
    )
    assert sent.status_code == 400
    assert message in sent.content.decode()
    assert not AuthorRequest.objects.exists()


@override_settings(PUBLIC_FORM_RATE_LIMIT=2)
def test_the_ask_form_is_csrf_protected_rate_limited_and_refuses_bots(cast: Cast) -> None:
    assert (
        client_for(None, enforce_csrf_checks=True).post("/your-story/ask/", ASK).status_code == 403
    )
    hub = client_for(None)
    assert hub.post("/your-story/ask/", {**ASK, "website": "http://spam"}).status_code == 429
    assert not AuthorRequest.objects.exists()
    statuses = [hub.post("/your-story/ask/", ASK).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert AuthorRequest.objects.count() == 2


def test_a_request_without_a_link_is_verified_linked_and_then_withdrawn(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a], email="")
    submission = Submission.objects.get(public_story=published.public_story)
    sent = client_for(None).post("/your-story/ask/", ASK)
    assert sent.status_code == 200 and "moderator will check" in sent.content.decode()
    request = AuthorRequest.objects.get()
    assert (request.via_link, request.kind, request.submission) == (False, "withdraw", None)
    assert "signed it Pat" in request.details and "0113 496 0000" in request.contact
    moderator = moderator_client(cast)
    queue = moderator.get("/moderation/requests/").content.decode()
    assert "without a link: verify it" in queue and "signed it Pat" in queue
    found = moderator.get("/moderation/requests/", {"q": f"/stories/{published.public_story.pk}/"})
    assert f"<td>{submission.pk}</td>" in found.content.decode()
    by_words = moderator.get("/moderation/requests/", {"q": "kind nurses"}).content.decode()
    assert f"<td>{submission.pk}</td>" in by_words

    # Withdrawing before verifying, or linking without saying how, is refused.
    early = moderator.post(f"/moderation/requests/{request.pk}/", {"action": "withdraw"})
    assert early.status_code == 400 and "Link the request" in early.content.decode()
    unverified = moderator.post(
        f"/moderation/requests/{request.pk}/", {"action": "link", "submission": submission.pk}
    )
    assert unverified.status_code == 400
    assert "Record how you verified" in unverified.content.decode()
    assert (
        moderator.post(
            f"/moderation/requests/{request.pk}/",
            {"action": "link", "submission": "999999", "note": "checked"},
        ).status_code
        == 400
    )
    linked = moderator.post(
        f"/moderation/requests/{request.pk}/",
        {
            "action": "link",
            "submission": submission.pk,
            "note": "Nickname and the bed wait match; phoned back on the number given.",
        },
    )
    assert linked.status_code == 302
    withdrawn = moderator.post(f"/moderation/requests/{request.pk}/", {"action": "withdraw"})
    assert withdrawn.status_code == 302
    assert Submission.objects.get(pk=submission.pk).state == SubmissionState.WITHDRAWN
    request.refresh_from_db()
    assert request.state == AuthorRequestState.DONE
    assert "phoned back" in request.moderator_note
    with schema_context("public"):
        actions = set(
            AuditEvent.objects.filter(actor=cast.moderator).values_list("action", flat=True)
        )
        assert {"moderation.request_linked", "moderation.withdrawn"} <= actions
        assert AuditEvent.objects.filter(action="author.asked_without_link").exists()


def test_a_copy_asked_for_without_a_link_is_prepared_and_marked_sent(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a], email="", postcode="LS6 2AA")
    submission = Submission.objects.get(public_story=published.public_story)
    client_for(None).post("/your-story/ask/", {**ASK, "kind": "copy"})
    request = AuthorRequest.objects.get(kind=AuthorRequestKind.COPY)
    moderator = moderator_client(cast)
    assert moderator.get(f"/moderation/requests/{request.pk}/copy.json").status_code == 400
    moderator.post(
        f"/moderation/requests/{request.pk}/",
        {"action": "link", "submission": submission.pk, "note": "Matched the nickname."},
    )
    copy = moderator.get(f"/moderation/requests/{request.pk}/copy.json")
    assert copy.status_code == 200 and copy["Content-Disposition"].startswith("attachment;")
    assert json.loads(copy.content)["submission"]["postcode"] == "LS6 2AA"
    sent = moderator.post(
        f"/moderation/requests/{request.pk}/",
        {"action": "copy sent", "note": "Posted to the address given."},
    )
    assert sent.status_code == 302
    request.refresh_from_db()
    assert request.state == AuthorRequestState.DONE
    with schema_context("public"):
        actions = list(
            AuditEvent.objects.filter(actor=cast.moderator)
            .order_by("occurred_at", "id")
            .values_list("action", flat=True)
        )
    assert actions[-3:] == [
        "moderation.request_linked",
        "moderation.copy_prepared",
        "moderation.copy_sent",
    ]
    assert Submission.objects.get(pk=submission.pk).state == SubmissionState.PUBLISHED


def test_only_moderators_handle_requests(cast: Cast) -> None:
    client_for(None).post("/your-story/ask/", ASK)
    request = AuthorRequest.objects.get()
    with schema_context("public"):
        User.objects.create_user(
            "platform.analyst@carevoice.example", PASSWORD, full_name="Pat Platform", is_staff=True
        )
    staff = client_for(None)
    assert sign_in(staff, "platform.analyst@carevoice.example").status_code == 302
    assert staff.get("/moderation/requests/").status_code == 403
    assert (
        staff.post(
            f"/moderation/requests/{request.pk}/", {"action": "decline", "note": "no"}
        ).status_code
        == 403
    )
    assert staff.get(f"/moderation/requests/{request.pk}/copy.json").status_code == 403
    request.refresh_from_db()
    assert request.state == AuthorRequestState.OPEN
    assert "signed it Pat" not in staff.get("/moderation/requests/").content.decode()
