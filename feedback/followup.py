"""The author's side of a response, through the hub: replying (moderated like a story),
saying whether it helped, and whether a claimed change happened."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.hub.models import AuthorReply, PublicResponse, ReplyState
from feedback.public_cache import bump_public_version
from feedback.vocabulary import ChangeStatus
from tenants.audit.recording import record_audit

MAX_REPLY_WORDS = 500


class FollowupError(Exception):
    """The author's action cannot be taken; the message says why."""


@transaction.atomic
def submit_author_reply(response: PublicResponse, body: str) -> AuthorReply:
    body = body.strip()
    if not body:
        raise FollowupError("Write your reply before sending it.")
    if "\x00" in body:
        raise FollowupError("Your reply contains a null character; remove it and send it again.")
    if len(body.split()) > MAX_REPLY_WORDS or len(body) > 5000:
        raise FollowupError(f"Please keep your reply under {MAX_REPLY_WORDS} words.")
    return AuthorReply.objects.create(response=response, body=body)


@transaction.atomic
def mark_helpful(response: PublicResponse, helpful: bool) -> None:
    PublicResponse.objects.filter(pk=response.pk).update(author_found_helpful=helpful)
    bump_public_version()


@transaction.atomic
def confirm_change(response: PublicResponse, happened: bool) -> None:
    if response.change_status == ChangeStatus.NONE:
        raise FollowupError("This response does not claim a change.")
    PublicResponse.objects.filter(pk=response.pk).update(author_confirms_change=happened)
    bump_public_version()


def moderate_reply(
    reply_id: int, *, moderator, publish: bool, request: HttpRequest | None = None
) -> AuthorReply:
    with transaction.atomic(), schema_context("public"):
        reply = AuthorReply.objects.select_for_update().get(pk=reply_id)
        if reply.state != ReplyState.PENDING:
            raise FollowupError(f"This reply was already {reply.get_state_display().lower()}.")
        reply.state = ReplyState.PUBLISHED if publish else ReplyState.REJECTED
        reply.moderated_by = moderator
        reply.moderated_at = timezone.now()
        reply.save(update_fields=["state", "moderated_by", "moderated_at"])
        bump_public_version()
        record_audit(
            "moderation.reply_published" if publish else "moderation.reply_rejected",
            actor=moderator,
            target=reply,
            summary=f"{'Published' if publish else 'Rejected'} an author's reply on story "
            f"{reply.response.public_story_id}",
            request=request,
        )
    return reply


@transaction.atomic
def query_change(
    response_id: int, question: str, *, moderator, request: HttpRequest | None = None
) -> PublicResponse:
    """A moderator asks the organisation to back up a change it claims."""
    question = question.strip()
    if not question:
        raise FollowupError("Write the question for the organisation.")
    if "\x00" in question:
        raise FollowupError("The question contains a null character; remove it and try again.")
    with schema_context("public"):
        response = PublicResponse.objects.select_for_update().get(pk=response_id)
        if response.change_status == ChangeStatus.NONE:
            raise FollowupError("This response does not claim a change.")
        response.change_query = question[:300]
        response.save(update_fields=["change_query"])
        bump_public_version()
        record_audit(
            "moderation.change_queried",
            actor=moderator,
            target=response,
            summary=f"Queried a change claim on story {response.public_story_id}",
            detail={"question": response.change_query},
            request=request,
        )
    return response
