"""Packs that reach the providers: a network lead's schedule sends each consenting member its
own committee pack, to the recipients that member's administrators chose.

The choice lives in the member's schema (MemberPackRecipients, one row per network): which of
its own staff receive the lead's packs, or none at all (opted out). Choosing is one
transaction with its audit row. The deliveries are the lead's ReportDelivery rows (its
outbox), one per (schedule, period, network, member, recipient), recorded and sent by
`delivering` as every other delivery is.

What each side sees:
- the lead's outbox names the member and a masked address (`masked`), never the address;
- the member sees, in its own workspace, the packs its own staff were sent, and nothing of
  another member's (`received_packs` reads the lead's rows for this member only);
- a member that left, withdrew consent or opted out, or whose chosen staff left, gets nothing:
  asked when the rows are recorded and again when each is sent (`still_wanted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.models import MemberPackRecipients, ReportDelivery, ReportSchedule
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.gate import Capability, has_capability
from tenants.models import MembershipStatus, Network, Organisation
from tenants.networks import comparable_members


class PackChoiceError(Exception):
    """The choice cannot be made; the message says why."""


def member_networks(member: Organisation) -> list[Network]:
    """The networks `member` is an active member of (consenting or not), by name."""
    return list(
        Network.objects.filter(
            memberships__organisation=member, memberships__status=MembershipStatus.ACTIVE
        )
        .select_related("lead")
        .order_by("name", "pk")
    )


def staff_choices() -> list[User]:
    """This organisation's active staff, who may be chosen: not those limited to some of its
    services (feedback/service_limits.py), as a pack is of the whole organisation."""
    return list(User.objects.filter(is_active=True, service_limit__isnull=True).order_by("email"))


def choice_for(network_id: int) -> MemberPackRecipients | None:
    return MemberPackRecipients.objects.filter(network_id=network_id).first()


def choose_pack_recipients(
    network_id: int,
    *,
    user_ids: list[int],
    opted_out: bool,
    actor: User,
    request: HttpRequest | None = None,
) -> MemberPackRecipients:
    """In the member's schema: who of its staff receive this network lead's packs, or nobody
    (opted out), with its audit row. Raises PackChoiceError for a network the organisation is
    not an active member of, or someone who is not its active staff."""
    member = connection.tenant
    network = next((n for n in member_networks(member) if n.pk == network_id), None)
    if network is None:
        raise PackChoiceError("Your organisation is not a member of that network.")
    wanted = sorted(set(user_ids))
    staff = set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))
    if set(wanted) - staff:
        raise PackChoiceError("Only your organisation's active staff can receive its packs.")
    if User.objects.filter(pk__in=wanted, service_limit__isnull=False).exists():
        raise PackChoiceError(
            "A pack is of your whole organisation: choose staff who see every service."
        )
    with transaction.atomic():
        choice, _ = MemberPackRecipients.objects.select_for_update().get_or_create(
            network_id=network.pk
        )
        choice.user_ids = [] if opted_out else wanted
        choice.opted_out = opted_out
        choice.changed_by = actor
        choice.changed_at = timezone.now()
        choice.save()
        record_audit(
            "reports.member_pack_recipients",
            actor=actor,
            target=choice,
            summary=(
                f"Opted out of {network.lead}'s packs ({network})"
                if opted_out
                else f"Chose {len(wanted)} recipient(s) of {network.lead}'s packs ({network})"
            ),
            # Staff by id: an audit row carries no email addresses.
            detail={"network": network.pk, "user_ids": choice.user_ids, "opted_out": opted_out},
            request=request,
        )
    return choice


def _chosen_emails() -> dict[int, list[str]]:
    """In a member's schema: network id → the chosen active staff's addresses."""
    chosen: dict[int, list[str]] = {}
    for choice in MemberPackRecipients.objects.filter(opted_out=False):
        # Chosen before a limit was set: a limited person no longer receives them.
        emails = User.objects.filter(
            pk__in=choice.user_ids, is_active=True, service_limit__isnull=True
        ).values_list("email", flat=True)
        chosen[choice.network_id] = sorted({e.strip().lower() for e in emails if e})
    return chosen


def member_recipients(network: Network, member: Organisation) -> list[str]:
    """The addresses `member` chose for `network`'s packs, read in the member's schema (the
    caller's schema is back in place afterwards). Empty when it chose nobody or opted out."""
    with tenant_context(member):
        return _chosen_emails().get(network.pk, [])


def wanted_members(lead: Organisation) -> list[tuple[Network, Organisation]]:
    """(network, member) for each consenting active member of each network `lead` leads,
    while the lead has network comparison; nothing otherwise."""
    if not has_capability(lead, Capability.NETWORK_COMPARISON):
        return []
    return [
        (network, member)
        for network in Network.objects.filter(lead=lead).order_by("name", "pk")
        for member in comparable_members(network)
    ]


def member_key(
    schedule: ReportSchedule, start: date, end: date, network_id: int, member_id: int, email: str
) -> str:
    return (
        f"{schedule.pk}:{start.isoformat()}:{end.isoformat()}:"
        f"n{network_id}:m{member_id}:{email.lower()}"
    )[:300]


def member_rows(schedule: ReportSchedule, start: date, end: date) -> list[ReportDelivery]:
    """In the lead's schema: the unsaved rows of a schedule that sends members their packs,
    one per consenting member's chosen recipient."""
    if not schedule.member_recipients:
        return []
    rows = []
    for network, member in wanted_members(connection.tenant):
        for email in member_recipients(network, member):
            rows.append(
                ReportDelivery(
                    key=member_key(schedule, start, end, network.pk, member.pk, email),
                    schedule=schedule,
                    report_name=schedule.report.name,
                    period_start=start,
                    period_end=end,
                    recipient=email,
                    network_id=network.pk,
                    member_id=member.pk,
                    member_name=member.name[:200],
                    method=schedule.method,
                )
            )
    return rows


def still_wanted(delivery: ReportDelivery) -> tuple[Network, Organisation] | None:
    """In the lead's schema: (network, member) when this member delivery may still be sent
    (or its link followed): the schedule still sends members their packs, the lead still has
    network comparison and leads the network, the member still consents and still chose this
    recipient. None otherwise."""
    schedule = delivery.schedule
    if delivery.member_id is None or schedule is None or not schedule.member_recipients:
        return None
    for network, member in wanted_members(connection.tenant):
        if (network.pk, member.pk) == (delivery.network_id, delivery.member_id):
            if delivery.recipient.lower() in member_recipients(network, member):
                return network, member
            return None
    return None


def masked(email: str) -> str:
    """What the lead sees of a member's recipient: the first letter and the domain."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


@dataclass(frozen=True)
class ReceivedPack:
    network: str
    lead: str
    report_name: str
    period_start: date
    period_end: date
    recipient: str
    state: str
    sent_at: datetime | None
    note: str


def received_packs(member: Organisation) -> list[ReceivedPack]:
    """What `member`'s staff were sent by the leads of the networks it is in: read from each
    lead's outbox, this member's rows only."""
    packs: list[ReceivedPack] = []
    for network in member_networks(member):
        with tenant_context(network.lead):
            rows = ReportDelivery.objects.filter(member_id=member.pk, network_id=network.pk)[:100]
            packs.extend(
                ReceivedPack(
                    network=network.name,
                    lead=network.lead.name,
                    report_name=row.report_name,
                    period_start=row.period_start,
                    period_end=row.period_end,
                    recipient=row.recipient,
                    state=row.get_state_display(),
                    sent_at=row.sent_at,
                    note=row.error,
                )
                for row in rows
            )
    return sorted(packs, key=lambda p: (p.period_start, p.network), reverse=True)
