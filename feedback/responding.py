"""Answering a story in public: publishing a response under a named member of staff,
editing it for a short while, and recording what changed.

Run inside the responding organisation's schema. The hub's PublicResponse is written in the
same transaction, and the author hears of it (through the hub, which alone knows how to
reach them) once that has committed.

Each operation tells the apps above of the change in the same transaction, in the
organisation's schema: `responses_published` or `response_changed` (feedback/signals.py),
carrying each story's answering (first response, missed target, furthest change claimed)
before and after, which dashboards' rollups count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from feedback import quality
from feedback.choices import POSITIVE_CRITICALITIES, ChangeStatus, Progress
from feedback.hub.models import PublicResponse
from feedback.models import Response, ResponseVersion, Story
from feedback.public_cache import bump_public_version
from feedback.public_progress import advance_public_progress, note_first_responses
from feedback.signals import (
    Answering,
    PublishedResponse,
    StoryAnswered,
    response_changed,
    responses_published,
)
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.schemas import public_schema

EDIT_WINDOW = timedelta(minutes=30)
MAX_WORDS = 1000
MAX_CHARACTERS = quality.MAX_REPLY_CHARACTERS  # the quality check reads no more
POSITIVE = POSITIVE_CRITICALITIES


class RespondingError(Exception):
    """The response cannot be published or changed; the message says why."""


class NotYourResponse(RespondingError):
    """The person is not allowed to change this response at all (pages answer 403)."""


@dataclass(frozen=True)
class Draft:
    body: str
    change_status: str = ChangeStatus.NONE
    change_description: str = ""


def story_facts(story: Story) -> quality.StoryFacts:
    return quality.StoryFacts(
        title=story.title,
        body=story.body,
        service_names=[service.name for service in story.services.all()],
        is_positive=story.criticality in POSITIVE,
        is_critical=story.criticality not in POSITIVE,
    )


def assess(story: Story, draft: Draft, *, responder: User) -> quality.Assessment:
    """The quality check, against the organisation's own recent responses."""
    recent = list(
        Response.objects.exclude(story=story)
        .order_by("-published_at")
        .values_list("body", flat=True)[:50]
    )
    return quality.assess_response(
        draft.body, story_facts(story), responder_name=responder.full_name, recent_responses=recent
    )


def check_draft(draft: Draft) -> Draft:
    body = draft.body.strip()
    if not body:
        raise RespondingError("Write your response before publishing it.")
    if len(body) > MAX_CHARACTERS or len(body.split()) > MAX_WORDS:
        raise RespondingError(f"Keep a response under {MAX_WORDS:,} words.")
    status = ChangeStatus(draft.change_status or ChangeStatus.NONE)
    description = draft.change_description.strip()
    if status != ChangeStatus.NONE and not description:
        raise RespondingError("Say in a sentence what was changed, or is planned.")
    if len(description) > 300:
        raise RespondingError("Keep the description of the change under 300 characters.")
    return Draft(body=body, change_status=status, change_description=description)


def _check_people(responder: User, written_by: User) -> None:
    if not written_by.has_role(Role.RESPONDER):
        raise RespondingError("Only responders and administrators can respond.")
    if responder.pk != written_by.pk:
        if not written_by.has_role(Role.ADMINISTRATOR):
            raise RespondingError("Only administrators can respond on a colleague's behalf.")
        if not responder.has_role(Role.RESPONDER):
            raise RespondingError(f"{responder} is not a responder.")


def publish_response(
    story: Story,
    draft: Draft,
    *,
    responder: User,
    written_by: User,
    request: HttpRequest | None = None,
) -> Response:
    """Publish `draft` as `responder`'s response (typed by `written_by`)."""
    _check_people(responder, written_by)
    draft = check_draft(draft)
    verdict = assess(story, draft, responder=responder)
    organisation = connection.tenant
    now = timezone.now()
    with transaction.atomic():
        story = Story.objects.select_for_update().get(pk=story.pk)
        before = _read_answering([story.pk])
        response = Response.objects.create(
            story=story,
            responder=responder,
            written_by=written_by,
            body=draft.body,
            change_status=draft.change_status,
            change_description=draft.change_description,
            quality=verdict.to_json(),
            published_at=now,
        )
        ResponseVersion.objects.create(
            response=response,
            body=draft.body,
            change_status=draft.change_status,
            change_description=draft.change_description,
            saved_by=written_by,
        )
        moved = story.advance_progress(_progress_for(draft.change_status))
        _note_response_time(story, now)
        story.save(update_fields=["progress", "first_responded_at", "target_missed_at"])
        responses_published.send(
            sender=Response,
            schema_name=organisation.schema_name,
            responses=[_published(response)],
            stories=_answered(before, _read_answering([story.pk])),
        )
        with public_schema():
            public = PublicResponse.objects.create(
                public_story_id=story.public_id,
                organisation_id=organisation.pk,
                responder_name=responder.full_name,
                responder_job_title=responder.job_title,
                responder_department=responder.department,
                responder_is_clinician=responder.is_clinician,
                responder_photo=responder.photo.name if responder.photo else "",
                body=draft.body,
                change_status=draft.change_status,
                change_description=draft.change_description,
                published_at=now,
                updated_at=now,
            )
            if moved:
                advance_public_progress(organisation.pk, {story.public_id: story.progress})
            note_first_responses(organisation.pk, {story.public_id: now})
            bump_public_version()
        response.public_id = public.pk
        response.save(update_fields=["public_id"])
        on_behalf = responder.pk != written_by.pk
        record_audit(
            "response.published",
            actor=written_by,
            target=response,
            summary=f"Responded to “{story.title}”"
            + (f" on behalf of {responder.email}" if on_behalf else ""),
            detail={
                "quality": verdict.to_json(),
                "on_behalf_of": responder.email if on_behalf else None,
            },
            request=request,
        )
        from feedback.emails import queue_response_notice

        # In this transaction, to the outbox: the author is told once the response is out.
        queue_response_notice(public.pk)
    return response


def edit_response(
    response: Response, draft: Draft, *, editor: User, request: HttpRequest | None = None
) -> Response:
    """Change a response within EDIT_WINDOW of publishing; every wording is kept."""
    if not is_publisher(editor, response):
        raise NotYourResponse("Only the person who published a response can edit it.")
    if timezone.now() - response.published_at > EDIT_WINDOW:
        raise RespondingError(
            "A response can be edited for 30 minutes after publishing. Publish a further "
            "response instead."
        )
    draft = check_draft(draft)
    now = timezone.now()
    with transaction.atomic():
        before = _read_answering([response.story_id])
        response.body = draft.body
        response.change_status = draft.change_status
        response.change_description = draft.change_description
        response.edited_at = now
        response.save(update_fields=["body", "change_status", "change_description", "edited_at"])
        ResponseVersion.objects.create(
            response=response,
            body=draft.body,
            change_status=draft.change_status,
            change_description=draft.change_description,
            saved_at=now,
            saved_by=editor,
        )
        _announce_change(response, before)
        _mirror(response, body=draft.body, updated_at=now)
        record_audit(
            "response.edited",
            actor=editor,
            target=response,
            summary="Edited a response",
            request=request,
        )
    return response


def is_publisher(user: User, response: Response) -> bool:
    """The responder it is published under, or the person who typed it for them."""
    return user.pk in (response.responder_id, response.written_by_id)


def can_record_change(user: User, response: Response) -> bool:
    """A change claim is public and said in the responder's name: theirs to make (or whoever
    typed the response for them), or an administrator's, who may respond for anyone."""
    return user.has_role(Role.RESPONDER) and (
        is_publisher(user, response) or user.has_role(Role.ADMINISTRATOR)
    )


@transaction.atomic
def record_change(
    response: Response,
    status: str,
    description: str,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Response:
    """Say a planned change was made (or plan one) after the edit window has closed."""
    if not can_record_change(actor, response):
        raise NotYourResponse(
            "Only the person who published a response, or an administrator, can record a "
            "change on it."
        )
    draft = check_draft(Draft(response.body, status, description))
    before = _read_answering([response.story_id])
    response.change_status = draft.change_status
    response.change_description = draft.change_description
    response.save(update_fields=["change_status", "change_description"])
    _announce_change(response, before)
    _mirror(response, updated_at=timezone.now())
    record_audit(
        "response.change_recorded",
        actor=actor,
        target=response,
        summary=f"{ChangeStatus(draft.change_status).label}: {draft.change_description}"[:300],
        request=request,
    )
    return response


def _read_answering(story_ids: Iterable[int]) -> dict[int, tuple[datetime, Answering]]:
    """Each story's publication time and where it stands on being answered, as saved (two
    queries): what the response signals carry before and after a change."""
    ids = list(story_ids)
    furthest: dict[int, str] = {}
    for story_id, status in Response.objects.filter(
        story_id__in=ids, change_status__in=[ChangeStatus.PLANNED, ChangeStatus.MADE]
    ).values_list("story_id", "change_status"):
        if furthest.get(story_id) != ChangeStatus.MADE:
            furthest[story_id] = status
    return {
        pk: (published_at, Answering(first, missed, furthest.get(pk, ChangeStatus.NONE)))
        for pk, published_at, first, missed in Story.objects.filter(pk__in=ids).values_list(
            "pk", "published_at", "first_responded_at", "target_missed_at"
        )
    }


def _answered(
    before: dict[int, tuple[datetime, Answering]], after: dict[int, tuple[datetime, Answering]]
) -> list[StoryAnswered]:
    """One StoryAnswered for each story read both before and after the change."""
    return [
        StoryAnswered(story_id=pk, published_at=published_at, before=before[pk][1], after=current)
        for pk, (published_at, current) in sorted(after.items())
        if pk in before
    ]


def _published(response: Response) -> PublishedResponse:
    return PublishedResponse(
        response_id=response.pk,
        story_id=response.story_id,
        published_at=response.published_at,
        change_status=response.change_status,
    )


def _announce_change(response: Response, before: dict[int, tuple[datetime, Answering]]) -> None:
    """`response_changed`, in this transaction and the organisation's schema."""
    response_changed.send(
        sender=Response,
        schema_name=connection.schema_name,
        response_id=response.pk,
        stories=_answered(before, _read_answering([response.story_id])),
    )


def _mirror(response: Response, **fields: object) -> None:
    """Carry a changed response's change claim (and `fields`) to the story's progress and the
    hub's public copy."""
    story = response.story
    organisation_id = connection.tenant.pk
    if story.advance_progress(_progress_for(response.change_status)):
        story.save(update_fields=["progress"])
    with public_schema():
        PublicResponse.objects.filter(pk=response.public_id).update(
            change_status=response.change_status,
            change_description=response.change_description,
            **fields,
        )
        advance_public_progress(organisation_id, {story.public_id: story.progress})
        bump_public_version()


def _note_response_time(story: Story, at: datetime) -> None:
    """The first response's time, and whether it came after the story's target."""
    if story.first_responded_at is None or at < story.first_responded_at:
        story.first_responded_at = at
    late = story.due_at is not None and story.first_responded_at > story.due_at
    if late and story.target_missed_at is None:
        story.target_missed_at = story.due_at


def _progress_for(change_status: str) -> Progress:
    return Progress.RESPONDED if change_status == ChangeStatus.NONE else Progress.CHANGED


@dataclass(frozen=True)
class ResponseToImport:
    story: Story
    responder: User
    draft: Draft
    published_at: datetime


def import_responses(items: list[ResponseToImport]) -> int:
    """Bring already-published responses in (history from another platform, and the demo),
    in one transaction, with a handful of queries whatever their number. Run inside the
    organisation's schema."""
    organisation = connection.tenant
    recent: list[str] = []
    with transaction.atomic():
        before = _read_answering({item.story.pk for item in items})
        responses = []
        for item in items:
            draft = check_draft(item.draft)
            verdict = quality.assess_response(
                draft.body,
                story_facts(item.story),
                responder_name=item.responder.full_name,
                recent_responses=recent[-20:],
            )
            recent.append(draft.body)
            responses.append(
                Response(
                    story=item.story,
                    responder=item.responder,
                    written_by=item.responder,
                    body=draft.body,
                    change_status=draft.change_status,
                    change_description=draft.change_description,
                    quality=verdict.to_json(),
                    published_at=item.published_at,
                )
            )
        responses = Response.objects.bulk_create(responses)
        ResponseVersion.objects.bulk_create(
            ResponseVersion(
                response=r,
                body=r.body,
                change_status=r.change_status,
                change_description=r.change_description,
                saved_at=r.published_at,
                saved_by=r.written_by,
            )
            for r in responses
        )
        stories = []
        for response in responses:
            story = response.story
            story.advance_progress(_progress_for(response.change_status))
            _note_response_time(story, response.published_at)
            stories.append(story)
        Story.objects.bulk_update(stories, ["progress", "first_responded_at", "target_missed_at"])
        responses_published.send(
            sender=Response,
            schema_name=organisation.schema_name,
            responses=[_published(response) for response in responses],
            stories=_answered(before, _read_answering(list(before))),
        )
        with public_schema():
            publics = PublicResponse.objects.bulk_create(
                PublicResponse(
                    public_story_id=r.story.public_id,
                    organisation_id=organisation.pk,
                    responder_name=r.responder.full_name,
                    responder_job_title=r.responder.job_title,
                    responder_department=r.responder.department,
                    responder_is_clinician=r.responder.is_clinician,
                    body=r.body,
                    change_status=r.change_status,
                    change_description=r.change_description,
                    published_at=r.published_at,
                    updated_at=r.published_at,
                )
                for r in responses
            )
            advance_public_progress(
                organisation.pk, {story.public_id: story.progress for story in stories}
            )
            first: dict[int, datetime] = {}
            for r in responses:
                public_id = r.story.public_id
                first[public_id] = min(first.get(public_id, r.published_at), r.published_at)
            note_first_responses(organisation.pk, first)
            bump_public_version()
        for response, public in zip(responses, publics, strict=True):
            response.public_id = public.pk
        Response.objects.bulk_update(responses, ["public_id"])
    return len(responses)
