"""A network's response standards: how soon its lead expects members to answer a story of
each criticality, in the words members use for their own targets ("same day", "7 days",
"48 hours"; alerts/targets.py), and when a member counts as meeting them.

The standards are a row in the public schema beside the network (`tenants.NetworkStandards`);
this module is their one writer (`set_network_standards`, audited in the lead's workspace)
and reads them as deadlines (`StandardsClock`) with the same working-time code as members'
own targets (alerts/working_time.py).

TRICKY: members' working time is Monday to Friday, 09:00-17:00 UK time, less the bank
holidays each lists in its own schema. The comparison never opens a member's schema, so a
network standard is measured on that working week without bank holidays: a story published
before a bank holiday is due a working day earlier than the member's own target would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from alerts.targets import parse_allowance, validate_allowance
from alerts.working_time import SAME_DAY, WorkingCalendar, due_at
from dashboards.queries import Standard
from feedback.choices import Criticality
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.models import Network, NetworkStandards, Organisation

# The network's working week: members' hours, no bank holidays (see the module's note).
NETWORK_CALENDAR = WorkingCalendar()


class StandardsError(Exception):
    """The standards cannot be changed as asked; the message says why."""


def led_networks(organisation: Organisation) -> list[Network]:
    return list(Network.objects.filter(lead=organisation).order_by("name"))


def standards_of(network: Network) -> NetworkStandards | None:
    return NetworkStandards.objects.filter(network=network).first()


@dataclass(frozen=True)
class StandardsClock:
    """A network's standards read once, for many stories."""

    allowances: dict[str, str | float]
    met_percent: int

    @classmethod
    def of(cls, standards: NetworkStandards | None) -> StandardsClock | None:
        if standards is None or not standards.allowances:
            return None
        return cls(
            allowances={c: parse_allowance(a) for c, a in standards.allowances.items()},
            met_percent=standards.met_percent,
        )

    def measures(self, criticality: str) -> bool:
        return criticality in self.allowances

    def due(self, criticality: str, published_at: datetime) -> datetime:
        return due_at(published_at, self.allowances[criticality], NETWORK_CALENDAR)

    def standards(self) -> list[Standard]:
        """The allowances in the terms the comparison's SQL works out deadlines in."""
        terms = []
        for criticality, allowance in self.allowances.items():
            if allowance == SAME_DAY:
                terms.append(Standard(criticality, "same day", 0))
            elif isinstance(allowance, str):
                terms.append(Standard(criticality, "days", int(allowance.split()[0])))
            else:
                terms.append(Standard(criticality, "hours", float(allowance)))
        return terms


def _clean(allowances: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for criticality, allowance in allowances.items():
        if criticality not in Criticality.values:
            raise StandardsError(f"“{criticality}” is not a criticality.")
        text = (allowance or "").strip().lower()
        if not text:
            continue  # no network standard for this criticality
        try:
            validate_allowance(text)
        except ValidationError as exc:
            raise StandardsError(f"{Criticality(criticality).label}: {exc.messages[0]}") from None
        cleaned[criticality] = text
    # In the scale's order, so the audit row and the pages read from least to most critical.
    return {c: cleaned[c] for c in Criticality.values if c in cleaned}


@transaction.atomic
def set_network_standards(
    network: Network,
    allowances: dict[str, str],
    *,
    met_percent: int,
    actor: User,
    request: HttpRequest | None = None,
) -> NetworkStandards:
    """The lead's administrator sets the network's standards (a blank allowance: none for
    that criticality). Run in the lead's workspace, whose audit log records it."""
    lead = network.lead
    if connection.schema_name != lead.schema_name:
        raise PermissionDenied("Only the network's lead sets its standards.")
    if not actor.has_role(Role.ADMINISTRATOR):
        raise PermissionDenied("Only the lead's administrators set the network's standards.")
    if not 1 <= int(met_percent) <= 100:
        raise StandardsError("The share that meets the standards is a percentage, 1 to 100.")
    cleaned = _clean(allowances)
    standards, _ = NetworkStandards.objects.select_for_update().get_or_create(network=network)
    before = {"allowances": standards.allowances, "met_percent": standards.met_percent}
    standards.allowances = cleaned
    standards.met_percent = int(met_percent)
    standards.changed_at = timezone.now()
    standards.changed_by = actor.email
    standards.save()
    record_audit(
        "network.standards_changed",
        actor=actor,
        summary=f"Changed the response standards of {network}",
        target=standards,
        detail={"before": before, "after": {"allowances": cleaned, "met_percent": met_percent}},
        request=request,
    )
    return standards


def standards_text(clock: StandardsClock) -> dict[str, str]:
    """{criticality: allowance} in the words the lead wrote them, least critical first."""
    return {
        c: (f"{a:g} working hours" if isinstance(a, float) else str(a))
        for c, a in clock.allowances.items()
    }
