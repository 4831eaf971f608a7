"""Thanks passed on, in the demo: Northshire Hospitals' staff directory (everyone with an
account, and three ward staff), its first ward managed by the ward manager, a published story
whose thanks went to a nurse (by email) and to a healthcare assistant (through the ward's
manager), and a story waiting in moderation that names a consultant, so the moderator sees
the suggestion. All through the product's own operations. Made once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from feedback.choices import AgeGroup, AuthorRole, Criticality, SubmissionRoute
from feedback.hub.models import ServiceListing, Submission
from feedback.models import Service, StaffMember
from feedback.moderation import Decision, findings_for, publish_submission
from feedback.submissions import StoryFromAuthor, submit_story
from feedback.thanks import Confirmed, add_everyone_with_an_account, save_entry, suggest_staff
from tenants.accounts.models import Role, User
from tenants.demo import email_domain_of
from tenants.models import Organisation

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

PUBLISHED_TITLE = "The night staff made all the difference"
WAITING_TITLE = "A consultant who listened"


@dataclass(frozen=True)
class ThanksDemo:
    organisation: Organisation | None
    public_story_id: int | None = None
    waiting_id: int | None = None


def _story(title: str, good: str, listing: ServiceListing) -> Submission:
    return submit_story(
        StoryFromAuthor(
            title=title,
            what_was_good=good,
            what_could_be_improved="",
            how_it_felt="Looked after.",
            author_role=AuthorRole.PATIENT,
            author_age_group=AgeGroup.AGE_65_74,
            nickname="Grateful patient",
            email="",
            postcode="",
            route=SubmissionRoute.WEB,
            listings=[listing],
        )
    )


def seed_thanks(organisation: Organisation | None) -> ThanksDemo:
    if organisation is None:
        return ThanksDemo(None)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        done = Submission.objects.filter(title=PUBLISHED_TITLE).first()
        if done is not None:
            waiting = Submission.objects.filter(title=WAITING_TITLE).first()
            return ThanksDemo(organisation, done.public_story_id, waiting.pk if waiting else None)
        if not organisation.email_domains:
            # What platform staff record when an organisation joins (the hub's admin).
            organisation.email_domains = [email_domain_of(organisation)]
            organisation.save(update_fields=["email_domains"])
    domain = organisation.email_domains[0]
    with tenant_context(organisation):
        admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
        manager = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
        ward = Service.objects.filter(type="ward").order_by("pk").first()
        ward.manager = manager
        ward.save(update_fields=["manager"])
        add_everyone_with_an_account(actor=admin)
        for name, job, email in (
            ("Sarah Okoye", "Staff Nurse", f"sarah.okoye@{domain}"),
            ("Tom Fletcher", "Healthcare Assistant", ""),
            ("Amir Haddad", "Consultant Geriatrician", ""),
        ):
            save_entry(StaffMember(full_name=name, job_title=job, email=email), [ward], actor=admin)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        listing = ServiceListing.objects.get(organisation=organisation, service_id=ward.pk)
        moderator = User.objects.filter(email="moderator@carevoice.example").first()
        thanked = _story(
            PUBLISHED_TITLE,
            f"I arrived on {ward.name} in the middle of the night, frightened. Sarah was "
            "wonderful: she sat with me and explained everything, and Tom made sure I had a "
            "cup of tea and a warm blanket.",
            listing,
        )
        texts = [thanked.title, thanked.what_was_good]
        names = [f for field in ("title", "what_was_good") for f in findings_for(thanked)[field]]
        confirmed = tuple(
            Confirmed.from_key(s.key, s.named_as)
            for s in suggest_staff(names, texts, [listing])
            if s.person.full_name in ("Sarah Okoye", "Tom Fletcher")
        )
        published = publish_submission(
            thanked.pk,
            moderator=moderator,
            decision=Decision(
                criticality=Criticality.NOT_CRITICAL,
                tag_keys=["what was good:kind staff"],
                listings=[listing],
                thanks=confirmed,
            ),
        )
        waiting = _story(
            WAITING_TITLE,
            "Dr Haddad took the time to listen to my worries about going home, and changed "
            "my medicines so I could sleep.",
            listing,
        )
    return ThanksDemo(organisation, published.public_story.pk, waiting.pk)


def seed_thanks_step(context: DemoContext) -> ThanksDemo:
    providers = context.results["feedback"].providers
    return seed_thanks(providers[0] if providers else None)


def describe_thanks(context: DemoContext) -> list[str]:
    demo: ThanksDemo = context.results["feedback.thanks"]
    if demo.organisation is None or demo.public_story_id is None:
        return []
    hub = settings.BASE_DOMAIN
    lines = [
        f"\n  Thanks passed on: story {demo.public_story_id} thanks a nurse (emailed to her) "
        "and a healthcare assistant (emailed to the ward's manager); counts at "
        f"{demo.organisation.workspace_url('/thanks/')}, the staff directory at "
        f"{demo.organisation.workspace_url('/thanks/directory/')}",
    ]
    if demo.waiting_id:
        from tenants.models import public_url

        lines.append(
            "    a story waiting in moderation names a consultant: the suggestion is at "
            f"{public_url(hub, f'/moderation/{demo.waiting_id}/')}"
        )
    return lines
