"""News `feedback` sends to the apps above it (alerts, dashboards), which it may not import.

Two kinds, and each signal's comment says which it is:

- Inside the transaction making the change, with `Signal.send` (never `send_robust`):
  receivers write in that same transaction (dashboards' rollups, alerts' due times), so a
  receiver that fails rolls the whole operation back and nothing is half-written. They are
  sent in the organisation's schema (tenant_context), and carry `schema_name` too.
- After the transaction has committed (`transaction.on_commit`): for work that must not
  happen if it rolls back (queuing tasks, deleting files).

Receivers are connected in their own app's `AppConfig.ready()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal


@dataclass(frozen=True)
class WrittenStory:
    """One organisation's copy of a story just published, as `stories_written` carries it."""

    story_id: int
    public_story_id: int
    criticality: str
    published_at: datetime
    # The organisation's services the story names (feedback.Service ids), smallest first.
    service_ids: tuple[int, ...]


@dataclass(frozen=True)
class Answering:
    """Where one story stands on being answered, at one moment."""

    first_responded_at: datetime | None
    target_missed_at: datetime | None
    # The furthest change its responses claim: "made", else "planned", else "none".
    change_status: str


@dataclass(frozen=True)
class StoryAnswered:
    """One story's answering before and after a change to its responses."""

    story_id: int
    published_at: datetime
    before: Answering
    after: Answering


@dataclass(frozen=True)
class PublishedResponse:
    """One response just published, as `responses_published` carries it."""

    response_id: int
    story_id: int
    published_at: datetime
    change_status: str


# Inside the transaction. An organisation's copies of newly published stories were written:
# feedback/publishing.py `write_published_stories` (moderation's `publish_submission`, and
# `import_published_stories` for history and the demo, one transaction per batch), once per
# organisation the stories name, in its schema, after its Story rows, services and tags.
# kwargs: schema_name (str), stories (list of WrittenStory).
# Received by: alerts (each story's due time), dashboards (the rollups count them).
stories_written = Signal()

# Inside the transaction. Responses were published: feedback/responding.py
# `publish_response` (one) and `import_responses` (a batch), once per call, in the
# organisation's schema, after the responses and their stories' first-response time,
# missed target and progress are saved.
# kwargs: schema_name (str), responses (list of PublishedResponse), stories (list of
# StoryAnswered, one per story answered).
# Received by: dashboards (the rollups move the stories to their new answering).
responses_published = Signal()

# Inside the transaction. A published response was edited (`edit_response`) or had a change
# recorded on it (`record_change`), feedback/responding.py; once per call, in the
# organisation's schema, after the response is saved.
# kwargs: schema_name (str), response_id (int), stories (list of one StoryAnswered).
# Received by: dashboards (the rollups move the story's change planned/made).
response_changed = Signal()

# Inside the transaction. A story withdrawn at its author's request is about to lose its
# copy in one organisation: feedback/withdrawal.py `withdraw_story`, once per organisation
# holding a copy, in its schema, just before that copy (Story rows, and their responses by
# cascade) is deleted, so receivers can still read it.
# kwargs: schema_name (str), public_story_id (int), story_ids (list of int).
# Received by: dashboards (the rollups subtract the stories).
story_withdrawing = Signal()

# After commit. A story was published by a moderator: feedback/moderation.py
# `publish_submission`, once per story, once its transaction has committed.
# kwargs: public_story_id (int), stories (list of (schema_name, story_id))
# Received by: alerts (queues the instant alerts in each organisation).
story_published = Signal()

# A moderator confirmed an author's withdrawal (feedback/withdrawal.py); sent after commit,
# once the story is gone from the hub and every organisation's schema.
# kwargs: public_story_id (int), organisation_ids (list of int), schemas (list of str)
# Received by: dashboards (dashboards/withdrawals.py: cached figures, reports made), and
# feedback's exports already made (feedback/exporting.py).
story_withdrawn = Signal()

# After commit. A story's author said whether a response helped, or whether the change it
# claims happened: feedback/followup.py `mark_helpful` and `confirm_change`, once per call,
# once its transaction has committed.
# kwargs: organisation_id (int), schema_name (str) of the organisation that responded.
# Received by: dashboards (the organisation's figures count the authors' marks).
author_marked = Signal()

# A moderator raised a safeguarding concern with one organisation (feedback/safeguarding.py);
# sent after commit. kwargs: concern_id (int), schema_name (str)
safeguarding_concern_raised = Signal()

# Nobody at the organisation acknowledged a concern in time; sent after commit.
# kwargs: concern_id (int), schema_name (str)
safeguarding_concern_escalated = Signal()

# After commit. The learned themes of an organisation changed: fitted again, or renamed
# (feedback/topics.py). kwargs: schema (str)
# Received by: dashboards (its cached figures are worked out again).
topics_fitted = Signal()
