"""Safeguarding concerns reach an organisation's people at once, whatever their alert rules,
digests or plan say (feedback/safeguarding.py raises and escalates them).

- Raised: every active safeguarding contact is emailed; an organisation that has named none
  has every active administrator emailed instead, and the email says so.
- Escalated (nobody acknowledged it in time): every active administrator is emailed.

The receivers run once the hub's transaction has committed, in the process that committed it.
They write the delivery rows in the organisation's schema there and then (one per concern,
kind and person, so a repeat writes nothing), and only then queue the sending. If the broker
is down, the rows are already safe and the alerts sweeper (alerts/sweeper.py, every five
minutes) sends them; sending itself claims each row, so nobody gets one twice. If the process
died after the hub committed but before the receiver wrote the rows, the sweeper finds the
concern with no rows (`record_missing_alerts`) and writes them then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts import emails
from alerts.delivering import delivery_key, exists, record
from alerts.models import AlertDelivery, DeliveryKind
from feedback.hub.models import SafeguardingConcern
from feedback.safeguarding import story_text
from feedback.signals import safeguarding_concern_escalated, safeguarding_concern_raised
from tenants.accounts.models import Role, User
from tenants.models import Organisation

logger = logging.getLogger(__name__)


def _concern(concern_id: int) -> SafeguardingConcern | None:
    """The concern, if it is this organisation's (the schema the caller is in)."""
    organisation_id = getattr(connection.tenant, "pk", None)
    with schema_context("public"):
        return (
            SafeguardingConcern.objects.select_related("submission", "organisation")
            .filter(pk=concern_id, organisation_id=organisation_id)
            .first()
        )


def _active_administrators() -> list[str]:
    return list(
        User.objects.filter(role=Role.ADMINISTRATOR, is_active=True, service_limit__isnull=True)
        .order_by("email")
        .values_list("email", flat=True)
    )


def _record_each(
    kind: str, concern: SafeguardingConcern, people: list[str], reason: str, message: Any
) -> list[str]:
    keys = []
    with transaction.atomic():
        for person in people:
            key = delivery_key(kind, None, f"concern-{concern.pk}", person)
            keys.append(key)
            if not exists(key):
                record(kind=kind, key=key, recipient=person, reason=reason, message=message)
    return keys


def record_concern_alerts(concern_id: int) -> list[str]:
    """Write the alerts for a newly raised concern; run in its organisation's schema.
    Returns the deliveries' keys (none if the concern is not this organisation's)."""
    concern = _concern(concern_id)
    if concern is None:
        return []
    # Staff limited to some services hear of no concern (feedback/service_limits.py): a
    # concern is the organisation's as a whole, before the story is anyone's service's.
    contacts = list(
        User.objects.filter(
            is_active=True, is_safeguarding_contact=True, service_limit__isnull=True
        )
        .order_by("email")
        .values_list("email", flat=True)
    )
    message = emails.safeguarding_concern(
        concern, story_text(concern.submission), no_contacts=not contacts
    )
    if contacts:
        return _record_each(
            DeliveryKind.SAFEGUARDING,
            concern,
            contacts,
            "You are one of the organisation's safeguarding contacts",
            message,
        )
    return _record_each(
        DeliveryKind.SAFEGUARDING,
        concern,
        _active_administrators(),
        "No safeguarding contact is named, and you are an administrator",
        message,
    )


def record_escalation_alerts(concern_id: int) -> list[str]:
    """Write the alerts for a concern nobody acknowledged in time; run in its organisation's
    schema. Returns the deliveries' keys."""
    concern = _concern(concern_id)
    if concern is None:
        return []
    return _record_each(
        DeliveryKind.ESCALATION,
        concern,
        _active_administrators(),
        "Nobody acknowledged a safeguarding concern in time, and you are an administrator",
        emails.safeguarding_escalated(concern, story_text(concern.submission)),
    )


# A concern this recent may still be on its way through the receiver.
GRACE = timedelta(minutes=2)
LOOK_BACK = timedelta(days=7)


def _has_rows(kind: str, concern_id: int) -> bool:
    return AlertDelivery.objects.filter(
        kind=kind, key__startswith=f"{kind}:0:concern-{concern_id}:"
    ).exists()


def record_missing_alerts(now: datetime | None = None) -> list[str]:
    """Write the alerts of this organisation's concerns (raised or escalated) that have none:
    the process that committed them died before its receiver ran. Run in the organisation's
    schema, by the alerts sweeper. Returns the keys written."""
    now = now or timezone.now()
    organisation_id = getattr(connection.tenant, "pk", None)
    with schema_context("public"):
        recent = SafeguardingConcern.objects.filter(
            organisation_id=organisation_id,
            raised_at__lte=now - GRACE,
            raised_at__gte=now - LOOK_BACK,
        ).values_list("pk", "escalated_at")
        concerns = list(recent)
    keys: list[str] = []
    for concern_id, escalated_at in concerns:
        if not _has_rows(DeliveryKind.SAFEGUARDING, concern_id):
            keys += record_concern_alerts(concern_id)
        if escalated_at is not None and not _has_rows(DeliveryKind.ESCALATION, concern_id):
            keys += record_escalation_alerts(concern_id)
    return keys


def queue_sending(keys: list[str]) -> None:
    """Queue the sending of these deliveries, in the current organisation's schema. With the
    broker down the rows wait, and the sweeper sends them."""
    from alerts.tasks import send_deliveries

    try:
        send_deliveries.delay(keys)
    except Exception:  # noqa: BLE001 - the broker is down: the sweeper will send them
        logger.warning(
            "could not queue %s safeguarding alerts in %s; the sweeper will send them",
            len(keys),
            connection.schema_name,
        )


def _alert(record_alerts: Callable[[int], list[str]], concern_id: int, schema_name: str) -> None:
    with schema_context("public"):
        organisation = Organisation.objects.filter(schema_name=schema_name).first()
    if organisation is None:
        logger.error("safeguarding concern %s names no organisation %s", concern_id, schema_name)
        return
    with tenant_context(organisation):
        keys = record_alerts(concern_id)
        if keys:
            queue_sending(keys)


@receiver(safeguarding_concern_raised)
def alert_safeguarding_contacts(
    sender: Any, concern_id: int, schema_name: str, **kwargs: Any
) -> None:
    _alert(record_concern_alerts, concern_id, schema_name)


@receiver(safeguarding_concern_escalated)
def alert_administrators_of_escalation(
    sender: Any, concern_id: int, schema_name: str, **kwargs: Any
) -> None:
    _alert(record_escalation_alerts, concern_id, schema_name)
