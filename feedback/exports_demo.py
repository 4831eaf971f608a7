"""Bulk exports in the demo: the first provider's administrator has an Excel export of its
critical stories ready on /exports/, and the ICB's administrator a CSV of its network
members' stories. Each is asked for and made through the product's own operations (the
worker's part run here, as `seed_demo` runs before the workers start). Made once: seeding
the demo again adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_tenants.utils import tenant_context

from feedback import exporting
from feedback.choices import Criticality
from feedback.inbox import InboxFilters
from feedback.models import ExportFormat, ExportScope, StoryExport
from feedback.network_inbox import NetworkInboxFilters
from tenants.accounts.models import Role, User
from tenants.models import Organisation, OrganisationKind

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


@dataclass(frozen=True)
class ExportsDemo:
    provider: Organisation | None
    provider_rows: int
    lead: Organisation | None
    lead_rows: int


def _make(organisation: Organisation, scope: str, format: str, filters: object) -> int:  # noqa: A002
    with tenant_context(organisation):
        made = StoryExport.objects.filter(scope=scope).first()
        if made is None:
            admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
            made = exporting.queue_export(scope=scope, format=format, filters=filters, user=admin)
            exporting.build_export(made.pk)
            made.refresh_from_db()
        return made.rows or 0


def seed_exports(providers: list[Organisation], organisations: list[Organisation]) -> ExportsDemo:
    provider = providers[0] if providers else None
    lead = next((o for o in organisations if o.kind == OrganisationKind.CCG_ICB), None)
    provider_rows = lead_rows = 0
    if provider is not None:
        critical = InboxFilters(criticality=Criticality.MODERATELY_CRITICAL)
        provider_rows = _make(provider, ExportScope.ORGANISATION, ExportFormat.XLSX, critical)
    if lead is not None:
        everything = NetworkInboxFilters()
        lead_rows = _make(lead, ExportScope.NETWORK, ExportFormat.CSV, everything)
    return ExportsDemo(provider, provider_rows, lead, lead_rows)


def seed_exports_step(context: DemoContext) -> ExportsDemo:
    return seed_exports(context.results["feedback"].providers, context.organisations)


def describe_exports(context: DemoContext) -> list[str]:
    demo: ExportsDemo = context.results["feedback.exports"]
    lines = []
    if demo.provider is not None:
        lines.append(
            f"\n  Exports: {demo.provider.name}'s administrator has an Excel export of its "
            f"moderately critical stories ({demo.provider_rows} rows) at "
            f"{demo.provider.workspace_url('/exports/')}; export any inbox view from "
            f"{demo.provider.workspace_url('/stories/')} (CSV or Excel, with progress)"
        )
    if demo.lead is not None:
        lines.append(
            f"    {demo.lead.name}'s administrator has a CSV of its network members' stories "
            f"({demo.lead_rows} rows) at {demo.lead.workspace_url('/exports/')}"
        )
    return lines
