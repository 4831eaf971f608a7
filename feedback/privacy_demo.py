"""The privacy and safeguarding part of the demo: the first provider's PALS details and a
named safeguarding contact; one story waiting for moderation with a safeguarding concern
nobody has acknowledged yet; one story its author withdrew, with the note where it stood; an
author's request made without email, for a moderator to verify; and one author's "Your
story" link. Everything goes through the product's own operations, and each part is made
once (the command is idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tenants.utils import schema_context, tenant_context

from feedback.author_requests import ask_to_withdraw, ask_without_link
from feedback.choices import AgeGroup, AuthorRole, Criticality, SubmissionRoute
from feedback.hub.models import (
    AuthorRequest,
    AuthorRequestKind,
    ConcernCategory,
    SafeguardingConcern,
    ServiceListing,
    Submission,
    SubmissionState,
    WithdrawnStory,
)
from feedback.models import Story
from feedback.moderation import Decision, publish_submission
from feedback.responding import Draft, publish_response
from feedback.safeguarding import raise_concern
from feedback.submissions import StoryFromAuthor, submit_story
from feedback.withdrawal import withdraw_story
from feedback.your_story import story_url
from tenants.accounts.models import Role, User
from tenants.models import Organisation
from tenants.pals import set_pals_details
from tenants.staff import set_safeguarding_contact

PALS_DETAILS = (
    "Patient Advice and Liaison Service (PALS), Northshire General Hospital main entrance.\n"
    "Phone 0113 496 0123, Monday to Friday 9am to 5pm, or email pals@northshire.example."
)
CONCERN_NOTE = (
    "The author says their father, on Ward 12, told them a carer 'hits him when nobody is "
    "looking' and that he is frightened to ask for help at night. Please check on him."
)
WITHDRAWN_TITLE = "My son's operation on the Children's Ward"
WITHDRAWN_REPLY = (
    "Thank you for telling us how the play specialist kept your son calm, and I am sorry you "
    "waited six hours for a bed after his operation. We now book a recovery bed before "
    "children go to theatre. Priya, Ward Manager"
)


@dataclass(frozen=True)
class PrivacyDemo:
    contact_email: str
    concern_submission_id: int | None
    withdrawn_public_id: int | None
    your_story_url: str


def seed_privacy_demo(providers: list[Organisation], moderator: User | None) -> PrivacyDemo:
    trust = providers[0]
    contact = _name_contact(trust)
    with schema_context("public"):
        listings = list(ServiceListing.objects.filter(organisation=trust).order_by("pk"))
        if moderator is not None and not SafeguardingConcern.objects.exists():
            _seed_concern(listings, moderator)
        if moderator is not None and not WithdrawnStory.objects.exists():
            _seed_withdrawal(listings, moderator)
        if not AuthorRequest.objects.filter(via_link=False).exists():
            ask_without_link(
                AuthorRequestKind.COPY,
                details=(
                    "I wrote about the eye clinic in the spring, about the long wait, as "
                    "'Kirkgate reader'. I said the nurse with the red glasses was lovely. "
                    "Please send me what you hold."
                ),
                contact="Phone 0113 496 0999, afternoons",
            )
        concern = SafeguardingConcern.objects.order_by("pk").first()
        tombstone = WithdrawnStory.objects.order_by("pk").first()
        authored = (
            Submission.objects.filter(state=SubmissionState.PENDING)
            .exclude(email="")
            .order_by("pk")
            .first()
        )
        return PrivacyDemo(
            contact_email=contact,
            concern_submission_id=concern.submission_id if concern else None,
            withdrawn_public_id=tombstone.public_id if tombstone else None,
            your_story_url=story_url(authored) if authored else "",
        )


def _name_contact(trust: Organisation) -> str:
    with tenant_context(trust):
        admin = User.objects.filter(role=Role.ADMINISTRATOR).order_by("pk").first()
        if admin is not None and not Organisation.objects.get(pk=trust.pk).pals_details:
            set_pals_details(trust, PALS_DETAILS, actor=admin)
        contact = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
        if contact is not None and admin is not None and not contact.is_safeguarding_contact:
            set_safeguarding_contact(contact, True, actor=admin)
        return contact.email if contact else ""


def _listing(listings: list[ServiceListing], words: str) -> list[ServiceListing]:
    return [next((x for x in listings if words in x.name), listings[0])]


def _seed_concern(listings: list[ServiceListing], moderator: User) -> None:
    submission = submit_story(
        StoryFromAuthor(
            title="Dad is frightened at night",
            what_was_good="The day staff are patient with him and always say hello.",
            what_could_be_improved=(
                "Dad told me one of the night carers hits him when nobody is looking, and "
                "that he is scared to press the buzzer. He has bruises on his arm he cannot "
                "explain."
            ),
            how_it_felt="Sick with worry. I don't know who to tell.",
            author_role=AuthorRole.RELATIVE,
            author_age_group=AgeGroup.AGE_45_54,
            nickname="Worried daughter",
            email="worried.daughter@example.com",
            postcode="",
            route=SubmissionRoute.WEB,
            listings=_listing(listings, "Ward 12"),
        )
    )
    raise_concern(
        submission.pk,
        moderator=moderator,
        category=ConcernCategory.ADULT_AT_RISK,
        note=CONCERN_NOTE,
    )


def _seed_withdrawal(listings: list[ServiceListing], moderator: User) -> None:
    submission = submit_story(
        StoryFromAuthor(
            title=WITHDRAWN_TITLE,
            what_was_good="The play specialist kept my son calm before his operation.",
            what_could_be_improved="We waited six hours for a bed after surgery.",
            how_it_felt="Exhausted but grateful.",
            author_role=AuthorRole.RELATIVE,
            author_age_group=AgeGroup.AGE_35_44,
            nickname="",
            email="changed.my.mind@example.com",
            postcode="",
            route=SubmissionRoute.WEB,
            listings=_listing(listings, "Children"),
        )
    )
    chosen = _listing(listings, "Children")
    published = publish_submission(
        submission.pk,
        moderator=moderator,
        decision=Decision(
            criticality=Criticality.MILDLY_CRITICAL,
            tag_keys=["what was good:kind staff"],
            listings=chosen,
        ),
    )
    # Answered before it was withdrawn, so its address says where a response stood.
    organisation = chosen[0].organisation
    with tenant_context(organisation):
        responder = User.objects.filter(role=Role.RESPONDER).order_by("pk").first()
        if responder is not None:
            publish_response(
                Story.objects.get(public_id=published.public_story.pk),
                Draft(body=WITHDRAWN_REPLY),
                responder=responder,
                written_by=responder,
            )
    asked = ask_to_withdraw(
        Submission.objects.get(pk=submission.pk),
        reason="I worry the ward will know it was me.",
    )
    withdraw_story(submission.pk, moderator=moderator, author_request_id=asked.pk)
