"""Instant alerts start here: once a story's publication has committed, one task per
organisation the story was written to, sent in that organisation's schema."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django_tenants.utils import schema_context

from feedback.signals import story_published

logger = logging.getLogger(__name__)


@receiver(story_published)
def queue_instant_alerts(sender: Any, stories: list[tuple[str, int]], **kwargs: Any) -> None:
    from alerts.tasks import evaluate_story

    for schema, story_id in stories:
        with schema_context(schema):
            try:
                evaluate_story.delay(story_id)
            except Exception:  # noqa: BLE001 - the broker is down: the sweeper will find it
                logger.warning("could not queue alerts for story %s in %s", story_id, schema)
