"""The separate, urgent path for a story that describes harm which may still be happening.

A moderator raises a safeguarding concern with every organisation the story names; each
organisation's designated safeguarding contacts are alerted at once (alerts/safeguarding.py,
on the ``safeguarding_concern_raised`` signal), and acknowledge it in their workspace. A
concern nobody acknowledges by its ``escalate_at`` is escalated: to the organisation's
administrators (``safeguarding_concern_escalated``) and to platform staff (feedback/emails.py).
Separately, the moderator decides whether to publish a redacted version (the normal publish
path, feedback/moderation.py) or to withhold the story. Every step is audited.

Concerns live in the public schema; an acknowledgement is audited where the person who
acknowledged it lives, in the organisation's schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback import emails
from feedback.hub.models import (
    ConcernCategory,
    SafeguardingConcern,
    Submission,
    SubmissionState,
)
from feedback.signals import safeguarding_concern_escalated, safeguarding_concern_raised
from tenants.audit.recording import record_audit
from tenants.models import Organisation

logger = logging.getLogger(__name__)

MAX_NOTE_CHARACTERS = 2000
# How many overdue concerns one run of escalate_overdue takes on; the next run takes the rest.
ESCALATION_BATCH = 200


class SafeguardingError(Exception):
    """The safeguarding action cannot be carried out; the message says why."""


class ConcernNotFound(SafeguardingError):
    """No such concern for this organisation (another organisation's is not found either)."""


def _clean_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if "\x00" in note:
        raise SafeguardingError("The note contains a null character; remove it and try again.")
    if required and not note:
        raise SafeguardingError("Write a note for the organisation: what the concern is.")
    if len(note) > MAX_NOTE_CHARACTERS:
        raise SafeguardingError(
            f"Please shorten the note to {MAX_NOTE_CHARACTERS:,} characters or fewer "
            f"(it has {len(note):,})."
        )
    return note


def _category(value: str) -> ConcernCategory:
    try:
        return ConcernCategory(value)
    except ValueError:
        raise SafeguardingError("Choose the kind of concern from the list.") from None


def _send_after_commit(signal, concern: SafeguardingConcern) -> None:  # noqa: ANN001 - a Signal
    schema_name = concern.organisation.schema_name
    concern_id = concern.pk
    # robust: one organisation's receiver failing must not stop the next organisation's alert.
    transaction.on_commit(
        lambda: signal.send(
            sender=SafeguardingConcern, concern_id=concern_id, schema_name=schema_name
        ),
        robust=True,
    )


def raise_concern(
    submission_id: int,
    *,
    moderator,  # noqa: ANN001 - a public-schema User
    category: ConcernCategory | str,
    note: str,
    request: HttpRequest | None = None,
) -> list[SafeguardingConcern]:
    """Raise a concern about a pending submission with each organisation it names (one
    concern per organisation; those that already have one keep it). Returns the concerns
    made now. Their organisations hear of them once this has committed."""
    category = _category(category)
    note = _clean_note(note, required=True)
    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None:
            raise SafeguardingError("There is no such story.")
        if submission.state != SubmissionState.PENDING:
            raise SafeguardingError(
                "A concern is raised while the story waits for moderation; this one was "
                f"already {submission.get_state_display().lower()}."
            )
        organisations = list(
            Organisation.objects.subscribers()
            .filter(service_listings__submissions=submission)
            .distinct()
            .order_by("name")
        )
        if not organisations:
            raise SafeguardingError(
                "The story names no organisation yet: choose its services first, so the "
                "concern reaches someone."
            )
        already = set(
            SafeguardingConcern.objects.filter(submission=submission).values_list(
                "organisation_id", flat=True
            )
        )
        now = timezone.now()
        made = []
        for organisation in organisations:
            if organisation.pk in already:
                continue
            concern = SafeguardingConcern.objects.create(
                submission=submission,
                organisation=organisation,
                category=category,
                note=note,
                raised_by=moderator,
                raised_at=now,
                escalate_at=now + timedelta(hours=organisation.safeguarding_escalate_hours),
            )
            record_audit(
                "safeguarding.raised",
                actor=moderator,
                target=concern,
                summary=f"Raised a safeguarding concern ({category.label.lower()}) about "
                f"“{submission.title}” with {organisation.name}",
                detail={
                    "submission": submission.pk,
                    "organisation": organisation.pk,
                    "category": category.value,
                    "escalate_at": concern.escalate_at.isoformat(),
                },
                request=request,
            )
            _send_after_commit(safeguarding_concern_raised, concern)
            made.append(concern)
        if not made:
            raise SafeguardingError(
                "A safeguarding concern was already raised about this story with every "
                "organisation it names."
            )
    return made


def acknowledge_concern(
    concern_id: int,
    *,
    user,  # noqa: ANN001 - the organisation's own User, in its schema
    note: str = "",
    request: HttpRequest | None = None,
    organisation: Organisation | None = None,
) -> SafeguardingConcern:
    """One of the organisation's staff says they have the concern in hand. Run in the
    organisation's schema (the current tenant, unless ``organisation`` is given): only its
    own concerns can be acknowledged, and the audit row is written there."""
    organisation = organisation or connection.tenant
    if not isinstance(organisation, Organisation) or organisation.is_hub:
        raise ConcernNotFound("Safeguarding concerns are acknowledged in the workspace.")
    note = _clean_note(note, required=False)
    with transaction.atomic():
        with schema_context("public"):
            concern = (
                SafeguardingConcern.objects.select_for_update()
                .filter(pk=concern_id, organisation_id=organisation.pk)
                .first()
            )
            if concern is None:
                raise ConcernNotFound("There is no such safeguarding concern here.")
            if concern.acknowledged_at is not None:
                raise SafeguardingError(
                    f"{concern.acknowledged_by_name or 'A colleague'} already acknowledged this "
                    f"concern on {timezone.localtime(concern.acknowledged_at):%d %B %Y at %H:%M}."
                )
            concern.acknowledged_at = timezone.now()
            concern.acknowledged_by_name = (user.get_full_name() or user.email)[:150]
            concern.acknowledged_by_email = user.email
            concern.acknowledgement_note = note
            concern.save(
                update_fields=[
                    "acknowledged_at",
                    "acknowledged_by_name",
                    "acknowledged_by_email",
                    "acknowledgement_note",
                ]
            )
        category = concern.get_category_display().lower()
        record_audit(
            "safeguarding.acknowledged",
            actor=user,
            target=concern,
            summary=f"Acknowledged the safeguarding concern ({category}) raised on "
            f"{timezone.localtime(concern.raised_at):%d %B %Y %H:%M}",
            detail={"concern": concern.pk, "escalated": concern.escalated_at is not None},
            request=request,
        )
    return concern


def overdue_concerns(now: datetime):  # noqa: ANN201 - a QuerySet of SafeguardingConcern
    """Concerns nobody acknowledged by their time, not yet escalated."""
    return SafeguardingConcern.objects.filter(
        acknowledged_at__isnull=True, escalated_at__isnull=True, escalate_at__lte=now
    )


def escalate_overdue(now: datetime | None = None) -> int:
    """Escalate every overdue concern, once each: mark it, audit it, write platform staff's
    emails to the outbox, and (after commit) tell its organisation's administrators. Returns
    how many escalated.

    Each concern is claimed in its own transaction with ``SKIP LOCKED``, so two runs at
    once (a redelivered task, two beat ticks) share the work rather than doubling it. The
    platform staff's emails are outbox rows (tenants/messages.py) written in that
    transaction, keyed by the concern and the recipient: they commit with the escalation, and
    the outbox sends each exactly once, retrying a mail server that refuses.
    """
    now = now or timezone.now()
    with schema_context("public"):
        ids = list(
            overdue_concerns(now)
            .order_by("escalate_at")
            .values_list("pk", flat=True)[:ESCALATION_BATCH]
        )
    escalated = 0
    for concern_id in ids:
        try:
            escalated += _escalate(concern_id, now)
        except Exception:  # noqa: BLE001 - one concern's failure must not stop the others
            logger.exception("could not escalate safeguarding concern %s", concern_id)
    return escalated


def _escalate(concern_id: int, now: datetime) -> bool:
    with transaction.atomic(), schema_context("public"):
        concern = (
            overdue_concerns(now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("organisation", "submission")
            .filter(pk=concern_id)
            .first()
        )
        if concern is None:  # acknowledged, escalated or being escalated meanwhile
            return False
        concern.escalated_at = timezone.now()
        concern.save(update_fields=["escalated_at"])
        hours = concern.organisation.safeguarding_escalate_hours
        record_audit(
            "safeguarding.escalated",
            actor=None,
            target=concern,
            summary=f"Escalated the safeguarding concern about “{concern.submission.title}” "
            f"at {concern.organisation.name}: nobody acknowledged it within {hours} hours",
            detail={
                "submission": concern.submission_id,
                "organisation": concern.organisation_id,
                "escalate_at": concern.escalate_at.isoformat(),
            },
        )
        emails.queue_safeguarding_escalation(concern.pk)
        _send_after_commit(safeguarding_concern_escalated, concern)
    return True


def withhold_submission(
    submission_id: int,
    *,
    moderator,  # noqa: ANN001 - a public-schema User
    note: str,
    request: HttpRequest | None = None,
) -> Submission:
    """The moderator's decision not to publish a story they raised a concern about. (To
    publish a redacted version instead, they use the normal publish path.)"""
    note = _clean_note(note, required=True)
    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None:
            raise SafeguardingError("There is no such story.")
        if submission.state != SubmissionState.PENDING:
            who = submission.moderated_by or "another moderator"
            raise SafeguardingError(
                f"This story was already {submission.get_state_display().lower()} by {who}."
            )
        if not submission.concerns.exists():
            raise SafeguardingError(
                "Raise a safeguarding concern first: a story is withheld only for "
                "safeguarding. To refuse it for another reason, reject it."
            )
        submission.state = SubmissionState.WITHHELD
        submission.rejection_note = note
        submission.moderated_by = moderator
        submission.moderated_at = timezone.now()
        submission.save(update_fields=["state", "rejection_note", "moderated_by", "moderated_at"])
        record_audit(
            "safeguarding.withheld",
            actor=moderator,
            target=submission,
            summary=f"Withheld “{submission.title}” (safeguarding)",
            detail={"note": note},
            request=request,
        )
    return submission


@dataclass(frozen=True)
class TimeLeft:
    """Where a concern stands against its escalation time, in words for a page."""

    words: str
    is_overdue: bool


def time_left(concern: SafeguardingConcern, now: datetime | None = None) -> TimeLeft:
    if concern.acknowledged_at is not None:
        return TimeLeft("Acknowledged", False)
    if concern.escalated_at is not None:
        when = timezone.localtime(concern.escalated_at)
        return TimeLeft(f"Escalated {when:%d %b %Y %H:%M}", True)
    remaining = concern.escalate_at - (now or timezone.now())
    minutes = int(abs(remaining).total_seconds() // 60)
    span = f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
    if remaining.total_seconds() <= 0:
        return TimeLeft(f"Overdue by {span}", True)
    return TimeLeft(f"{span} left", False)


def story_text(submission: Submission) -> list[tuple[str, str]]:
    """The story as it stands now, section by section, for its organisation's safeguarding
    contacts: the text only, never the author's contact details."""
    if submission.text_purged_at is not None:
        return [("", "The story's text has since been removed.")]
    sections = [
        ("What was good", submission.what_was_good),
        ("What could be improved", submission.what_could_be_improved),
        ("How it made them feel", submission.how_it_felt),
    ]
    return [(heading, text.strip()) for heading, text in sections if text and text.strip()]
