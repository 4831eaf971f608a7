"""Stories entered for someone, in the demo: the first provider's Patient Experience Officer
is a story taker, and has entered a story that came on the freepost paper form, with a scan of
the form (a small PDF drawn here), now waiting in the hub's moderation queue. Made through the
product's own operations, once: seeding the demo again adds nothing.

Registered as the demo's "feedback.entering" step (feedback/apps.py), after "feedback"."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context, tenant_context

from feedback.choices import AgeGroup, AuthorRole, ConsentGiven, SubmissionRoute
from feedback.entering import EnteredStory, enter_story
from feedback.hub.models import ServiceListing, Submission
from tenants.accounts.models import Role, User
from tenants.models import Organisation, OrganisationKind, public_url
from tenants.staff import set_story_taker

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext

TITLE = "The porters who took me to X-ray"
GOOD = (
    "The porter who took me down to X-ray chatted the whole way and made me feel at ease. "
    "When I was cold he fetched a blanket without me asking."
)
IMPROVE = "I waited nearly two hours on the trolley in the corridor before anyone came."
FELT = "Nervous at first, then looked after."


@dataclass(frozen=True)
class EnteringDemo:
    organisation: Organisation | None
    story_taker: str
    submission_id: int | None


def paper_form_scan() -> bytes:
    """A small PDF standing in for a scanned paper form: the three prompts, handwritten."""
    from reportlab.lib.pagesizes import A5
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A5)
    page.setTitle("Carevoice paper form (scan)")
    page.setFont("Helvetica-Bold", 14)
    page.drawString(36, 540, "Tell us about your care")
    y = 505
    for prompt, answer in (
        ("What was good?", GOOD),
        ("What could have been improved?", IMPROVE),
        ("How did it make you feel?", FELT),
    ):
        page.setFont("Helvetica-Bold", 10)
        page.drawString(36, y, prompt)
        page.setFont("Times-Italic", 10)
        text = page.beginText(40, y - 16)
        line = ""
        for word in answer.split():
            if len(line) + len(word) > 60:
                text.textLine(line)
                line = ""
            line = f"{line} {word}".strip()
        text.textLine(line)
        page.drawText(text)
        y -= 110
    page.setFont("Helvetica", 9)
    page.drawString(36, 60, "[x] I agree my story may be published without my name.  Signed: ....")
    page.save()
    return buffer.getvalue()


def seed_entering(organisations: list[Organisation]) -> EnteringDemo:
    provider = next((o for o in organisations if o.kind != OrganisationKind.CCG_ICB), None)
    if provider is None:
        return EnteringDemo(None, "", None)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        existing = Submission.objects.filter(entered_by_organisation=provider, title=TITLE).first()
        listing = (
            ServiceListing.objects.filter(organisation=provider, is_active=True)
            .order_by("site_name", "name")
            .first()
        )
    with tenant_context(provider):
        taker = User.objects.filter(email__startswith="member@").first()
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
        if taker is None or admin is None or listing is None:
            return EnteringDemo(provider, "", None)
        taker = set_story_taker(taker, True, actor=admin)
        if existing is not None:
            return EnteringDemo(provider, taker.email, existing.pk)
        submission = enter_story(
            EnteredStory(
                title=TITLE,
                what_was_good=GOOD,
                what_could_be_improved=IMPROVE,
                how_it_felt=FELT,
                author_role=AuthorRole.PATIENT,
                author_age_group=AgeGroup.AGE_75_84,
                nickname="",
                route=SubmissionRoute.PAPER,
                consent_given=ConsentGiven.SIGNED_PAPER_FORM,
                consent_confirmed=True,
                listings=[listing],
            ),
            entered_by=taker,
            organisation=provider,
            scan=SimpleUploadedFile("paper-form.pdf", paper_form_scan(), "application/pdf"),
        )
    return EnteringDemo(provider, taker.email, submission.pk)


def seed_entering_step(context: DemoContext) -> EnteringDemo:
    return seed_entering(context.organisations)


def describe_entering(context: DemoContext) -> list[str]:
    demo: EnteringDemo = context.results["feedback.entering"]
    if demo.organisation is None or demo.submission_id is None:
        return []
    return [
        f"\n  Stories entered for someone: {demo.story_taker} is a story taker at "
        f"{demo.organisation.name}, entering paper, phone and in-person stories at "
        f"{demo.organisation.workspace_url('/stories/enter/')}",
        "    a paper story with its scan waits in moderation at "
        f"{_hub_url(f'/moderation/{demo.submission_id}/')}",
    ]


def _hub_url(path: str) -> str:
    return public_url(settings.BASE_DOMAIN, path)
