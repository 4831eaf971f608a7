"""The alerts part of the demo: email domains, rules for the demo staff, and (through the
seeded stories' own due times) a handful of missed response targets.

Registered as the demo's "alerts" step (alerts/apps.py), after feedback's: the rules are for
the providers whose stories feedback's step made."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.emerging import find_emerging_themes, work_out_preview
from alerts.models import AlertRule, EmergingTheme, Frequency
from feedback.choices import AgeGroup, AuthorRole, Criticality, SubmissionRoute, TagGroup
from feedback.default_tags import tag_key
from feedback.hub.models import ServiceListing
from feedback.models import Service
from feedback.publishing import StoryToPublish, import_published_stories
from feedback.rendering import compose_body
from tenants.accounts.models import Role, User
from tenants.demo import email_domain_of
from tenants.demo_steps import DemoContext
from tenants.models import Organisation


def seed_alerts_step(context: DemoContext) -> None:
    providers = context.results["feedback"].providers
    for organisation in providers:
        seed_alerts_demo(organisation, email_domain_of(organisation))
    if providers:
        seed_emerging_theme_demo(providers[0])


# A run of stories about call bells on one ward this week: an emerging theme.
CALL_BELL_TITLES = [
    "Nobody came when I rang",
    "Waited for help at night",
    "The call bell was ignored",
    "Left waiting for the toilet",
    "Buzzer rang and rang",
    "No answer to the bell",
    "Frightened at night",
    "Help took too long",
]


def seed_emerging_theme_demo(organisation: Organisation) -> None:
    """Eight stories about unanswered call bells on the first ward, over the last six days,
    far above that ward's usual; a rule of the responder's that asks for emerging themes;
    and tonight's run, so the delivery log and /alerts/emerging/ show the finding."""
    with tenant_context(organisation):
        if EmergingTheme.objects.exists():
            return
        responder = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
        ward = Service.objects.filter(type="ward").order_by("pk").first()
    with schema_context("public"):
        listing = ServiceListing.objects.get(organisation=organisation, service_id=ward.pk)
        now = timezone.now()
        import_published_stories(
            [
                StoryToPublish(
                    title=title,
                    body=compose_body(
                        {
                            "what_could_be_improved": (
                                "I pressed the call bell and nobody came for a long time."
                            ),
                            "how_it_felt": "Frightened and alone.",
                        }
                    ),
                    criticality=Criticality.MODERATELY_CRITICAL,
                    author_role=AuthorRole.PATIENT,
                    author_age_group=AgeGroup.AGE_85_PLUS if n % 2 else AgeGroup.AGE_75_84,
                    submission_route=SubmissionRoute.WEB,
                    submitted_at=now - timedelta(days=n % 6 + 1, hours=6),
                    published_at=now - timedelta(days=n % 6 + 1, hours=2),
                    listings=[listing],
                    tag_keys=[tag_key("staffing levels", TagGroup.IMPROVE)],
                )
                for n, title in enumerate(CALL_BELL_TITLES)
            ]
        )
    with tenant_context(organisation):
        rule = AlertRule.objects.create(
            name="Emerging themes on our wards",
            owner=responder,
            min_criticality=Criticality.NOT_CRITICAL,
            frequency=Frequency.DAILY,
            emerging_themes=True,
        )
        rule.recipients.add(responder)
        rule.services.set(Service.objects.filter(type="ward"))
        find_emerging_themes()
        # The replay behind the rule page's preview, as the nightly task leaves it.
        work_out_preview()


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


def describe_emerging_theme_demo(context: DemoContext) -> list[str]:
    providers = context.results["feedback"].providers
    if not providers:
        return []
    organisation = providers[0]
    with tenant_context(organisation):
        finding = EmergingTheme.objects.select_related("service").first()
        if finding is None:
            return []
        place = finding.service.name if finding.service else "all services"
        responder = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
    return [
        f"\n  Emerging theme: {finding.theme_label} at {place}, {finding.observed} stories in "
        f"a week against {finding.expected:.1f} expected; emailed to {responder.email} "
        f"(Alerts -> Emails sent) and listed at "
        f"{organisation.workspace_url('/alerts/emerging/')}"
    ]
