"""The reports part of the demo: a bimonthly report scheduled at the ICB for its
administrator, one delivery already made and in its outbox, and You said, we did published on
the hub for each demo trust. Idempotent: run again, it adds nothing.

Registered as the demo's "reports" step (dashboards/apps.py). It runs after billing's: the
delivery's network packs need the ICB's plan."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports.delivering import delivery_key, outbox_key, send_delivery
from dashboards.reports.public import set_published
from dashboards.reports.scheduling import next_run, period_for
from tenants.accounts.models import Role, User
from tenants.demo_steps import DemoContext
from tenants.messages import send_message
from tenants.models import Organisation, OrganisationKind, OutboxMessage, public_url

REPORT_NAME = "Northshire bimonthly summary"


def seed_reports_demo(organisations: list[Organisation]) -> list[str]:
    """Returns lines for seed_demo to print."""
    lines: list[str] = []
    for organisation in organisations:
        if "trust" in organisation.kind:
            set_published(organisation, publish=True)
            path = f"/organisations/{organisation.slug}/you-said-we-did/"
            lines.append(f"You said, we did: {public_url(settings.BASE_DOMAIN, path)}")
    lead = next((o for o in organisations if o.kind == OrganisationKind.CCG_ICB), None)
    if lead is None:
        return lines
    with tenant_context(lead):
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
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
                "network_members": True,
                "next_run_on": next_run(Frequency.BIMONTHLY, today),
                "created_by": admin,
            },
        )
        start, end = period_for(Frequency.BIMONTHLY, today)
        key = delivery_key(schedule, start, end, admin.email)
        if not ReportDelivery.objects.filter(schedule=schedule).exists():
            delivery = ReportDelivery.objects.create(
                key=key,
                schedule=schedule,
                report_name=report.name,
                period_start=start,
                period_end=end,
                recipient=admin.email,
                method=schedule.method,
            )
            send_delivery(delivery.pk)
            send_now(outbox_key(delivery))
        schedules_url = lead.workspace_url("/reports/schedules/")
        lines.append(f"Scheduled reports (ICB, as {admin.email}): {schedules_url}")
        lines.append(f"Report outbox: {lead.workspace_url('/reports/outbox/')}")
    return lines


def send_now(key: str) -> None:
    """Send the delivery's outgoing email at once (to the configured backend: a file or the
    console in development), rather than when a worker gets to it."""
    for pk in OutboxMessage.objects.filter(key=key).values_list("pk", flat=True):
        send_message(pk)


def seed_reports_step(context: DemoContext) -> list[str]:
    return seed_reports_demo(context.organisations)


def describe_reports_demo(context: DemoContext) -> list[str]:
    return ["\n  Reports:", *(f"    {line}" for line in context.results["reports"])]
