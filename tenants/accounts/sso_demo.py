"""Single sign-on in the demo: Northshire Mental Health signs its staff in through the local
OpenID Connect provider that `make run` starts (config/oidc_provider), whose address, client
and person the launcher passes in DEMO_OIDC_* (config/launcher.py). The provider knows Sam
Taylor, who has no Carevoice account yet: one is made at Sam's first sign-in. Without the
provider (`seed_demo` run on its own), the step does nothing. Set up through the product's
own operation each time the demo is seeded (the provider's port changes with each run)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_tenants.utils import tenant_context

from tenants.accounts import sso
from tenants.accounts.models import Role, User
from tenants.demo import email_domain_of
from tenants.models import Organisation

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

SLUG = "northshire-mental-health"


@dataclass(frozen=True)
class SsoDemo:
    organisation: Organisation | None
    email: str = ""


def seed_sso(organisation: Organisation | None) -> SsoDemo:
    issuer = os.environ.get("DEMO_OIDC_ISSUER", "")
    if organisation is None or not issuer:
        return SsoDemo(None)
    domain = email_domain_of(organisation)
    with tenant_context(organisation):
        admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
        sso.save_configuration(
            sso.Settings(
                enabled=True,
                provider_name="NHSmail (the local provider)",
                issuer=issuer,
                client_id=os.environ["DEMO_OIDC_CLIENT_ID"],
                client_secret=os.environ["DEMO_OIDC_CLIENT_SECRET"],
                allowed_domains=[domain],
                password_sign_in=True,
                default_role=Role.RESPONDER,
            ),
            actor=admin,
        )
    return SsoDemo(organisation, os.environ.get("DEMO_OIDC_EMAIL", ""))


def seed_sso_step(context: DemoContext) -> SsoDemo:
    return seed_sso(next((o for o in context.organisations if o.slug == SLUG), None))


def describe_sso(context: DemoContext) -> list[str]:
    demo: SsoDemo = context.results["accounts.sso"]
    if demo.organisation is None:
        return []
    return [
        f"\n  Single sign-on: {demo.organisation.name} signs in through the local OpenID "
        f"Connect provider: at {demo.organisation.workspace_url('/accounts/login/')} press "
        f"'Sign in with NHSmail', then sign in at the provider as {demo.email} / "
        f"{os.environ.get('DEMO_OIDC_PASSWORD', '')} (an account is made at the first sign-in)",
    ]
