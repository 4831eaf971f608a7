"""An author's "Your story" page, reached only through the signed link in Carevoice's emails
to them: what they see there, and the copy of what Carevoice holds about them.

The link names one submission. It is long-lived (authors come back months later, to reply
or to withdraw), cannot be bent to reach another submission, and is never logged
(config/redaction.py). Requests the author makes from the page are in
feedback/author_requests.py; a confirmed withdrawal is feedback/withdrawal.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.author_links import make_token as make_response_token
from feedback.hub.models import (
    AuthorReply,
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    PublicResponse,
    PublicStory,
    Submission,
    SubmissionState,
)
from tenants.audit.recording import record_audit
from tenants.models import public_url

SALT = "carevoice.your-story-link"
MAX_AGE_SECONDS = 400 * 24 * 60 * 60  # 400 days: past the 12 months contact details are kept
# How the author is named in the hub's audit log: they have no account.
AUTHOR_LABEL = "story author (signed link)"
SAFEGUARDING_NOTE = (
    "Records kept for safeguarding are not included; ask the moderators "
    "(through the form at /your-story/ask/) if you want to know about them."
)


def make_story_token(submission: Submission) -> str:
    # The creation time too: a token is for this row, and no other row ever gets it.
    return signing.dumps(
        {"s": submission.pk, "c": int(submission.created_at.timestamp())}, salt=SALT
    )


def story_url(submission: Submission) -> str:
    """The full address of the author's page, for emails."""
    return public_url(settings.BASE_DOMAIN, f"/your-story/{make_story_token(submission)}/")


@dataclass(frozen=True)
class TokenCheck:
    submission: Submission | None
    # True when the token was genuine but is too old: the page says so, and what to do.
    expired: bool = False


def check_story_token(token: str) -> TokenCheck:
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        return TokenCheck(None, expired=True)
    except signing.BadSignature:
        return TokenCheck(None)
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        return TokenCheck(None)
    with schema_context("public"):
        submission = Submission.objects.filter(pk=data["s"]).first()
    if submission is None or int(submission.created_at.timestamp()) != data.get("c"):
        return TokenCheck(None)
    return TokenCheck(submission)


def submission_for_token(token: str) -> Submission | None:
    """The submission the token was made for, or None if it is forged, altered or expired."""
    return check_story_token(token).submission


@dataclass(frozen=True)
class ResponseForAuthor:
    response: PublicResponse
    # All of the author's replies, whatever their state, so they see what is waiting.
    replies: list[AuthorReply]
    # The signed page to reply to this response, or say whether it helped.
    reply_path: str


@dataclass(frozen=True)
class AuthorStory:
    """Everything the "Your story" page shows."""

    submission: Submission
    public_story: PublicStory | None
    responses: list[ResponseForAuthor] = field(default_factory=list)
    requests: list[AuthorRequest] = field(default_factory=list)

    @property
    def open_withdrawal(self) -> AuthorRequest | None:
        return next(
            (
                r
                for r in self.requests
                if r.kind == AuthorRequestKind.WITHDRAW and r.state == AuthorRequestState.OPEN
            ),
            None,
        )

    @property
    def declined_withdrawal(self) -> AuthorRequest | None:
        declined = [
            r
            for r in self.requests
            if r.kind == AuthorRequestKind.WITHDRAW and r.state == AuthorRequestState.DECLINED
        ]
        return declined[-1] if declined else None

    @property
    def is_withdrawn(self) -> bool:
        return self.submission.state == SubmissionState.WITHDRAWN

    @property
    def can_withdraw(self) -> bool:
        return not self.is_withdrawn and self.open_withdrawal is None


def story_for_author(submission: Submission) -> AuthorStory:
    with schema_context("public"):
        public = (
            PublicStory.objects.filter(pk=submission.public_story_id).first()
            if submission.public_story_id
            else None
        )
        responses = []
        if public is not None:
            for response in (
                PublicResponse.objects.filter(public_story=public)
                .select_related("organisation")
                .prefetch_related(Prefetch("replies", AuthorReply.objects.order_by("created_at")))
            ):
                responses.append(
                    ResponseForAuthor(
                        response=response,
                        replies=list(response.replies.all()),
                        reply_path=f"/r/{make_response_token(response)}/",
                    )
                )
        requests = list(submission.requests.order_by("created_at", "id"))
    return AuthorStory(submission, public, responses, requests)


def mark_seen(submission: Submission) -> None:
    """The author used their link: a follow-up, which retention counts from."""
    now = timezone.now()
    with schema_context("public"):
        Submission.objects.filter(pk=submission.pk).update(author_seen_at=now)
    submission.author_seen_at = now


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _state_for_author(submission: Submission) -> str:
    # TRICKY: never "withheld (safeguarding)": whoever reads the author's mail may be the
    # person the concern is about. Safeguarding records are answered by the moderators.
    if submission.state == SubmissionState.WITHHELD:
        return "Not published"
    return submission.get_state_display()


def author_data(submission: Submission) -> dict[str, Any]:
    """What Carevoice holds about the author of `submission`, for them to download (UK GDPR
    right of access): their submission with its contact details, the story as published,
    the responses, their replies and their requests."""
    story = story_for_author(submission)
    public = story.public_story
    with schema_context("public"):
        services = [
            {"service": listing.name, "site": listing.site_name, "organisation": org_name}
            for listing, org_name in (
                (listing, listing.organisation.name)
                for listing in submission.services.select_related("organisation")
            )
        ]
    return {
        "about": (
            "What Carevoice holds about you as the author of one story, as of "
            f"{timezone.localtime():%-d %B %Y %H:%M}. {SAFEGUARDING_NOTE}"
        ),
        "safeguarding": SAFEGUARDING_NOTE,
        "submission": {
            "reference": submission.pk,
            "state": _state_for_author(submission),
            "sent_at": _when(submission.created_at),
            "consented_at": _when(submission.consented_at),
            "route": submission.get_route_display(),
            "title": submission.title,
            "what_was_good": submission.what_was_good,
            "what_could_be_improved": submission.what_could_be_improved,
            "how_it_felt": submission.how_it_felt,
            "your_relation_to_the_care": submission.get_author_role_display(),
            "your_age_group": submission.get_author_age_group_display(),
            "nickname": submission.nickname,
            "posted_on_your_behalf_by": submission.assisted_by,
            "email": submission.email,
            "postcode": submission.postcode,
            "services": services,
            "moderated_at": _when(submission.moderated_at),
            "rejection_reason": submission.get_rejection_reason_display()
            if submission.rejection_reason
            else "",
            "rejection_note": submission.rejection_note,
            "you_last_used_your_link_at": _when(submission.author_seen_at),
            "contact_details_deleted_at": _when(submission.contact_removed_at),
            "text_deleted_at": _when(submission.text_purged_at),
            "withdrawn_at": _when(submission.withdrawn_at),
        },
        "published_story": None
        if public is None
        else {
            "public_id": public.pk,
            "address": public_url(settings.BASE_DOMAIN, f"/stories/{public.pk}/"),
            "title": public.title,
            "body": public.body,
            "nickname": public.author_nickname,
            "published_at": _when(public.published_at),
            "tags": [tag.get("name", "") for tag in public.tags],
        },
        "responses": [
            {
                "organisation": item.response.organisation.name,
                "responder": item.response.responder_name,
                "job_title": item.response.responder_job_title,
                "published_at": _when(item.response.published_at),
                "body": item.response.body,
                "change": item.response.get_change_status_display(),
                "change_description": item.response.change_description,
                "you_found_it_helpful": item.response.author_found_helpful,
                "you_confirm_the_change": item.response.author_confirms_change,
                "your_replies": [
                    {
                        "sent_at": _when(reply.created_at),
                        "body": reply.body,
                        "state": reply.get_state_display(),
                    }
                    for reply in item.replies
                ],
            }
            for item in story.responses
        ],
        "your_requests": [
            {
                "kind": r.get_kind_display(),
                "made_at": _when(r.created_at),
                "through_your_link": r.via_link,
                "your_words": r.details,
                "contact": r.contact,
                "state": r.get_state_display(),
                "handled_at": _when(r.handled_at),
                "moderator_note": r.moderator_note,
            }
            for r in story.requests
        ],
    }


def record_author_download(submission: Submission, request: HttpRequest | None = None) -> None:
    with schema_context("public"):
        record_audit(
            "author.downloaded_data",
            actor=None,
            actor_label=AUTHOR_LABEL,
            target=submission,
            summary="The author downloaded their data",
            request=request,
        )
