"""The demo's packs that reach the providers: each consenting member of the Northshire
Provider Network chooses its first administrator to receive the ICB's packs (in its own
workspace, with its audit row), and the ICB's two-monthly schedule sends each of them their
own organisation's committee pack, once, through the report outbox (each handed to the outbox
of outgoing email and sent from it at once). The ICB's outbox shows each as "to <member>:
<masked address>".

Registered as the demo's "reports.member_packs" step (dashboards/apps.py), after "reports"
(which runs after billing: the packs need the ICB's plan). Seeding again changes nothing: a
member's choice is made once, and each delivery's key is unique.
"""

from __future__ import annotations

from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    MemberPackRecipients,
    ReportDelivery,
    ReportDeliveryState,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports.delivering import outbox_key, send_delivery
from dashboards.reports.demo import send_now
from dashboards.reports.member_packs import choose_pack_recipients, masked, member_rows
from dashboards.reports.scheduling import next_run, period_for
from tenants.accounts.models import Role, User
from tenants.demo import NETWORK_NAME
from tenants.demo_steps import DemoContext
from tenants.models import Network
from tenants.networks import comparable_members

REPORT_NAME = "Northshire provider packs"


def _first_admin() -> User | None:
    return User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()


def seed_member_packs_step(context: DemoContext) -> list[str]:
    """Returns the lines to print."""
    network = Network.objects.filter(name=NETWORK_NAME).select_related("lead").first()
    if network is None:
        return []
    lines: list[str] = []
    for member in comparable_members(network):
        with tenant_context(member):
            admin = _first_admin()
            if (
                admin is not None
                and not MemberPackRecipients.objects.filter(network_id=network.pk).exists()
            ):
                choose_pack_recipients(
                    network.pk, user_ids=[admin.pk], opted_out=False, actor=admin
                )
    lead = network.lead
    with tenant_context(lead):
        admin = _first_admin()
        if admin is None:
            return lines
        today = timezone.localdate()
        report, _ = SavedReport.objects.get_or_create(
            name=REPORT_NAME, defaults={"kind": ReportKind.SUMMARY, "months": 2}
        )
        schedule, _ = ReportSchedule.objects.get_or_create(
            report=report,
            defaults={
                "frequency": Frequency.BIMONTHLY,
                "method": DeliveryMethod.ATTACHMENT,
                "recipients": [admin.email],
                "member_recipients": True,
                "next_run_on": next_run(Frequency.BIMONTHLY, today),
                "created_by": admin,
            },
        )
        # The last two-month period's packs, as the hourly run would record and send them.
        start, end = period_for(Frequency.BIMONTHLY, today)
        ReportDelivery.objects.bulk_create(member_rows(schedule, start, end), ignore_conflicts=True)
        waiting = ReportDelivery.objects.filter(
            schedule=schedule, member_id__isnull=False, state=ReportDeliveryState.PENDING
        )
        for delivery in waiting:
            send_delivery(delivery.pk)
            send_now(outbox_key(delivery))
        for row in ReportDelivery.objects.filter(schedule=schedule, member_id__isnull=False):
            lines.append(
                f"to {row.member_name}: {masked(row.recipient)} ({row.get_state_display()})"
            )
        lines.append(f"ICB outbox: {lead.workspace_url('/reports/outbox/')}")
    members = comparable_members(network)
    if members:
        lines.append(
            f"A member's choice and what it received: "
            f"{members[0].workspace_url('/reports/network-packs/')}"
        )
    return lines


def describe_member_packs_demo(context: DemoContext) -> list[str]:
    lines = context.results.get("reports.member_packs") or []
    return ["\n  Packs to each member's own recipients:", *(f"    {line}" for line in lines)]
