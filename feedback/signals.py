"""Hooks other capabilities listen to. Sent after the publishing transaction commits."""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: public_story_id (int), stories (list of (schema_name, story_id))
story_published = Signal()

# A moderator confirmed an author's withdrawal (feedback/withdrawal.py); sent after commit,
# once the story is gone from the hub and every organisation's schema.
# kwargs: public_story_id (int), organisation_ids (list of int), schemas (list of str)
story_withdrawn = Signal()

# A moderator raised a safeguarding concern with one organisation (feedback/safeguarding.py);
# sent after commit. kwargs: concern_id (int), schema_name (str)
safeguarding_concern_raised = Signal()

# Nobody at the organisation acknowledged a concern in time; sent after commit.
# kwargs: concern_id (int), schema_name (str)
safeguarding_concern_escalated = Signal()
