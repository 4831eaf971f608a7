"""Taking a story in from its author: the hub form, the widget, the kiosk, assisted posting."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from feedback.hub.models import ServiceListing, Submission
from feedback.moderation import scan_submission
from tenants.audit.recording import record_audit

MAX_WORDS = 1000


@dataclass
class StoryFromAuthor:
    title: str
    what_was_good: str
    what_could_be_improved: str
    how_it_felt: str
    author_role: str
    author_age_group: str
    nickname: str
    email: str
    postcode: str
    route: str
    listings: list[ServiceListing]
    assisted_by: str = ""
    # The language it was told in ("en", "cy"; feedback/languages.py).
    language: str = "en"


@transaction.atomic
def submit_story(story: StoryFromAuthor) -> Submission:
    """Put a story in the moderation queue. Nobody but moderators sees it until published."""
    submission = Submission(
        title=story.title.strip(),
        what_was_good=story.what_was_good.strip(),
        what_could_be_improved=story.what_could_be_improved.strip(),
        how_it_felt=story.how_it_felt.strip(),
        author_role=story.author_role,
        author_age_group=story.author_age_group,
        nickname=story.nickname.strip(),
        email=story.email.strip().lower(),
        postcode=story.postcode.strip().upper(),
        consented_at=timezone.now(),
        route=story.route,
        assisted_by=story.assisted_by.strip(),
        language=story.language,
    )
    # Found once, here, for the moderation pages to read (whatever the route it came by).
    scan_submission(submission)
    submission.save(force_insert=True)
    submission.services.set(story.listings)
    if story.assisted_by:
        # The person who typed it is acting for the author: say so in the record.
        record_audit(
            "submission.assisted",
            actor=None,
            actor_label=f"assisted: {story.assisted_by.strip()}"[:254],
            target=submission,
            summary="Story posted on the author's behalf",
        )
    if submission.has_email:
        from feedback.emails import queue_receipt_notice

        # With the author's "Your story" link, from the moment the story arrives; written to
        # the outbox in this transaction, so a broker that is down delays it, never loses it.
        queue_receipt_notice(submission.pk)
    return submission


def word_count(*texts: str) -> int:
    return sum(len(text.split()) for text in texts)
