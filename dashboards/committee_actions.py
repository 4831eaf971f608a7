"""The action plan of a network lead's quality committee: actions agreed for one member, each
owned by someone at the member (a name or role, not an account), with a due date, a status
and a short note.

Kept in the lead's schema (`CommitteeAction`), written only by the lead's staff, each change
with an audit row there. The member's committee pack shows the actions about that member, and
only to the lead and to that member (`committee_pack`): never to another member. Only active
members that agreed to be compared have a pack, so only they can have actions recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context

from dashboards.models import CommitteeAction, CommitteeActionStatus
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.models import Network, Organisation
from tenants.networks import comparable_members

AUDIT_ACTION = "dashboards.committee_action"
MAX_ACTION = 300
MAX_OWNER = 150
MAX_NOTE = 500


class ActionError(ValueError):
    """The action cannot be saved as asked; the message says why."""


@dataclass(frozen=True)
class ActionFields:
    action: str
    owner: str
    due_on: date
    status: str = CommitteeActionStatus.OPEN
    note: str = ""


@dataclass(frozen=True)
class PlannedAction:
    """One action as a pack shows it."""

    pk: int
    action: str
    owner: str
    due_on: date
    status: str
    note: str
    overdue: bool

    @property
    def status_label(self) -> str:
        label = CommitteeActionStatus(self.status).label
        return f"{label}, overdue" if self.overdue else label


def led_member(lead: Organisation, network_id: object, member_id: object) -> tuple:
    """(network, member): a network `lead` leads and one of its active members that agreed to
    be compared; Http404 otherwise (another organisation's network, a member that left or
    withdrew its consent, or nonsense)."""
    try:
        network_pk, member_pk = int(network_id), int(member_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Http404("No such network or member.") from None
    network = Network.objects.filter(pk=network_pk, lead=lead).select_related("lead").first()
    if network is None:
        raise Http404("Your organisation does not lead that network.")
    member = next((o for o in comparable_members(network) if o.pk == member_pk), None)
    if member is None:
        raise Http404("No such member in this network.")
    return network, member


def checked(fields: ActionFields) -> ActionFields:
    action, owner, note = fields.action.strip(), fields.owner.strip(), fields.note.strip()
    if not action:
        raise ActionError("Say what is to be done.")
    if len(action) > MAX_ACTION:
        raise ActionError(f"Keep the action under {MAX_ACTION} characters.")
    if not owner:
        raise ActionError("Name who owns the action at the member (a name or a role).")
    if len(owner) > MAX_OWNER:
        raise ActionError(f"Keep the owner under {MAX_OWNER} characters.")
    if len(note) > MAX_NOTE:
        raise ActionError(f"Keep the note under {MAX_NOTE} characters.")
    if fields.status not in CommitteeActionStatus.values:
        raise ActionError("Choose open, done or dropped.")
    if not isinstance(fields.due_on, date):
        raise ActionError("Give the date the action is due.")
    return ActionFields(action, owner, fields.due_on, fields.status, note)


def _detail(network: Network, member: Organisation, fields: ActionFields) -> dict:
    return {
        "network": network.pk,
        "member": member.pk,
        "status": fields.status,
        "due_on": fields.due_on.isoformat(),
    }


def record_action(
    network: Network,
    member: Organisation,
    fields: ActionFields,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> CommitteeAction:
    """The lead's staff add an action for `member`: the row and its audit row, together, in
    the lead's schema."""
    fields = checked(fields)
    with schema_context(network.lead.schema_name), transaction.atomic():
        row = CommitteeAction.objects.create(
            network_id=network.pk,
            member_id=member.pk,
            action=fields.action,
            owner=fields.owner,
            due_on=fields.due_on,
            status=fields.status,
            note=fields.note,
            created_by=actor,
        )
        record_audit(
            AUDIT_ACTION,
            actor=actor,
            summary=f"Added an action for {member.name} to the committee's plan",
            target=row,
            detail=_detail(network, member, fields),
            request=request,
        )
    return row


def _the_action(network: Network, member: Organisation, pk: object) -> CommitteeAction:
    try:
        key = int(pk)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Http404("No such action.") from None
    row = (
        CommitteeAction.objects.select_for_update()
        .filter(pk=key, network_id=network.pk, member_id=member.pk)
        .first()
    )
    if row is None:
        raise Http404("No such action in this member's plan.")
    return row


def ensure_action(network: Network, member: Organisation, pk: object) -> None:
    """Http404 unless `pk` is an action of `member`'s plan in the lead's schema."""
    with schema_context(network.lead.schema_name), transaction.atomic():
        _the_action(network, member, pk)


def change_action(
    network: Network,
    member: Organisation,
    pk: object,
    fields: ActionFields,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> CommitteeAction:
    """The lead's staff change an action of `member`'s plan (its status, most often)."""
    fields = checked(fields)
    with schema_context(network.lead.schema_name), transaction.atomic():
        row = _the_action(network, member, pk)
        was = row.status
        row.action, row.owner, row.due_on = fields.action, fields.owner, fields.due_on
        row.status, row.note, row.updated_at = fields.status, fields.note, timezone.now()
        row.save()
        record_audit(
            AUDIT_ACTION,
            actor=actor,
            summary=f"Changed an action for {member.name} in the committee's plan",
            target=row,
            detail={**_detail(network, member, fields), "was": was},
            request=request,
        )
    return row


def remove_action(
    network: Network,
    member: Organisation,
    pk: object,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> None:
    """The lead's staff take an action, entered by mistake, out of `member`'s plan."""
    with schema_context(network.lead.schema_name), transaction.atomic():
        row = _the_action(network, member, pk)
        record_audit(
            AUDIT_ACTION,
            actor=actor,
            summary=f"Removed an action for {member.name} from the committee's plan",
            target=row,
            detail={"network": network.pk, "member": member.pk, "action": row.action},
            request=request,
        )
        row.delete()


def member_actions(
    network: Network, member: Organisation, *, today: date, since: date | None = None
) -> list[PlannedAction]:
    """The actions of `member`'s plan, read from the lead's schema, due date first: every
    open one (overdue when due before `today`), and, with `since`, only the done or dropped
    ones last changed on or after it. Never another member's."""
    with schema_context(network.lead.schema_name):
        rows = CommitteeAction.objects.filter(network_id=network.pk, member_id=member.pk)
        if since is not None:
            rows = rows.exclude(
                status__in=[CommitteeActionStatus.DONE, CommitteeActionStatus.DROPPED],
                updated_at__date__lt=since,
            )
        return [
            PlannedAction(
                pk=row.pk,
                action=row.action,
                owner=row.owner,
                due_on=row.due_on,
                status=row.status,
                note=row.note,
                overdue=row.status == CommitteeActionStatus.OPEN and row.due_on < today,
            )
            for row in rows.order_by("due_on", "pk")
        ]
