"""What moderators do to a submission: redact, publish, reject. Each is audited.

Moderators check everything the author typed that anyone else will see: the story's text,
the nickname published with it, and who posted it on the author's behalf (shown to the
organisation's staff). Each is scanned for personal details and can be edited and redacted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback import pii, risk_words
from feedback.hub.models import (
    AuthorReply,
    PublicStory,
    RejectionReason,
    ServiceListing,
    Submission,
    SubmissionState,
)
from feedback.publishing import Published, StoryToPublish, write_published_story
from feedback.rendering import compose_body
from feedback.signals import story_published
from feedback.thanks import Confirmed, ThanksError, check_thanks, pass_on_thanks
from tenants.audit.recording import record_audit

TEXT_FIELDS = ("title", "what_was_good", "what_could_be_improved", "how_it_felt")
# What the author says of themselves: the nickname is published with the story, and who
# posted it for them reaches the organisation's staff. Either may name someone.
AUTHOR_FIELDS = ("nickname", "assisted_by")
# Every field a moderator checks, edits and redacts; findings are stored for each.
CHECKED_FIELDS = (*TEXT_FIELDS, *AUTHOR_FIELDS)
# How an audit summary names an edit to them (never their content).
AUTHOR_WORDS = {"nickname": "nickname", "assisted_by": "“posted on behalf of” line"}
FIELD_LABELS = {
    "title": "Title",
    "what_was_good": "What was good",
    "what_could_be_improved": "What could be improved",
    "how_it_felt": "How it made them feel",
    "nickname": "Nickname, published with the story",
    "assisted_by": "Posted on the author's behalf by, shown to the organisation",
}


class ModerationError(Exception):
    """The moderator's decision cannot be carried out; the message says why."""


class ModerationConflict(ModerationError):
    """Someone else moderated this submission first; the message says who and what."""


@dataclass(frozen=True)
class Decision:
    criticality: str
    tag_keys: list[str]
    listings: list[ServiceListing]
    # Staff the moderator confirmed the story thanks (feedback/thanks.py): passed on with it.
    thanks: tuple[Confirmed, ...] = ()


def scan_submission(submission: Submission) -> None:
    """Find the personal details in each field a moderator checks (CHECKED_FIELDS) and keep
    them on the submission (unsaved). Done when a story arrives and whenever its text is
    edited, so that the moderation pages only read them: scanning every pending story on
    every page load let a few crafted stories hold up moderation for everyone."""
    submission.findings = {
        name: [f.to_json() for f in pii.find_personal_details(getattr(submission, name))]
        for name in CHECKED_FIELDS
    }
    # Beside them, the phrases that often mean someone is at risk (findings["risk"]).
    risk_words.scan_risk(submission)


def _stored(data: object, text: str) -> list[pii.Finding] | None:
    """Stored findings that still fit ``text``; None if there are none, or they do not."""
    if not isinstance(data, list):
        return None
    try:
        found = [pii.Finding.from_json(item) for item in data]
    except (KeyError, TypeError, ValueError):
        return None
    return found if all(finding.fits(text) for finding in found) else None


def findings_for(submission: Submission) -> dict[str, list[pii.Finding]]:
    """The personal details stored for each field a moderator checks (CHECKED_FIELDS).

    The text is scanned here only when nothing fits it (a submission from before findings
    were stored, or text changed outside moderation), and what is found is saved, so it
    happens once.
    """
    stored = submission.findings if isinstance(submission.findings, dict) else {}
    found = {name: _stored(stored.get(name), getattr(submission, name)) for name in CHECKED_FIELDS}
    if all(found[name] is not None for name in CHECKED_FIELDS):
        return found
    scan_submission(submission)
    with schema_context("public"):
        Submission.objects.filter(pk=submission.pk).update(findings=submission.findings)
    return {
        name: [pii.Finding.from_json(item) for item in submission.findings[name]]
        for name in CHECKED_FIELDS
    }


def reply_findings(reply: AuthorReply) -> list[pii.Finding]:
    """The personal details stored with an author's reply, found when it was sent; scanned
    (once, then saved) only when nothing stored fits its body."""
    found = _stored(reply.findings, reply.body)
    if found is not None:
        return found
    found = pii.find_personal_details(reply.body)
    reply.findings = [finding.to_json() for finding in found]
    with schema_context("public"):
        AuthorReply.objects.filter(pk=reply.pk).update(findings=reply.findings)
    return found


def _locked_pending(submission_id: int) -> Submission:
    submission = Submission.objects.select_for_update().get(pk=submission_id)
    if submission.state != SubmissionState.PENDING:
        who = submission.moderated_by or "another moderator"
        raise ModerationConflict(
            f"This story was already {submission.get_state_display().lower()} by {who}."
        )
    return submission


@dataclass(frozen=True)
class Edits:
    """The moderator's wording for each checked field (CHECKED_FIELDS), and the redactions
    they accepted in it. A field missing from ``texts`` is left as it is."""

    texts: dict[str, str]
    redactions: dict[str, list[pii.Finding]]

    def changes(self, submission: Submission) -> bool:
        return any(self.redactions.values()) or any(
            self.texts.get(name, getattr(submission, name)).strip() != getattr(submission, name)
            for name in CHECKED_FIELDS
        )


@dataclass(frozen=True)
class Ticked:
    """A suggested redaction the moderator ticked: in which field, the words the page
    highlighted, and what to put in their place (blank: the suggestion's own placeholder)."""

    field: str
    text: str
    replacement: str = ""


# A moderator's replacement words are kept to this length.
MAX_REPLACEMENT_CHARACTERS = 60


def accept_redactions(
    texts: dict[str, str], ticked: Iterable[Ticked]
) -> dict[str, list[pii.Finding]]:
    """The redactions a moderator accepted, by field: each ticked suggestion matched, by its
    words, to a personal detail found in the text as the moderator left it (``texts``, by
    field name). A suggestion for another field, or whose words are no longer there (the
    moderator edited them away), is dropped; the same words ticked twice take the next
    place they occur. Nothing is written: the redactions take effect through `save_edits`
    or `publish_submission`, which audit them."""
    accepted: dict[str, list[pii.Finding]] = {}
    found: dict[str, list[pii.Finding]] = {}
    for choice in ticked:
        if choice.field not in texts:
            continue
        if choice.field not in found:
            found[choice.field] = pii.find_personal_details(texts[choice.field])
        replacement = choice.replacement.strip()[:MAX_REPLACEMENT_CHARACTERS]
        used = {f.start for f in accepted.get(choice.field, [])}
        for finding in found[choice.field]:
            if finding.text == choice.text and finding.start not in used:
                accepted.setdefault(choice.field, []).append(
                    pii.Finding(
                        finding.kind,
                        finding.start,
                        finding.end,
                        finding.text,
                        replacement or finding.replacement,
                    )
                )
                break
    return accepted


def details_left(text: str, redactions: list[pii.Finding]) -> list[pii.Finding]:
    """The personal details still found in ``text`` once ``redactions`` are made."""
    return pii.find_personal_details(pii.redact(text, redactions) if redactions else text)


def has_details_left(submission: Submission, edits: Edits) -> bool:
    """Whether anything the detector flags is left in what would be published."""
    return any(
        details_left(
            edits.texts.get(name, getattr(submission, name)), edits.redactions.get(name, [])
        )
        for name in CHECKED_FIELDS
    )


def _apply_edits(submission: Submission, edits: Edits, *, moderator, request) -> None:
    """The author's original wording is not kept: removed details must not linger anywhere."""
    if not edits.changes(submission):
        return
    kinds: Counter[str] = Counter()
    changed: list[str] = []
    for name in CHECKED_FIELDS:
        text = edits.texts.get(name, getattr(submission, name))
        accepted = edits.redactions.get(name, [])
        if accepted:
            text = pii.redact(text, accepted)
            kinds.update(f.kind for f in accepted)
        if "\x00" in text:
            # PostgreSQL cannot store NUL; a replacement typed into a redaction may carry one.
            raise ModerationError("The text contains a null character; remove it and try again.")
        text = text.strip()
        limit = Submission._meta.get_field(name).max_length
        if limit is not None and len(text) > limit:
            # A replacement can be longer than what it replaces.
            raise ModerationError(
                f"“{FIELD_LABELS[name]}” is {len(text)} characters long; shorten it to "
                f"{limit} or fewer."
            )
        if text != getattr(submission, name):
            changed.append(name)
        setattr(submission, name, text)
    if not submission.title:
        raise ModerationError("A story needs a title.")
    scan_submission(submission)
    submission.save(update_fields=[*CHECKED_FIELDS, "findings"])
    record_audit(
        "moderation.edited",
        actor=moderator,
        target=submission,
        summary=f"Edited “{submission.title}”"
        + "".join(f" and its {AUTHOR_WORDS[name]}" for name in AUTHOR_FIELDS if name in changed)
        + (f", removing {sum(kinds.values())} personal details" if kinds else ""),
        detail={"redacted": dict(kinds)},
        request=request,
    )


def save_edits(
    submission_id: int, *, moderator, edits: Edits, request: HttpRequest | None = None
) -> Submission:
    with transaction.atomic(), schema_context("public"):
        submission = _locked_pending(submission_id)
        _apply_edits(submission, edits, moderator=moderator, request=request)
    return submission


def grant_moderation(user) -> None:  # noqa: ANN001 - a public-schema User
    """Make a platform account a moderator (staff, in the Moderators group)."""
    from django.contrib.auth.models import Group, Permission

    with schema_context("public"):
        group, _ = Group.objects.get_or_create(name="Moderators")
        group.permissions.add(Permission.objects.get(codename="moderate_submission"))
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(group)


def publish_submission(
    submission_id: int,
    *,
    moderator,
    decision: Decision,
    edits: Edits | None = None,
    request: HttpRequest | None = None,
    published_at: datetime | None = None,
) -> Published:
    """Publish in one transaction: the moderator's last edits, each organisation's Story,
    the PublicStory and the submission's new state. Listeners hear of it only once that
    has committed."""
    if not decision.criticality:
        raise ModerationError("Set the story's criticality before publishing.")
    if not decision.listings:
        raise ModerationError("Choose at least one service before publishing.")
    try:
        check_thanks(
            decision.criticality,
            list(decision.thanks),
            {listing.organisation_id for listing in decision.listings},
        )
    except ThanksError as refused:
        raise ModerationError(str(refused)) from refused
    with transaction.atomic(), schema_context("public"):
        submission = _locked_pending(submission_id)
        if edits is not None:
            _apply_edits(submission, edits, moderator=moderator, request=request)
        published = write_published_story(
            StoryToPublish(
                title=submission.title,
                body=compose_body(
                    {name: getattr(submission, name) for name in TEXT_FIELDS},
                    submission.language,
                ),
                criticality=decision.criticality,
                author_role=submission.author_role,
                author_age_group=submission.author_age_group,
                author_nickname=submission.nickname,
                submission_route=submission.route,
                language=submission.language,
                assisted_by=submission.assisted_by,
                staff_entered_by=submission.entered_by_organisation_id
                if submission.staff_entered
                else None,
                submitted_at=submission.created_at,
                published_at=published_at or timezone.now(),
                listings=decision.listings,
                tag_keys=decision.tag_keys,
            )
        )
        submission.state = SubmissionState.PUBLISHED
        submission.moderated_by = moderator
        submission.moderated_at = timezone.now()
        submission.public_story = published.public_story
        submission.save(update_fields=["state", "moderated_by", "moderated_at", "public_story"])
        submission.services.set(decision.listings)
        if decision.thanks:
            try:
                pass_on_thanks(
                    published.stories,
                    list(decision.thanks),
                    moderator_name=moderator.get_full_name() or moderator.email,
                )
            except ThanksError as refused:
                raise ModerationError(str(refused)) from refused
        record_audit(
            "moderation.published",
            actor=moderator,
            target=submission,
            summary=f"Published “{submission.title}” as story {published.public_story.pk}",
            detail={
                "criticality": decision.criticality,
                "tags": decision.tag_keys,
                "services": [listing.pk for listing in decision.listings],
                "thanks": [c.staff_member_id for c in decision.thanks],
            },
            request=request,
        )
        transaction.on_commit(
            lambda: story_published.send(
                sender=PublicStory,
                public_story_id=published.public_story.pk,
                stories=published.stories,
            )
        )
        if submission.has_email:
            from feedback.emails import queue_publication_notice

            # In this transaction, to the outbox: published means the author will be told.
            queue_publication_notice(submission.pk)
    return published


def reject_submission(
    submission_id: int,
    *,
    moderator,
    reason: RejectionReason | str,
    note: str = "",
    request: HttpRequest | None = None,
) -> Submission:
    reason = RejectionReason(reason)
    with transaction.atomic(), schema_context("public"):
        submission = _locked_pending(submission_id)
        submission.state = SubmissionState.REJECTED
        submission.rejection_reason = reason
        submission.rejection_note = note.strip()
        submission.moderated_by = moderator
        submission.moderated_at = timezone.now()
        submission.save(
            update_fields=[
                "state",
                "rejection_reason",
                "rejection_note",
                "moderated_by",
                "moderated_at",
            ]
        )
        record_audit(
            "moderation.rejected",
            actor=moderator,
            target=submission,
            summary=f"Rejected “{submission.title}”: {reason.label}",
            detail={"reason": reason.value},
            request=request,
        )
        if submission.has_email:
            from feedback.emails import queue_rejection_notice

            queue_rejection_notice(submission.pk)
    return submission
