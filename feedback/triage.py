"""What staff do with a story before and around responding: read, assign, note, tag.

All of it is private to the organisation. Run inside the organisation's schema."""

from __future__ import annotations

from django.db import connection, transaction
from django.http import HttpRequest

from feedback.choices import Progress
from feedback.models import Story, StoryNote, StoryReading, Tag
from feedback.public_cache import bump_public_version
from feedback.public_progress import advance_public_progress
from feedback.service_limits import story_in_scope
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.schemas import public_schema


class TriageError(Exception):
    """The change is not allowed; the message says why."""


@transaction.atomic
def mark_heard(stories: list[Story]) -> int:
    """Stories staff have seen listed (or been alerted to) are heard; never moves back."""
    ids = [s.pk for s in stories if s.progress == Progress.UNHEARD]
    if not ids:
        return 0
    public_ids = list(Story.objects.filter(pk__in=ids).values_list("public_id", flat=True))
    moved = Story.objects.filter(pk__in=ids, progress=Progress.UNHEARD).update(
        progress=Progress.HEARD
    )
    organisation_id = connection.tenant.pk
    with public_schema():
        advance_public_progress(organisation_id, dict.fromkeys(public_ids, Progress.HEARD))
        bump_public_version()
    return moved


@transaction.atomic
def open_story(story: Story, *, reader: User) -> list[StoryReading]:
    """Mark the story read by `reader`; return everyone's readings, first reader first."""
    _, first_time = StoryReading.objects.get_or_create(story=story, reader=reader)
    if story.advance_progress(Progress.READ):
        story.save(update_fields=["progress"])
        organisation_id = connection.tenant.pk
        with public_schema():
            advance_public_progress(organisation_id, {story.public_id: Progress.READ})
            bump_public_version()
    if first_time:
        record_audit("story.read", actor=reader, target=story, summary=f"Read “{story.title}”")
    return list(story.readings.select_related("reader"))


@transaction.atomic
def assign_story(
    story: Story, assignee: User | None, *, actor: User, request: HttpRequest | None = None
) -> Story:
    if assignee is not None and not assignee.has_role(Role.RESPONDER):
        raise TriageError(f"{assignee} cannot respond, so cannot be given the story.")
    if assignee is not None and not story_in_scope(assignee, story):
        raise TriageError(
            f"{assignee} is limited to other services and cannot see this story, so cannot "
            "be given it."
        )
    story.assigned_to = assignee
    story.save(update_fields=["assigned_to"])
    record_audit(
        "story.assigned",
        actor=actor,
        target=story,
        summary=f"Gave “{story.title}” to {assignee}"
        if assignee
        else f"Unassigned “{story.title}”",
        request=request,
    )
    return story


@transaction.atomic
def add_note(
    story: Story, text: str, *, author: User, request: HttpRequest | None = None
) -> StoryNote:
    text = text.strip()
    if not text:
        raise TriageError("Write something in the note.")
    if len(text) > 5000:
        raise TriageError("Keep a note under 5,000 characters.")
    note = StoryNote.objects.create(story=story, author=author, text=text)
    record_audit(
        "story.noted", actor=author, target=story, summary="Added a private note", request=request
    )
    return note


@transaction.atomic
def add_private_tag(tag: Tag, *, actor: User | None = None) -> Tag:
    """A tag of the organisation's own, for its staff to tag stories with; never published."""
    tag.is_private = True
    tag.full_clean()
    tag.save()
    record_audit("tag.created", actor=actor, target=tag, summary=f"Added private tag “{tag.name}”")
    return tag


@transaction.atomic
def set_private_tags(
    story: Story, tags: list[Tag], *, actor: User, request: HttpRequest | None = None
) -> None:
    if any(not tag.is_private for tag in tags):
        raise TriageError("Only private tags can be set here; moderators set the shared ones.")
    story.tags.remove(*story.tags.filter(is_private=True))
    story.tags.add(*tags)
    record_audit(
        "story.tagged",
        actor=actor,
        target=story,
        summary=f"Set private tags: {', '.join(t.name for t in tags) or 'none'}",
        request=request,
    )
