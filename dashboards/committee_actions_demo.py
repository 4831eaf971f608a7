"""The committee's action plan in the demo: the ICB's quality committee has agreed three
actions with Coastal Ambulance Service (the member that misses the network's standards, see
network_standards_demo.py): one open, one open and past its due date, one done. Recorded
through the same operation as the lead's plan page (with its audit rows), so Coastal's
committee pack shows them, the overdue one flagged, to the ICB and to Coastal only.

Registered as the demo's "committee_actions" step (dashboards/apps.py), after
"network_standards". Seeding again changes nothing: once Coastal has a plan, the step only
reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards.committee_actions import (
    ActionFields,
    PlannedAction,
    member_actions,
    record_action,
)
from dashboards.models import CommitteeAction, CommitteeActionStatus
from dashboards.network_standards_demo import SLOW
from tenants.accounts.models import Role, User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.models import Network, Organisation

# (action, owner at the member, due in days from today, status, note)
PLAN = [
    (
        "Answer every severely critical story on the day it is published",
        "Head of Patient Experience",
        21,
        CommitteeActionStatus.OPEN,
        "Agreed after the service missed the network's same-day standard.",
    ),
    (
        "Reply to the stories left unanswered for more than a week",
        "Patient Experience Lead",
        -10,
        CommitteeActionStatus.OPEN,
        "Twelve stories were still waiting at the last committee.",
    ),
    (
        "Name a responder for each ambulance station",
        "Director of Operations",
        -30,
        CommitteeActionStatus.DONE,
        "Responders named for all five stations.",
    ),
]


@dataclass(frozen=True)
class ActionsDemo:
    network: Network
    member: Organisation
    actions: list[PlannedAction]


def seed_committee_actions_demo(network_name: str = NETWORK_NAME) -> ActionsDemo:
    with schema_context("public"):
        network = Network.objects.select_related("lead").get(name=network_name)
        member = Organisation.objects.get(slug=SLOW)
    today = timezone.localdate()
    with tenant_context(network.lead):
        has_plan = CommitteeAction.objects.filter(
            network_id=network.pk, member_id=member.pk
        ).exists()
        admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
    if not has_plan:
        for action, owner, days, status, note in PLAN:
            record_action(
                network,
                member,
                ActionFields(action, owner, today + timedelta(days=days), status, note),
                actor=admin,
            )
    return ActionsDemo(network, member, member_actions(network, member, today=today))


def seed_committee_actions_step(context: DemoContext) -> ActionsDemo:
    return seed_committee_actions_demo()


def describe_committee_actions_demo(context: DemoContext) -> list[str]:
    demo: ActionsDemo = context.results["committee_actions"]
    lead, network, member = demo.network.lead, demo.network, demo.member
    plan = f"/reports/committee/actions/?network={network.pk}&member={member.pk}"
    pack = f"/reports/committee/?network={network.pk}&provider={member.pk}"
    lines = [
        f"\n  Committee action plan: {lead.name}'s plan for {member.name} is at "
        f"{lead.workspace_url(plan)}; {member.name}'s committee pack shows it "
        f"({lead.workspace_url(pack)}):"
    ]
    lines += [f"    {a.status_label}: {a.action} (due {a.due_on:%-d %b %Y})" for a in demo.actions]
    return lines
