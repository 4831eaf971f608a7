"""What alerts does when the apps below it send news (connected in alerts/apps.py).

Inside the sender's transaction, in the organisation's schema (a failure here undoes the
sender's whole operation, so nothing is half-written):

- `tenants.signals.organisation_provisioned`: the new organisation's default alert rule;
- `feedback.signals.stories_written`: each new story's response due time.

After the sender's transaction has committed:

- `feedback.signals.story_published`: one `evaluate_story` task per organisation the story
  was written to, sent in that organisation's schema (instant alerts); and one
  `evaluate_network_story` per lead of a network in which one of them is an active,
  consenting member, sent in the lead's schema (network alerts, alerts/network_alerts.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django_tenants.utils import schema_context

from alerts.network_alerts import leads_watching
from alerts.rules import create_default_rule
from alerts.targets import set_due_times
from feedback.signals import WrittenStory
from tenants.accounts.models import User
from tenants.models import Organisation

logger = logging.getLogger(__name__)


class WrongSchema(RuntimeError):
    """A signal arrived outside the schema it names: acting on it would write into another
    organisation."""


def _check_schema(schema_name: str) -> None:
    if connection.schema_name != schema_name:
        raise WrongSchema(f"sent for {schema_name!r} while {connection.schema_name!r} is active")


def make_default_rule(
    sender: Any, *, organisation: Organisation, admin: User, **kwargs: Any
) -> None:
    _check_schema(organisation.schema_name)
    create_default_rule(admin)


def set_due_times_of_written_stories(
    sender: Any, *, schema_name: str, stories: list[WrittenStory], **kwargs: Any
) -> None:
    _check_schema(schema_name)
    set_due_times(stories)


def queue_instant_alerts(sender: Any, stories: list[tuple[str, int]], **kwargs: Any) -> None:
    from alerts.tasks import evaluate_story

    for schema, story_id in stories:
        with schema_context(schema):
            try:
                evaluate_story.delay(story_id)
            except Exception:  # noqa: BLE001 - the broker is down: the sweeper will find it
                logger.warning("could not queue alerts for story %s in %s", story_id, schema)


def queue_network_alerts(
    sender: Any, public_story_id: int, stories: list[tuple[str, int]], **kwargs: Any
) -> None:
    from alerts.tasks import evaluate_network_story

    try:
        leads = leads_watching([schema for schema, _ in stories])
    except Exception:  # noqa: BLE001 - the database is away: the sweeper will find it
        logger.warning("could not look up network leads for story %s", public_story_id)
        return
    for lead in leads:
        with schema_context(lead.schema_name):
            try:
                evaluate_network_story.delay(public_story_id)
            except Exception:  # noqa: BLE001 - the broker is down: the sweeper will find it
                logger.warning(
                    "could not queue network alerts for story %s in %s",
                    public_story_id,
                    lead.schema_name,
                )
