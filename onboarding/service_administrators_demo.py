"""A service administrator in the demo: the matron of Northshire Hospitals' first ward (the
ward the demo's ward responder is limited to, feedback/service_limits_demo.py) manages its
staff, and has invited a new nurse to the ward; the invitation's email waits in the mail
folder. The ward responder has a saved report about the ward. Made once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_tenants.utils import tenant_context

from dashboards.models import ReportKind, SavedReport
from dashboards.reports.saved_reports import save_report
from feedback.models import Service
from feedback.service_limits import set_limit
from onboarding.invitations import invite_staff
from tenants.accounts.models import Role, User
from tenants.demo import DEMO_PASSWORD, email_domain_of
from tenants.models import Organisation

if TYPE_CHECKING:
    from feedback.service_limits_demo import LimitDemo
    from tenants.demo_steps import DemoContext


@dataclass(frozen=True)
class ServiceAdministratorDemo:
    organisation: Organisation | None
    email: str = ""
    invited: str = ""
    ward: str = ""


def seed_service_administrator(limited: LimitDemo) -> ServiceAdministratorDemo:
    organisation = limited.organisation
    if organisation is None:
        return ServiceAdministratorDemo(None)
    domain = email_domain_of(organisation)
    email, invited = f"ward.matron@{domain}", f"new.nurse@{domain}"
    with tenant_context(organisation):
        ward = Service.objects.filter(type="ward").order_by("pk").first()
        if not User.objects.filter(email=email).exists():
            admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
            matron = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name="Martha Matron",
                role=Role.MEMBER,
                job_title=f"Matron, {ward.name}",
            )
            set_limit(matron, [ward], actor=admin, manages=True)
            invite_staff(email=invited, role=Role.RESPONDER, actor=matron, services=[ward.pk])
        responder = User.objects.get(email=limited.email)
        if not SavedReport.objects.filter(created_by=responder).exists():
            save_report(
                name=f"{ward.name}, the last three months",
                kind=ReportKind.SUMMARY,
                months=3,
                start=None,
                end=None,
                service_id=ward.pk,
                actor=responder,
            )
    return ServiceAdministratorDemo(organisation, email, invited, ward.name)


def seed_service_administrator_step(context: DemoContext) -> ServiceAdministratorDemo:
    return seed_service_administrator(context.results["feedback.service_limits"])


def describe_service_administrator(context: DemoContext) -> list[str]:
    demo: ServiceAdministratorDemo = context.results["onboarding.service_administrators"]
    if demo.organisation is None:
        return []
    return [
        f"\n  A service administrator: {demo.email} / {DEMO_PASSWORD} manages {demo.ward}'s "
        f"staff at {demo.organisation.workspace_url('/services/limits/')} (moves them among "
        "the ward's services, switches accounts off and on) and invited "
        f"{demo.invited} to the ward at "
        f"{demo.organisation.workspace_url('/staff/invitations/')} (the email is in the mail "
        "folder)",
    ]
