"""The author's side of a response, through the hub: replying (moderated like a story:
checked for personal details, edited or redacted, then published or rejected), saying
whether it helped, and whether a claimed change happened."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from feedback import pii
from feedback.choices import ChangeStatus
from feedback.hub.models import AuthorReply, PublicResponse, ReplyState
from feedback.public_cache import bump_public_version
from feedback.signals import author_marked
from tenants.audit.recording import record_audit

MAX_REPLY_WORDS = 500
MAX_AUTHOR_REPLY_CHARACTERS = 5000


class FollowupError(Exception):
    """The author's action cannot be taken; the message says why."""


@transaction.atomic
def submit_author_reply(response: PublicResponse, body: str) -> AuthorReply:
    body = body.strip()
    if not body:
        raise FollowupError(gettext("Write your reply before sending it."))
    if "\x00" in body:
        raise FollowupError(
            gettext("Your reply contains a null character; remove it and send it again.")
        )
    if len(body.split()) > MAX_REPLY_WORDS or len(body) > MAX_AUTHOR_REPLY_CHARACTERS:
        raise FollowupError(
            gettext("Please keep your reply under %(words)s words.") % {"words": MAX_REPLY_WORDS}
        )
    return AuthorReply.objects.create(response=response, body=body)


@transaction.atomic
def mark_helpful(response: PublicResponse, helpful: bool) -> None:
    PublicResponse.objects.filter(pk=response.pk).update(author_found_helpful=helpful)
    bump_public_version()
    _announce_mark(response)


@transaction.atomic
def confirm_change(response: PublicResponse, happened: bool) -> None:
    if response.change_status == ChangeStatus.NONE:
        raise FollowupError("This response does not claim a change.")
    PublicResponse.objects.filter(pk=response.pk).update(author_confirms_change=happened)
    bump_public_version()
    _announce_mark(response)


def _announce_mark(response: PublicResponse) -> None:
    """Tell the apps above, once committed, that the responding organisation's figures of
    authors' marks changed."""
    organisation = response.organisation
    transaction.on_commit(
        lambda: author_marked.send(
            sender=PublicResponse,
            organisation_id=organisation.pk,
            schema_name=organisation.schema_name,
        )
    )


def _locked_pending_reply(reply_id: int) -> AuthorReply:
    reply = AuthorReply.objects.select_for_update().select_related("response").get(pk=reply_id)
    if reply.state != ReplyState.PENDING:
        who = f" by {reply.moderated_by}" if reply.moderated_by else ""
        raise FollowupError(f"This reply was already {reply.get_state_display().lower()}{who}.")
    return reply


def _apply_reply_edit(
    reply: AuthorReply,
    body: str | None,
    redactions: list[pii.Finding],
    *,
    moderator,
    request: HttpRequest | None,
) -> None:
    """The moderator's wording of the reply, with the redactions they accepted applied; its
    findings are found again for the new text. The author's wording is not kept."""
    text = reply.body if body is None else body
    if redactions:
        text = pii.redact(text, redactions)
    text = text.strip()
    if text == reply.body:
        return
    if not text:
        raise FollowupError("A reply cannot be left empty; reject it instead.")
    if "\x00" in text:
        raise FollowupError("The reply contains a null character; remove it and try again.")
    if len(text) > MAX_AUTHOR_REPLY_CHARACTERS:
        raise FollowupError(f"Keep the reply under {MAX_AUTHOR_REPLY_CHARACTERS:,} characters.")
    kinds = Counter(str(finding.kind) for finding in redactions)
    reply.body = text
    reply.findings = [finding.to_json() for finding in pii.find_personal_details(text)]
    reply.save(update_fields=["body", "findings"])
    record_audit(
        "moderation.reply_edited",
        actor=moderator,
        target=reply,
        summary=f"Edited an author's reply on story {reply.response.public_story_id}"
        + (f", removing {sum(kinds.values())} personal details" if kinds else ""),
        detail={"redacted": dict(kinds)},
        request=request,
    )


def edit_author_reply(
    reply_id: int,
    *,
    moderator,
    body: str | None = None,
    redactions: list[pii.Finding] | None = None,
    request: HttpRequest | None = None,
) -> AuthorReply:
    """Save a moderator's edits to a reply still waiting for moderation (audited)."""
    with transaction.atomic(), schema_context("public"):
        reply = _locked_pending_reply(reply_id)
        _apply_reply_edit(reply, body, redactions or [], moderator=moderator, request=request)
    return reply


def moderate_reply(
    reply_id: int,
    *,
    moderator,
    publish: bool,
    body: str | None = None,
    redactions: list[pii.Finding] | None = None,
    request: HttpRequest | None = None,
) -> AuthorReply:
    """Publish or reject an author's reply. Publishing first applies the moderator's last
    edits (``body``, ``redactions``), in the same transaction."""
    with transaction.atomic(), schema_context("public"):
        reply = _locked_pending_reply(reply_id)
        if publish:
            _apply_reply_edit(reply, body, redactions or [], moderator=moderator, request=request)
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
