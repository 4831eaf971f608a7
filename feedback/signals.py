"""Hooks other capabilities listen to. Sent after the publishing transaction commits."""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: public_story_id (int), stories (list of (schema_name, story_id))
story_published = Signal()
