"""The onboarding part of the demo: upcoming training (one session full with a waiting list,
one nearly full), a staff invitation waiting in the acute trust, a network invitation
waiting for the acute trust (and one emailed to a practice not on Carevoice), and so a
checklist part done on the acute trust's home.

Idempotent and quick: everything is looked up before it is made, through the product's own
operations (which also send their emails, to `.data/mail/` under `make run`).

Registered as the demo's "onboarding" step (onboarding/apps.py), after dashboards' (its
training places are booked for the network's providers) and billing's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from onboarding.invitations import invite_staff
from onboarding.models import Invitation
from onboarding.network_invitations import invite_to_network
from onboarding.training.booking import book_place, schedule_session
from onboarding.training.models import Audience, TrainingSession
from tenants.accounts.models import Role, User
from tenants.demo_steps import DemoContext
from tenants.models import (
    Network,
    NetworkInvitation,
    NetworkMembership,
    Organisation,
    public_url,
)
from tenants.networks import create_network

TRUST = "northshire-hospitals"
INVITED_EMAIL = "new.starter@northshire-hospitals.example"
SECOND_NETWORK = "Northshire Urgent and Emergency Care Network"
NOT_ON_CAREVOICE = "practice.manager@valley-road-surgery.example"


@dataclass(frozen=True)
class DemoSession:
    title: str
    audience: str
    days_ahead: int
    hour: int
    capacity: int
    place: str
    link: str
    description: str
    # Who books, in order: (organisation slug, email local part, name); the address is in
    # the organisation's email domain.
    bookers: tuple[tuple[str, str, str], ...]


SESSIONS = [
    DemoSession(
        "Responding well, in public",
        Audience.RESPONDERS,
        6,
        10,
        6,
        "",
        "https://meet.carevoice.example/responding-well",
        "Thanks, apologies and changes: how to answer a story so the author feels heard, and "
        "what the response check looks for.",
        (
            ("northshire-mental-health", "admin", "Alex Morgan"),
            ("northshire-mental-health", "responder", "Priya Shah"),
            ("northshire-icb", "responder", "Priya Shah"),
            ("harbourside-hospice", "ward.sister", "Grace Whitfield"),
            ("eastfield-community", "team.lead", "Owen Pritchard"),
            ("coastal-ambulance", "pals", "Ruth Adeyemi"),
            # The session is full from here: these two wait, in this order.
            ("northshire-icb", "member", "Sam Jones"),
            ("riverbank-practice", "manager", "Declan Hughes"),
        ),
    ),
    DemoSession(
        "Getting started: administrators",
        Audience.ADMINISTRATORS,
        10,
        14,
        10,
        "",
        "https://meet.carevoice.example/getting-started",
        "Services, staff, alerts and the widget: everything on the onboarding checklist.",
        (
            ("northshire-hospitals", "admin", "Alex Morgan"),
            ("northshire-icb", "admin", "Alex Morgan"),
            ("harbourside-hospice", "admin", "Lena Marsh"),
            ("eastfield-community", "admin", "Tariq Aziz"),
            ("coastal-ambulance", "admin", "Fiona Grant"),
            ("riverbank-practice", "admin", "Meera Patel"),
            ("millbrook-surgery", "admin", "Colin Dale"),
            ("westgate-care-home", "admin", "Joy Ellis"),
            ("northshire-mental-health", "member", "Sam Jones"),
        ),
    ),
    DemoSession(
        "Reading your dashboards",
        Audience.MANAGERS,
        17,
        11,
        20,
        "Carevoice, 1 Wellington Place, Leeds",
        "https://meet.carevoice.example/dashboards",
        "The live dashboard, response targets and the network comparison, with your own data.",
        (
            ("northshire-mental-health", "admin", "Alex Morgan"),
            ("eastfield-community", "admin", "Tariq Aziz"),
        ),
    ),
]


@dataclass(frozen=True)
class OnboardingDemo:
    sessions: list[TrainingSession]
    trust: Organisation | None
    network: Network | None


def _email_domain(organisation: Organisation) -> str:
    if organisation.email_domains:
        return organisation.email_domains[0]
    return f"{organisation.slug}.example"


def _start(days_ahead: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days_ahead)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def seed_onboarding_demo() -> OnboardingDemo:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        organisations = {o.slug: o for o in Organisation.objects.subscribers()}
        sessions = [_seed_session(demo, organisations) for demo in SESSIONS]
    trust = organisations.get(TRUST)
    if trust is not None:
        _seed_invitation(trust)
    network = _seed_network_invitations(organisations)
    return OnboardingDemo(sessions=sessions, trust=trust, network=network)


def _seed_session(demo: DemoSession, organisations: dict[str, Organisation]) -> TrainingSession:
    existing = TrainingSession.objects.filter(
        title=demo.title, starts_at__gt=timezone.now()
    ).first()
    if existing is not None:
        return existing
    session = schedule_session(
        TrainingSession(
            title=demo.title,
            audience=demo.audience,
            starts_at=_start(demo.days_ahead, demo.hour),
            duration_minutes=90,
            capacity=demo.capacity,
            place=demo.place,
            joining_link=demo.link,
            description=demo.description,
        ),
        actor=None,
    )
    for slug, local, name in demo.bookers:
        organisation = organisations.get(slug)
        if organisation is None:
            continue
        book_place(
            session.pk,
            organisation=organisation,
            email=f"{local}@{_email_domain(organisation)}",
            full_name=name,
        )
    return session


def _seed_invitation(trust: Organisation) -> None:
    with tenant_context(trust):
        if Invitation.objects.filter(email=INVITED_EMAIL).exists():
            return
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
        if admin is not None:
            invite_staff(email=INVITED_EMAIL, role=Role.RESPONDER, actor=admin)


def _seed_network_invitations(organisations: dict[str, Organisation]) -> Network | None:
    lead = organisations.get("northshire-icb")
    trust = organisations.get(TRUST)
    if lead is None or trust is None:
        return None
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        network = Network.objects.filter(lead=lead, name=SECOND_NETWORK).first()
        if network is None:
            network = create_network(
                lead=lead,
                name=SECOND_NETWORK,
                description="Emergency departments, urgent treatment centres and the ambulance "
                "service, compared on waiting and communication.",
            )
        invited_trust = NetworkMembership.objects.filter(
            network=network, organisation=trust
        ).exists()
        invited_practice = NetworkInvitation.objects.filter(
            network=network, email=NOT_ON_CAREVOICE
        ).exists()
    with tenant_context(lead):
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
        if admin is None:
            return network
        if not invited_trust:
            invite_to_network(
                network,
                email=f"admin@{_email_domain(trust)}",
                organisation=trust,
                actor=admin,
            )
        if not invited_practice:
            invite_to_network(network, email=NOT_ON_CAREVOICE, actor=admin)
    return network


def describe_onboarding(demo: OnboardingDemo) -> list[str]:
    """Lines for seed_demo's printout."""
    lines = [
        f"Training: {len(demo.sessions)} upcoming sessions (the first full, with a waiting "
        f"list), scheduled in {public_url(settings.BASE_DOMAIN, '/admin/training/')}",
    ]
    if demo.trust is not None:
        lines += [
            f"{demo.trust.name}: the checklist on {demo.trust.workspace_url()} (part done), "
            f"an invitation waiting for {INVITED_EMAIL} at "
            f"{demo.trust.workspace_url('/staff/invitations/')}",
        ]
    if demo.network is not None:
        lines.append(
            f"Network invitation from {demo.network.lead.name} ({demo.network.name}) waiting "
            f"at {demo.trust.workspace_url('/networks/') if demo.trust else ''}"
        )
    return lines


def seed_onboarding_step(context: DemoContext) -> OnboardingDemo:
    return seed_onboarding_demo()


def describe_onboarding_demo(context: DemoContext) -> list[str]:
    lines = describe_onboarding(context.results["onboarding"])
    return ["\n  Onboarding:", *(f"    {line}" for line in lines)]
