"""A service-limited responder in the demo: Northshire Hospitals' ward responder sees only
its first ward's stories (and the services within it). Made once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_tenants.utils import tenant_context

from feedback.models import Service
from feedback.service_limits import set_limit
from tenants.accounts.models import Role, User
from tenants.demo import DEMO_PASSWORD, email_domain_of
from tenants.models import Organisation

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


@dataclass(frozen=True)
class LimitDemo:
    organisation: Organisation | None
    email: str = ""
    ward: str = ""


def seed_service_limit(organisation: Organisation | None) -> LimitDemo:
    if organisation is None:
        return LimitDemo(None)
    email = f"ward.responder@{email_domain_of(organisation)}"
    with tenant_context(organisation):
        ward = Service.objects.filter(type="ward").order_by("pk").first()
        person = User.objects.filter(email=email).first()
        if person is None:
            person = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name="Wendy Ward",
                role=Role.RESPONDER,
                job_title=f"Ward Sister, {ward.name}",
            )
            admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
            set_limit(person, [ward], actor=admin)
    return LimitDemo(organisation, email, ward.name)


def seed_service_limit_step(context: DemoContext) -> LimitDemo:
    providers = context.results["feedback"].providers
    return seed_service_limit(providers[0] if providers else None)


def describe_service_limit(context: DemoContext) -> list[str]:
    demo: LimitDemo = context.results["feedback.service_limits"]
    if demo.organisation is None:
        return []
    return [
        f"\n  A service-limited responder: {demo.email} / {DEMO_PASSWORD} sees only "
        f"{demo.ward}'s stories at {demo.organisation.workspace_url('/stories/')} (every "
        "other page is closed to them); limits are set at "
        f"{demo.organisation.workspace_url('/services/limits/')}; her long PDFs, saved "
        "and scheduled reports count only her ward",
    ]
