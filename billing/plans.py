"""The plans Carevoice sells, in code. `manage.py sync_plans` makes Stripe agree with them.

Prices are in pence. Each (plan, interval) is a Stripe Plan with a stable id such as
`carevoice-organisation-monthly`, so the code, Stripe and the database name the same thing
without a lookup table. Stripe never lets a Plan's amount change: a new price needs a new
id (add a version suffix to `stripe_plan_id`), which `sync_plans` says when it finds one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from tenants.gate import Capability
from tenants.models import OrganisationKind

CURRENCY = "gbp"
STRIPE_ID_PREFIX = "carevoice"


class Interval(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


# Stripe's own words for the intervals.
STRIPE_INTERVAL = {Interval.MONTHLY: "month", Interval.ANNUAL: "year"}


# What a plan switches on: the gate's capabilities (tenants/gate.py), under billing's name.
Feature = Capability


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    audience: str
    kinds: frozenset[str]
    monthly_pence: int
    annual_pence: int
    # Active staff accounts the workspace may have.
    staff_seats: int
    # Member organisations a network the subscriber leads may have (0: it may lead none).
    network_members: int
    features: frozenset[str]

    def price(self, interval: str) -> int:
        return self.monthly_pence if interval == Interval.MONTHLY else self.annual_pence

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def stripe_product_id(self) -> str:
        return f"{STRIPE_ID_PREFIX}-{self.key}"

    def stripe_plan_id(self, interval: str) -> str:
        return f"{STRIPE_ID_PREFIX}-{self.key}-{Interval(interval).value}"


ESSENTIALS = Plan(
    key="essentials",
    name="Essentials",
    audience="A GP practice, hospice or care home",
    kinds=frozenset(
        {OrganisationKind.GP_PRACTICE, OrganisationKind.HOSPICE, OrganisationKind.CARE_HOME}
    ),
    monthly_pence=4_900,
    annual_pence=49_000,
    staff_seats=10,
    network_members=0,
    features=frozenset({Feature.WIDGET}),
)
ORGANISATION = Plan(
    key="organisation",
    name="Organisation",
    audience="An NHS trust",
    kinds=frozenset(
        {
            OrganisationKind.ACUTE_TRUST,
            OrganisationKind.MENTAL_HEALTH_TRUST,
            OrganisationKind.COMMUNITY_TRUST,
            OrganisationKind.AMBULANCE_TRUST,
            OrganisationKind.OTHER,
        }
    ),
    monthly_pence=39_900,
    annual_pence=399_000,
    staff_seats=100,
    network_members=0,
    features=frozenset({Feature.NETWORK_COMPARISON, Feature.API_ACCESS, Feature.WIDGET}),
)
NETWORK = Plan(
    key="network",
    name="Network",
    audience="A commissioner and up to 12 member organisations",
    kinds=frozenset({OrganisationKind.CCG_ICB}),
    monthly_pence=129_900,
    annual_pence=1_299_000,
    staff_seats=40,
    network_members=12,
    features=frozenset({Feature.NETWORK_COMPARISON, Feature.API_ACCESS, Feature.WIDGET}),
)

PLANS: dict[str, Plan] = {plan.key: plan for plan in (ESSENTIALS, ORGANISATION, NETWORK)}
PLAN_CHOICES = [(plan.key, plan.name) for plan in PLANS.values()]

# Stripe plan id -> (plan, interval), for reading subscriptions back.
_BY_STRIPE_ID: dict[str, tuple[Plan, Interval]] = {
    plan.stripe_plan_id(interval): (plan, interval)
    for plan in PLANS.values()
    for interval in Interval
}


class UnknownPlan(ValueError):
    """A plan or interval that Carevoice does not sell."""


def get_plan(key: str) -> Plan:
    try:
        return PLANS[key]
    except KeyError:
        raise UnknownPlan(f"“{key}” is not one of our plans.") from None


def get_interval(value: str) -> Interval:
    try:
        return Interval(value)
    except ValueError:
        raise UnknownPlan(f"“{value}” is not monthly or annual.") from None


def plan_for_stripe_id(stripe_plan_id: str) -> tuple[Plan, Interval] | None:
    return _BY_STRIPE_ID.get(stripe_plan_id)


def suggested_plan(kind: str) -> Plan:
    """The plan made for an organisation of this kind."""
    for plan in PLANS.values():
        if kind in plan.kinds:
            return plan
    return ORGANISATION


def format_pence(pence: int) -> str:
    pounds, rest = divmod(pence, 100)
    return f"£{pounds:,}" if rest == 0 else f"£{pounds:,}.{rest:02d}"
