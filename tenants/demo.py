"""The demo data `manage.py seed_demo` loads. Every capability adds its part here, through
the same operations the product uses, so the demo shows what the product does."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, tenant_context

from tenants.accounts.models import Role, User
from tenants.accounts.second_factor import (
    authenticator_for,
    base32_secret,
    confirm_authenticator,
    is_second_factor_required,
    start_authenticator,
)
from tenants.models import (
    MembershipStatus,
    Network,
    NetworkMembership,
    Organisation,
    OrganisationKind,
    Region,
    public_url,
)
from tenants.networks import accept_invitation, create_network, invite_organisation
from tenants.provisioning import provision_organisation

# Not a secret: the demo's accounts are printed for anyone running `make run`.
DEMO_PASSWORD = "listen-learn-change-2026"


@dataclass(frozen=True)
class DemoOrganisation:
    slug: str
    name: str
    kind: str
    ods_code: str
    email_domain: str


ORGANISATIONS = [
    DemoOrganisation(
        "northshire-hospitals",
        "Northshire Hospitals NHS Foundation Trust",
        OrganisationKind.ACUTE_TRUST,
        "R9A",
        "northshire-hospitals.example",
    ),
    DemoOrganisation(
        "northshire-mental-health",
        "Northshire Mental Health NHS Trust",
        OrganisationKind.MENTAL_HEALTH_TRUST,
        "R9B",
        "northshire-mh.example",
    ),
    DemoOrganisation(
        "northshire-icb",
        "NHS Northshire Integrated Care Board",
        OrganisationKind.CCG_ICB,
        "Q9Z",
        "northshire-icb.example",
    ),
]
NETWORK_NAME = "Northshire Provider Network"


def email_domain_of(organisation: Organisation) -> str:
    """The email domain of one of the demo organisations above (its staff's addresses)."""
    return next(d.email_domain for d in ORGANISATIONS if d.slug == organisation.slug)


STAFF = [
    # (local part, full name, job title, role)
    ("admin", "Alex Morgan", "Head of Patient Experience", Role.ADMINISTRATOR),
    ("responder", "Priya Shah", "Ward Manager", Role.RESPONDER),
    ("member", "Sam Jones", "Patient Experience Officer", Role.MEMBER),
]
PLATFORM_STAFF = [
    ("support@carevoice.example", "Carevoice Support", True),
    ("moderator@carevoice.example", "Morgan Reed", False),
]


@dataclass(frozen=True)
class Login:
    where: str
    url: str
    email: str
    role: str
    # The account's authenticator key, for those who need a second factor (not a secret:
    # printed with the demo password, for anyone running `make run`).
    totp_secret: str = ""
    totp_uri: str = ""


class NotADemoAccount(Exception):
    """`demo_code` only answers for the demo's own accounts."""


def seed_demo() -> tuple[list[Login], list[Organisation]]:
    logins: list[Login] = []
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        logins += _seed_platform_staff()
        organisations = [_seed_organisation(demo) for demo in ORGANISATIONS]
    for demo, organisation in zip(ORGANISATIONS, organisations, strict=True):
        logins += _seed_staff(demo, organisation)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        _seed_network(organisations)
    return logins, organisations


def _seed_platform_staff() -> list[Login]:
    logins = []
    for email, name, is_superuser in PLATFORM_STAFF:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email,
                DEMO_PASSWORD,
                full_name=name,
                is_staff=True,
                is_superuser=is_superuser,
                role=Role.ADMINISTRATOR,
            )
        logins.append(
            Login(
                "Platform (Django admin)",
                public_url(settings.BASE_DOMAIN, "/admin/"),
                email,
                "superuser" if is_superuser else "moderator",
                *_demo_authenticator(user),
            )
        )
    return logins


def _demo_authenticator(user: User) -> tuple[str, str]:
    """Give a demo account that needs a second factor its authenticator (set up through
    the product's own operations, as a person would with their app); its key and URI."""
    device = authenticator_for(user)
    if device is None:
        device = start_authenticator(user)
        confirmed = confirm_authenticator(user, demo_code(device))
        assert confirmed is not None, "the demo authenticator's own code was refused"
        device = confirmed[0]
    return base32_secret(device), device.config_url


def demo_code(device: TOTPDevice) -> str:
    """A code `device` accepts now, as its app would show it: the current one or, when that
    was just used (each is taken once; seeding the demo used one), the next, which the
    device also accepts (it allows one step of clock drift).

    TRICKY: `device` must be freshly loaded by the caller, in its own schema; reloading it
    here would read whichever schema is active, where the same id can be someone else's."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    totp.drift = device.drift + max(0, device.last_t + 1 - now)
    return f"{totp.token():0{device.digits}d}"


def demo_authenticator(email: str, slug: str | None = None) -> tuple[str, User, TOTPDevice]:
    """The demo account `email`'s authenticator, in its organisation's schema (`slug`, or
    the one its email domain belongs to) or the hub's. Raises NotADemoAccount otherwise."""
    email = email.strip().lower()
    if slug is None and email in {e for e, _, _ in PLATFORM_STAFF}:
        schema, where = settings.PUBLIC_SCHEMA_NAME, "the hub"
    else:
        demo = next(
            (
                d
                for d in ORGANISATIONS
                if (slug is None or d.slug == slug)
                and email in {f"{local}@{d.email_domain}" for local, _, _, _ in STAFF}
            ),
            None,
        )
        if demo is None:
            raise NotADemoAccount(f"{email} is not one of the demo's accounts.")
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            organisation = Organisation.objects.filter(slug=demo.slug).first()
        if organisation is None:
            raise NotADemoAccount("The demo is not loaded: run `manage.py seed_demo`.")
        schema, where = organisation.schema_name, organisation.name
    with schema_context(schema):
        user = User.objects.filter(email=email).first()
        device = authenticator_for(user) if user is not None else None
    if device is None:
        raise NotADemoAccount(f"{email} has no authenticator in {where}.")
    return where, user, device


def _seed_organisation(demo: DemoOrganisation) -> Organisation:
    existing = Organisation.objects.filter(slug=demo.slug).first()
    if existing is not None:
        return existing
    admin_local, admin_name, _, _ = STAFF[0]
    return provision_organisation(
        name=demo.name,
        slug=demo.slug,
        kind=demo.kind,
        ods_code=demo.ods_code,
        region=Region.NORTH_EAST_AND_YORKSHIRE,
        admin_email=f"{admin_local}@{demo.email_domain}",
        admin_name=admin_name,
        admin_password=DEMO_PASSWORD,
    ).organisation


def _seed_staff(demo: DemoOrganisation, organisation: Organisation) -> list[Login]:
    logins = []
    with tenant_context(organisation), transaction.atomic():
        for local, name, title, role in STAFF:
            email = f"{local}@{demo.email_domain}"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, role=role)
            if user.job_title != title:
                user.job_title = title
                user.save(update_fields=["job_title"])
            authenticator = (
                _demo_authenticator(user) if is_second_factor_required(user, organisation) else ()
            )
            logins.append(
                Login(
                    organisation.name,
                    organisation.workspace_url(),
                    email,
                    role.label,
                    *authenticator,
                )
            )
    return logins


def _seed_network(organisations: list[Organisation]) -> Network:
    lead = next(o for o in organisations if o.kind == OrganisationKind.CCG_ICB)
    network = Network.objects.filter(lead=lead, name=NETWORK_NAME).first()
    if network is None:
        network = create_network(
            lead=lead,
            name=NETWORK_NAME,
            description="Acute and mental health providers commissioned by Northshire ICB.",
        )
    for organisation in organisations:
        if organisation == lead:
            continue
        membership = NetworkMembership.objects.filter(
            network=network, organisation=organisation
        ).first()
        if membership is None:
            membership = invite_organisation(network, organisation)
        if membership.status == MembershipStatus.INVITED:
            accept_invitation(membership, benchmarking_consent=True)
    return network
