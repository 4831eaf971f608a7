"""The alerts part of the demo: email domains, rules for the demo staff, and (through the
seeded stories' own due times) a handful of missed response targets.

Registered as the demo's "alerts" step (alerts/apps.py), after feedback's: the rules are for
the providers whose stories feedback's step made."""

from __future__ import annotations

from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertRule, Frequency
from feedback.choices import Criticality
from feedback.models import Service
from tenants.accounts.models import Role, User
from tenants.demo import email_domain_of
from tenants.demo_steps import DemoContext
from tenants.models import Organisation


def seed_alerts_step(context: DemoContext) -> None:
    for organisation in context.results["feedback"].providers:
        seed_alerts_demo(organisation, email_domain_of(organisation))


def seed_alerts_demo(organisation: Organisation, email_domain: str) -> None:
    with schema_context("public"):
        if email_domain not in organisation.email_domains:
            organisation.email_domains = [*organisation.email_domains, email_domain]
            organisation.save(update_fields=["email_domains"])
    with tenant_context(organisation):
        if AlertRule.objects.exclude(name="Strongly and severely critical stories").exists():
            return
        admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
        responder = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
        member = User.objects.filter(role=Role.MEMBER).order_by("pk").first()
        wards = list(Service.objects.filter(type="ward"))
        ward_rule = AlertRule.objects.create(
            name="Stories about our wards",
            owner=responder,
            min_criticality=Criticality.MILDLY_CRITICAL,
            frequency=Frequency.INSTANT,
        )
        ward_rule.recipients.add(responder)
        ward_rule.services.set(wards)
        words = AlertRule.objects.create(
            name="Discharge and medication",
            owner=admin,
            words="discharge, medication",
            frequency=Frequency.INSTANT,
            extra_addresses=[f"pharmacy@{email_domain}"],
        )
        words.recipients.add(admin)
        digest = AlertRule.objects.create(
            name="Everything, every morning",
            owner=member,
            frequency=Frequency.DAILY,
        )
        digest.recipients.add(member)
        weekly = AlertRule.objects.create(
            name="Weekly round-up", owner=admin, frequency=Frequency.WEEKLY
        )
        weekly.recipients.add(admin)
