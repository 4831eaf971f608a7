"""Authors' requests about their stories (UK GDPR rights), from making to handling.

An author asks through their signed "Your story" link (the link proves who they are), or,
with no email on their story, through the public form at /your-story/ask/, where a
moderator must verify them by what only they would know before acting. Moderators link an
unlinked request to its submission, then confirm a withdrawal (feedback/withdrawal.py),
record that a copy was sent, or decline. Every step is audited in the hub.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.hub.models import (
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    Submission,
    SubmissionState,
)
from tenants.audit.recording import record_audit

AUTHOR_LABEL = "story author"
MAX_DETAILS = 4000
MAX_CONTACT = 500


class AuthorRequestError(Exception):
    """The request cannot be made or handled as asked; the message says why."""


def _clean(text: str, limit: int, what: str) -> str:
    text = (text or "").strip()
    if "\x00" in text:
        raise AuthorRequestError(f"{what} contains a null character; remove it and try again.")
    if len(text) > limit:
        raise AuthorRequestError(f"Please keep {what.lower()} under {limit:,} characters.")
    return text


def ask_to_withdraw(
    submission: Submission, reason: str = "", *, request: HttpRequest | None = None
) -> AuthorRequest:
    """The author, through their signed link, asks for their story to be withdrawn."""
    reason = _clean(reason, MAX_DETAILS, "Your reason")
    with transaction.atomic(), schema_context("public"):
        locked = Submission.objects.select_for_update().get(pk=submission.pk)
        if locked.state == SubmissionState.WITHDRAWN:
            raise AuthorRequestError("Your story has already been withdrawn.")
        if locked.requests.filter(
            kind=AuthorRequestKind.WITHDRAW, state=AuthorRequestState.OPEN
        ).exists():
            raise AuthorRequestError(
                "You have already asked for your story to be withdrawn; a moderator will "
                "confirm it soon."
            )
        made = AuthorRequest.objects.create(
            kind=AuthorRequestKind.WITHDRAW, submission=locked, via_link=True, details=reason
        )
        record_audit(
            "author.asked_withdrawal",
            actor=None,
            actor_label=f"{AUTHOR_LABEL} (signed link)",
            target=made,
            summary=f"The author of submission {locked.pk} asked for it to be withdrawn",
            detail={"submission": locked.pk, "via_link": True},
            request=request,
        )
    return made


def ask_without_link(
    kind: AuthorRequestKind | str,
    *,
    details: str,
    contact: str,
    request: HttpRequest | None = None,
) -> AuthorRequest:
    """An author with no link asks; a moderator verifies them before acting."""
    kind = AuthorRequestKind(kind)
    details = _clean(details, MAX_DETAILS, "What you tell us")
    contact = _clean(contact, MAX_CONTACT, "How to reach you")
    if not details:
        raise AuthorRequestError("Tell us how to find your story.")
    if not contact:
        raise AuthorRequestError("Tell us how to reach you with the answer.")
    with transaction.atomic(), schema_context("public"):
        made = AuthorRequest.objects.create(
            kind=kind, via_link=False, details=details, contact=contact
        )
        record_audit(
            "author.asked_without_link",
            actor=None,
            actor_label=f"{AUTHOR_LABEL} (no link, not yet verified)",
            target=made,
            summary=f"Someone asked, without a link: {kind.label.lower()}",
            detail={"kind": kind.value},
            request=request,
        )
    return made


def open_requests() -> QuerySet[AuthorRequest]:
    return (
        AuthorRequest.objects.filter(state=AuthorRequestState.OPEN)
        .select_related("submission__public_story")
        .order_by("created_at", "id")
    )


def recently_handled(limit: int = 20) -> QuerySet[AuthorRequest]:
    return (
        AuthorRequest.objects.exclude(state=AuthorRequestState.OPEN)
        .select_related("submission", "handled_by")
        .order_by("-handled_at", "-id")[:limit]
    )


STORY_ADDRESS = re.compile(r"/stories/(\d+)")


def find_submissions(query: str, limit: int = 20) -> list[Submission]:
    """Submissions a moderator may be looking for: by story address or public id, by
    submission number, or by words of the title, text or nickname."""
    query = query.strip()[:200]
    if not query:
        return []
    address = STORY_ADDRESS.search(query)
    number = address.group(1) if address else query.lstrip("#")
    found = Submission.objects.all()
    if number.isascii() and number.isdigit():
        found = found.filter(Q(pk=int(number)) | Q(public_story_id=int(number)))
    else:
        found = found.filter(
            Q(title__icontains=query)
            | Q(what_was_good__icontains=query)
            | Q(what_could_be_improved__icontains=query)
            | Q(how_it_felt__icontains=query)
            | Q(nickname__iexact=query)
        )
    return list(
        found.prefetch_related("services__organisation").order_by("-created_at", "-id")[:limit]
    )


def _locked_open(request_id: int) -> AuthorRequest:
    try:
        made = AuthorRequest.objects.select_for_update().get(pk=request_id)
    except AuthorRequest.DoesNotExist as exc:
        raise AuthorRequestError("There is no such request.") from exc
    if made.state != AuthorRequestState.OPEN:
        who = made.handled_by or "another moderator"
        raise AuthorRequestError(
            f"This request was already {made.get_state_display().lower()} by {who}."
        )
    return made


def link_request(
    request_id: int,
    submission_id: int,
    *,
    note: str,
    moderator,  # noqa: ANN001 - a public-schema User
    request: HttpRequest | None = None,
) -> AuthorRequest:
    """Tie a request made without a link to the submission it is about, recording how the
    moderator verified that the person asking wrote it."""
    note = _clean(note, MAX_DETAILS, "Your note")
    if not note:
        raise AuthorRequestError("Record how you verified that the person asking wrote this story.")
    with transaction.atomic(), schema_context("public"):
        made = _locked_open(request_id)
        if made.via_link:
            raise AuthorRequestError("This request came through the author's link already.")
        submission = Submission.objects.filter(pk=submission_id).first()
        if submission is None:
            raise AuthorRequestError(f"There is no submission {submission_id}.")
        made.submission = submission
        made.moderator_note = note
        made.save(update_fields=["submission", "moderator_note"])
        record_audit(
            "moderation.request_linked",
            actor=moderator,
            target=made,
            summary=f"Verified a request made without a link and linked it to submission "
            f"{submission.pk}",
            detail={"submission": submission.pk, "note": note},
            request=request,
        )
    return made


def mark_copy_sent(
    request_id: int,
    *,
    note: str,
    moderator,  # noqa: ANN001 - a public-schema User
    request: HttpRequest | None = None,
) -> AuthorRequest:
    note = _clean(note, MAX_DETAILS, "Your note")
    with transaction.atomic(), schema_context("public"):
        made = _locked_open(request_id)
        if made.kind != AuthorRequestKind.COPY:
            raise AuthorRequestError("This is not a request for a copy.")
        if made.submission_id is None:
            raise AuthorRequestError("Link the request to the author's submission first.")
        note = "\n".join(part for part in (made.moderator_note, note) if part)
        if not note:
            raise AuthorRequestError("Record how you verified the author and sent the copy.")
        _handle(made, AuthorRequestState.DONE, note=note, moderator=moderator)
        record_audit(
            "moderation.copy_sent",
            actor=moderator,
            target=made,
            summary=f"Sent the author of submission {made.submission_id} a copy of their data",
            detail={"submission": made.submission_id, "note": note},
            request=request,
        )
    return made


def decline_request(
    request_id: int,
    *,
    note: str,
    moderator,  # noqa: ANN001 - a public-schema User
    request: HttpRequest | None = None,
) -> AuthorRequest:
    note = _clean(note, MAX_DETAILS, "Your note")
    if not note:
        raise AuthorRequestError("Say why you are declining the request.")
    with transaction.atomic(), schema_context("public"):
        made = _locked_open(request_id)
        _handle(made, AuthorRequestState.DECLINED, note=note, moderator=moderator)
        record_audit(
            "moderation.request_declined",
            actor=moderator,
            target=made,
            summary=f"Declined an author's request: {made.get_kind_display().lower()}",
            detail={"submission": made.submission_id, "note": note},
            request=request,
        )
    return made


def record_copy_prepared(
    made: AuthorRequest,
    *,
    moderator,  # noqa: ANN001 - a public-schema User
    request: HttpRequest | None = None,
) -> None:
    """A moderator downloaded an author's data to send them."""
    with schema_context("public"):
        record_audit(
            "moderation.copy_prepared",
            actor=moderator,
            target=made,
            summary=f"Downloaded the data of the author of submission {made.submission_id} "
            "to send them",
            detail={"submission": made.submission_id},
            request=request,
        )


def _handle(made: AuthorRequest, state: str, *, note: str, moderator) -> None:  # noqa: ANN001
    made.state = state
    made.moderator_note = note
    made.handled_by = moderator
    made.handled_at = timezone.now()
    made.save(update_fields=["state", "moderator_note", "handled_by", "handled_at"])
