"""Withdrawing a story at its author's request, once a moderator has confirmed it: every
copy goes, in one transaction.

- the hub's public copy (PublicStory), with the responses and the author's replies on it;
- the Story in every organisation's schema it was written to, with its responses, notes,
  readings and alert rows, and its contribution to the rollups (the counts dashboards,
  network comparisons and reports add up), subtracted in the same transaction;
- the submission's own words (title, text, nickname, who posted it, the personal details
  found in it): the row stays, as the record that it was withdrawn, with its contact
  details until retention deletes them (feedback/retention.py).

What remains in public is a WithdrawnStory: its former id, so its address answers "withdrawn
at its author's request" rather than nothing, and how many responses were removed with it.
Each organisation keeps an audit row naming its own former story id, which its workspace
reads to answer that address the same way.

Inside the transaction, `story_withdrawing` is sent in each organisation's schema just before
its copy is deleted (dashboards subtract it from the rollups). Listeners hear
`story_withdrawn` once it has all committed (dashboards drop cached figures and reports made
before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.emails import queue_withdrawal_notice
from feedback.entering import remove_scan
from feedback.hub.models import (
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    PublicResponse,
    PublicStory,
    SafeguardingConcern,
    Submission,
    SubmissionState,
    WithdrawnStory,
)
from feedback.models import Response, Story, StoryNote, StoryReading
from feedback.public_cache import bump_public_version
from feedback.signals import story_withdrawing, story_withdrawn
from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit, remove_wording
from tenants.models import Organisation

# What a withdrawn submission's title becomes (the field is required); the same words
# retention uses, so a nightly run finds nothing left to purge.
WITHDRAWN_TITLE = "[withdrawn at the author's request]"
# The author's words, wiped; the title is replaced by WITHDRAWN_TITLE.
WIPED_FIELDS = (
    "what_was_good",
    "what_could_be_improved",
    "how_it_felt",
    "nickname",
    "assisted_by",
    "rejection_note",
)
# The audit action in an organisation's schema; its target is that organisation's Story.
TENANT_ACTION = "story.withdrawn"


class WithdrawalError(Exception):
    """The withdrawal cannot be carried out; the message says why."""


@dataclass(frozen=True)
class Withdrawal:
    submission: Submission
    tombstone: WithdrawnStory | None
    # (schema_name, former Story id) of every organisation copy deleted
    stories: list[tuple[str, int]]


def withdraw_story(
    submission_id: int,
    *,
    moderator,  # noqa: ANN001 - a public-schema User
    author_request_id: int | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Withdrawal:
    """Withdraw the story of `submission_id` from everywhere, in one transaction.

    `author_request_id` is the author's request being confirmed; it must be an open
    withdrawal request for this submission, and one made without the author's link must
    record how the moderator verified them (`note`, or the note made when linking it).
    """
    note = note.strip()
    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        if submission.state == SubmissionState.WITHDRAWN:
            raise WithdrawalError("This story has already been withdrawn.")
        asked = _checked_request(author_request_id, submission, note)
        if SafeguardingConcern.objects.filter(
            submission=submission, acknowledged_at__isnull=True
        ).exists():
            # TRICKY: the text is the evidence of a concern nobody has acted on yet; the
            # author's right waits the few hours until someone acknowledges it.
            raise WithdrawalError(
                "A safeguarding concern about this story has not been acknowledged yet. "
                "Withdraw it once the organisation has acknowledged the concern."
            )
        public = (
            PublicStory.objects.filter(pk=submission.public_story_id).first()
            if submission.public_story_id
            else None
        )
        public_id = public.pk if public is not None else None
        tombstone = None
        stories: list[tuple[str, int]] = []
        organisations: list[Organisation] = []
        if public is not None:
            organisations = _organisations_of(public, submission)
            responders = sorted(
                set(
                    PublicResponse.objects.filter(public_story=public).values_list(
                        "organisation_id", flat=True
                    )
                )
            )
            response_count = PublicResponse.objects.filter(public_story=public).count()
            for organisation in organisations:
                stories += _delete_organisation_copy(organisation, public_id, moderator, request)
            # The responses, the author's replies and each organisation's progress go with it.
            public.delete()
            tombstone = WithdrawnStory.objects.create(
                public_id=public_id, response_count=response_count
            )
            tombstone.organisations.set(responders)
            bump_public_version()
        now = timezone.now()
        _wipe(submission, now)
        for made in submission.requests.select_for_update().filter(
            kind=AuthorRequestKind.WITHDRAW, state=AuthorRequestState.OPEN
        ):
            made.state = AuthorRequestState.DONE
            made.handled_by = moderator
            made.handled_at = now
            if asked is not None and made.pk == asked.pk and note:
                made.moderator_note = "\n".join(p for p in (made.moderator_note, note) if p)
            made.save(update_fields=["state", "handled_by", "handled_at", "moderator_note"])
        # The moderators' earlier rows quoted the title ("Published “…”"): it goes with it.
        remove_wording(
            AuditEvent.objects.filter(target_type="hub.submission", target_id=str(submission.pk))
        )
        record_audit(
            "moderation.withdrawn",
            actor=moderator,
            target=submission,
            # Never the title or text: they are gone, and must not linger in the log.
            summary=(
                f"Withdrew story {public_id} at its author's request"
                if public_id is not None
                else f"Withdrew submission {submission.pk} (not published) at its author's request"
            ),
            detail={
                "public_id": public_id,
                "organisations": [o.pk for o in organisations],
                "stories": [list(item) for item in stories],
                "responses": tombstone.response_count if tombstone else 0,
                "request": asked.pk if asked is not None else None,
                "via_link": asked.via_link if asked is not None else None,
                "note": note,
            },
            request=request,
        )
        # The author is told (through the outbox, in this transaction), and their email and
        # postcode then go (feedback/emails.py).
        queue_withdrawal_notice(submission.pk)
        if public_id is not None:
            organisation_ids = [o.pk for o in organisations]
            schemas = [o.schema_name for o in organisations]
            transaction.on_commit(
                lambda: story_withdrawn.send(
                    sender=WithdrawnStory,
                    public_story_id=public_id,
                    organisation_ids=organisation_ids,
                    schemas=schemas,
                )
            )
    return Withdrawal(submission=submission, tombstone=tombstone, stories=stories)


def _checked_request(
    author_request_id: int | None, submission: Submission, note: str
) -> AuthorRequest | None:
    if author_request_id is None:
        return None
    asked = AuthorRequest.objects.select_for_update().filter(pk=author_request_id).first()
    if asked is None:
        raise WithdrawalError("There is no such request.")
    if asked.state != AuthorRequestState.OPEN:
        raise WithdrawalError(f"This request was already {asked.get_state_display().lower()}.")
    if asked.kind != AuthorRequestKind.WITHDRAW:
        raise WithdrawalError("This request is not for a withdrawal.")
    if asked.submission_id != submission.pk:
        raise WithdrawalError("This request is not about that submission.")
    if not asked.via_link and not (note or asked.moderator_note):
        raise WithdrawalError(
            "Record how you verified that the person asking wrote this story before withdrawing it."
        )
    return asked


def _organisations_of(public: PublicStory, submission: Submission) -> list[Organisation]:
    """Every organisation a copy may have been written to: those the public story names,
    and those of the services the submission was published to."""
    ids = set(public.organisations.values_list("pk", flat=True))
    ids |= set(submission.services.values_list("organisation_id", flat=True))
    return list(Organisation.objects.filter(pk__in=ids).order_by("pk"))


def _delete_organisation_copy(
    organisation: Organisation,
    public_id: int,
    moderator,  # noqa: ANN001 - a public-schema User
    request: HttpRequest | None,
) -> list[tuple[str, int]]:
    """Delete this organisation's Story for `public_id` (and all that hangs off it), after
    `story_withdrawing` (the rollups subtract it), and audit it in the organisation's own log."""
    deleted = []
    with tenant_context(organisation):
        rows = list(Story.objects.select_for_update().filter(public_id=public_id))
        ids = [row.pk for row in rows]
        # Staff's rows about the story and its responses may quote it (a title, a note).
        responses = Response.objects.filter(story_id__in=ids).values_list("pk", flat=True)
        remove_wording(
            AuditEvent.objects.filter(
                Q(target_type="feedback.story", target_id__in=[str(pk) for pk in ids])
                | Q(target_type="feedback.response", target_id__in=[str(pk) for pk in responses])
            )
        )
        for row in rows:
            counts = {
                "responses": Response.objects.filter(story=row).count(),
                "notes": StoryNote.objects.filter(story=row).count(),
                "readings": StoryReading.objects.filter(story=row).count(),
            }
            record_audit(
                TENANT_ACTION,
                actor=None,
                actor_label=f"Carevoice moderator {getattr(moderator, 'email', '')}".strip(),
                target=row,
                summary=f"Story {public_id} was withdrawn at its author's request and "
                "deleted, with its responses, notes and readings",
                detail={"public_id": public_id, **counts},
                request=request,
            )
            deleted.append((organisation.schema_name, row.pk))
        if ids:
            # TRICKY: before the delete, so receivers (the rollups) can still read the
            # stories they subtract; responses, notes, readings, versions and alert rows
            # then go by cascade.
            story_withdrawing.send(
                sender=Story,
                schema_name=organisation.schema_name,
                public_story_id=public_id,
                story_ids=ids,
            )
        Story.objects.filter(pk__in=ids).delete()
    return deleted


def _wipe(submission: Submission, now: datetime) -> None:
    scan = submission.scan
    if scan:
        # A scan of the paper form holds the story too: its file goes once this commits.
        transaction.on_commit(lambda: remove_scan(scan))
    submission.scan = ""
    submission.title = WITHDRAWN_TITLE
    for name in WIPED_FIELDS:
        setattr(submission, name, "")
    submission.findings = None
    submission.state = SubmissionState.WITHDRAWN
    submission.withdrawn_at = now
    submission.text_purged_at = submission.text_purged_at or now
    submission.public_story = None
    submission.save(
        update_fields=[
            "title",
            *WIPED_FIELDS,
            "findings",
            "state",
            "withdrawn_at",
            "text_purged_at",
            "public_story",
            "scan",
        ]
    )


@dataclass(frozen=True)
class WithdrawnNote:
    """What an address of a withdrawn story says instead of the story."""

    public_id: int
    withdrawn_at: datetime
    response_count: int
    organisation_names: list[str]


def withdrawn_note(public_id: int) -> WithdrawnNote | None:
    with schema_context("public"):
        tombstone = WithdrawnStory.objects.filter(public_id=public_id).first()
        if tombstone is None:
            return None
        names = list(tombstone.organisations.order_by("name").values_list("name", flat=True))
    return WithdrawnNote(
        public_id=tombstone.public_id,
        withdrawn_at=tombstone.withdrawn_at,
        response_count=tombstone.response_count,
        organisation_names=names,
    )


def withdrawn_note_for_tenant_story(story_id: int) -> WithdrawnNote | None:
    """For a Story id of the active organisation's schema that was withdrawn: its note,
    found through the audit row the withdrawal left there."""
    event = (
        AuditEvent.objects.filter(
            action=TENANT_ACTION, target_type=Story._meta.label_lower, target_id=str(story_id)
        )
        .only("detail")
        .first()
    )
    public_id = event.detail.get("public_id") if event is not None else None
    return withdrawn_note(public_id) if isinstance(public_id, int) else None
