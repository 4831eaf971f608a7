"""Welsh in the demo: Harbourside Hospice shows its public pages in Welsh by default (set
by its administrator, audited), and a story told in Welsh about its inpatient unit is
published, in Welsh. Made through the product's own operations, once: seeding the demo
again adds nothing.

Registered as the demo's "feedback.languages" step (feedback/apps.py), after the
dashboards step that makes Harbourside Hospice and its services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from feedback.choices import AgeGroup, AuthorRole, Criticality, SubmissionRoute
from feedback.hub.models import ServiceListing, Submission
from feedback.languages import StoryLanguage, set_default_language
from feedback.moderation import Decision, publish_submission
from feedback.submissions import StoryFromAuthor, submit_story
from tenants.accounts.models import Role, User
from tenants.models import Organisation, public_url

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

SLUG = "harbourside-hospice"
TITLE = "Gofal tyner yn yr uned cleifion mewnol"
GOOD = (
    "Roedd y nyrsys yn garedig ac yn amyneddgar gyda Mam, ac yn siarad Cymraeg â hi bob "
    "dydd. Roedd hynny'n golygu llawer iddi hi ac i ni."
)
IMPROVE = "Roedd hi'n anodd dod o hyd i le i barcio wrth ymweld gyda'r nos."
FELT = "Yn ddiolchgar, ac yn dawel ein meddwl."


@dataclass(frozen=True)
class LanguagesDemo:
    organisation: Organisation | None
    public_story_id: int | None


def seed_languages(organisation: Organisation | None) -> LanguagesDemo:
    if organisation is None:
        return LanguagesDemo(None, None)
    with tenant_context(organisation):
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
        if admin is not None:
            set_default_language(organisation, "cy", actor=admin)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        existing = Submission.objects.filter(title=TITLE).first()
        if existing is not None:
            return LanguagesDemo(organisation, existing.public_story_id)
        listing = (
            ServiceListing.objects.filter(organisation=organisation, is_active=True)
            .order_by("name")
            .first()
        )
        moderator = User.objects.filter(email="moderator@carevoice.example").first()
        if listing is None or moderator is None:
            return LanguagesDemo(organisation, None)
        submission = submit_story(
            StoryFromAuthor(
                title=TITLE,
                what_was_good=GOOD,
                what_could_be_improved=IMPROVE,
                how_it_felt=FELT,
                author_role=AuthorRole.RELATIVE,
                author_age_group=AgeGroup.AGE_45_54,
                nickname="Merch ddiolchgar",
                email="",
                postcode="",
                route=SubmissionRoute.WEB,
                listings=[listing],
                language=StoryLanguage.WELSH,
            )
        )
        published = publish_submission(
            submission.pk,
            moderator=moderator,
            decision=Decision(
                criticality=Criticality.NOT_CRITICAL,
                tag_keys=["what was good:kind staff"],
                listings=[listing],
            ),
        )
    return LanguagesDemo(organisation, published.public_story.pk)


def seed_languages_step(context: DemoContext) -> LanguagesDemo:
    organisation = Organisation.objects.filter(slug=SLUG).first()
    return seed_languages(organisation)


def describe_languages(context: DemoContext) -> list[str]:
    demo: LanguagesDemo = context.results["feedback.languages"]
    if demo.organisation is None or demo.public_story_id is None:
        return []
    hub = public_url(settings.BASE_DOMAIN, "/")
    return [
        f"\n  Welsh: every public page has an English / Cymraeg switch; {hub}?language=cy "
        "opens the hub in Welsh",
        f"    {demo.organisation.name} shows Welsh by default: "
        f"{public_url(settings.BASE_DOMAIN, f'/o/{demo.organisation.slug}/widget/')}",
        "    a story told in Welsh, published in Welsh: "
        f"{public_url(settings.BASE_DOMAIN, f'/stories/{demo.public_story_id}/?language=cy')}",
    ]
