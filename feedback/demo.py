"""The stories part of the demo: sites and services, two years of published stories, a few
submissions waiting for moderation (with personal details to remove), a moderator and an
API key for the network lead. Everything goes through the product's own operations.

Registered as the demo's "feedback" step (feedback/apps.py); the read API key is listed last,
as "feedback.read_api"."""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.apikeys import KEY_PREFIX, hash_key
from feedback.choices import (
    POSITIVE_CRITICALITIES,
    AgeGroup,
    AuthorRole,
    ChangeStatus,
    Criticality,
    Polarity,
    ServiceType,
    SubmissionRoute,
    TagGroup,
)
from feedback.default_tags import DEFAULT_TAGS, tag_key
from feedback.hub.models import ApiKey, PublicResponse, PublicStory, ServiceListing, Submission
from feedback.models import Response, Service, Story
from feedback.moderation import grant_moderation
from feedback.privacy_demo import PrivacyDemo, seed_privacy_demo
from feedback.publishing import StoryToPublish, import_published_stories
from feedback.rendering import compose_body
from feedback.responding import Draft, ResponseToImport, import_responses
from feedback.sites_and_services import create_site, save_service
from feedback.submissions import StoryFromAuthor, submit_story
from tenants.accounts.models import Role, User
from tenants.demo import email_domain_of
from tenants.demo_steps import DemoContext
from tenants.models import Organisation, public_url

# (site name, site code, [(service name, code, type, parent name or None)])
SITES: dict[str, list[tuple[str, str, list[tuple[str, str, str, str | None]]]]] = {
    "northshire-hospitals": [
        (
            "Northshire General Hospital",
            "R9A01",
            [
                ("Emergency Department", "R9A01ED", ServiceType.EMERGENCY_DEPARTMENT, None),
                ("Cardiology", "R9A01CAR", ServiceType.CLINIC, None),
                ("Ward 7 (Cardiology)", "R9A01W7", ServiceType.WARD, "Cardiology"),
                ("Maternity Unit", "R9A01MAT", ServiceType.MATERNITY, None),
                ("Children's Ward", "R9A01CW", ServiceType.WARD, None),
                ("Ward 12 (Care of the Elderly)", "R9A01W12", ServiceType.WARD, None),
                ("Outpatients", "R9A01OPD", ServiceType.CLINIC, None),
                ("Day Surgery Unit", "R9A01DSU", ServiceType.CLINIC, None),
            ],
        ),
        (
            "Riverside Community Hospital",
            "R9A02",
            [
                ("Minor Injuries Unit", "R9A02MIU", ServiceType.EMERGENCY_DEPARTMENT, None),
                ("Physiotherapy", "R9A02PHY", ServiceType.CLINIC, None),
                ("Ward 2 (Rehabilitation)", "R9A02W2", ServiceType.WARD, None),
            ],
        ),
    ],
    "northshire-mental-health": [
        (
            "Oakwood Unit",
            "R9B01",
            [
                ("Birch Ward (Acute Admissions)", "R9B01BIR", ServiceType.WARD, None),
                ("Willow Ward (Older Adults)", "R9B01WIL", ServiceType.WARD, None),
                ("Crisis Resolution Team", "R9B01CRT", ServiceType.COMMUNITY_TEAM, None),
            ],
        ),
        (
            "Northshire Community Mental Health",
            "R9B02",
            [
                (
                    "Community Mental Health Team North",
                    "R9B02CMN",
                    ServiceType.COMMUNITY_TEAM,
                    None,
                ),
                (
                    "Community Mental Health Team South",
                    "R9B02CMS",
                    ServiceType.COMMUNITY_TEAM,
                    None,
                ),
                ("Talking Therapies", "R9B02TT", ServiceType.MENTAL_HEALTH_SERVICE, None),
                (
                    "Early Intervention in Psychosis",
                    "R9B02EIP",
                    ServiceType.MENTAL_HEALTH_SERVICE,
                    None,
                ),
            ],
        ),
    ],
}

GOOD = [
    "The staff on {service} were kind from the moment we arrived.",
    "Everything was explained clearly and I always knew what was happening next.",
    "The nurses checked on me often, even during the night.",
    "I was seen much more quickly than I expected.",
    "They listened to me and involved me in every decision.",
    "The team made my mum feel safe and looked after.",
    "The food was better than I had been told, and there was always a drink to hand.",
    "My pain was taken seriously and managed well.",
    "The reception staff were patient and helpful when I was confused.",
    "The whole team at {service} treated us with dignity.",
]
IMPROVE = [
    "We waited over four hours before anyone told us what was happening.",
    "Nobody explained my discharge medication, so I went home unsure what to take.",
    "It was very noisy at night and I hardly slept.",
    "My appointment was cancelled twice with no explanation.",
    "Car parking was impossible and expensive.",
    "I felt that one member of staff did not listen to what I was saying.",
    "The toilets on {service} were not clean when I used them.",
    "Test results took weeks and I had to chase them myself.",
    "There did not seem to be enough staff on {service} at weekends.",
    "I was given different information by different people.",
]
FELT_GOOD = [
    "I felt reassured and grateful.",
    "I left feeling cared for.",
    "It made a frightening time much easier.",
    "I am so thankful to everyone involved.",
]
FELT_BAD = [
    "I felt anxious and ignored.",
    "It left me frustrated and upset.",
    "I was scared and nobody seemed to notice.",
    "I felt like a nuisance for asking questions.",
]
TITLES_GOOD = [
    "Thank you to the team",
    "Excellent care",
    "Kind and professional",
    "Made to feel safe",
    "Could not have asked for better",
    "Brilliant staff",
    "A good experience",
    "Well looked after",
]
TITLES_MIXED = [
    "Good care but a long wait",
    "Mixed experience",
    "Kind staff, poor communication",
    "Some things could be better",
    "Great nurses, noisy ward",
]
TITLES_BAD = [
    "Left waiting with no information",
    "Not listened to",
    "Discharge was a mess",
    "Very disappointed",
    "Poor communication",
    "Cancelled again",
]
TAGS = {
    group: [tag_key(name, g) for name, g, _ in DEFAULT_TAGS if g == group]
    for group in TagGroup.values
}
FEELINGS = {
    polarity: [
        tag_key(n, g) for n, g, p in DEFAULT_TAGS if g == TagGroup.FEELINGS and p == polarity
    ]
    for polarity in Polarity.values
}

PENDING = [
    (
        "Dr Patel was wonderful",
        "Dr Patel and Nurse Jo Bloggs on Ward 7 looked after my dad, John Smith (NHS number "
        "943 476 5919), brilliantly.",
        "",
        "Grateful. Call me on 07700 900123 if you want to know more.",
    ),
    (
        "Waited all night",
        "",
        "I arrived at 9pm and was not seen until 6am. My date of birth is 12/03/1956 and "
        "I live at LS1 4AP, so you can look me up.",
        "Exhausted and ignored.",
    ),
    (
        "Great physio",
        "Mr O'Neill in physiotherapy got me walking again. See my blog at "
        "www.example.org/my-knee for the whole story.",
        "",
        "Delighted.",
    ),
    (
        "Birch Ward",
        "The staff were patient with me.",
        "Email me at sam.jones@example.com about the complaint I made; nobody replied.",
        "Let down.",
    ),
]


RESPONDERS = [
    # (local part, name, job title, department, clinician)
    ("tom.okafor", "Dr Tom Okafor", "Consultant", "Medicine", True),
    ("helen.baker", "Helen Baker", "Matron", "Nursing", True),
    ("james.lee", "James Lee", "Patient Experience Lead", "Patient Experience", False),
]
THANKS = [
    "Thank you so much for taking the time to tell us about your care on {service}.",
    "Thank you for your lovely words about {service}; they mean a great deal to the team.",
]
SORRY = [
    "I am so sorry that your experience on {service} fell short of what you should expect.",
    "I am sorry to read about your time with {service}, and thank you for telling us.",
]
SPECIFIC = [
    "I have shared your story with the whole team at their morning huddle.",
    "We have looked at what happened and talked it through with the staff involved.",
    "Your story has been discussed at our ward meeting so that we all learn from it.",
]
CHANGES = [
    "A discharge coordinator now works on the ward every weekday",
    "We now phone patients when an appointment has to move",
    "Night-time checks are now done with dimmed lights and quieter trolleys",
    "Every patient is given a written medication plan before they go home",
    "We have added two more staff to the weekend rota",
]
GENERIC = "Thank you for your feedback. Please contact PALS on 01632 960000."


# Recent serious stories nobody has answered: the demo's missed response targets.
STILL_WAITING = [
    ("Nobody came when I rang the bell", "I rang the call bell for forty minutes at night."),
    ("Sent home too soon", "I was discharged at midnight with no transport and no medication."),
    ("Left in the corridor", "My father spent nine hours on a trolley in the corridor."),
    ("Wrong medication twice", "I was given the wrong tablets twice in one day."),
]


@dataclass(frozen=True)
class FeedbackDemo:
    api_key: str
    stories: int
    pending: int
    responses: int
    privacy: PrivacyDemo
    # The organisations whose services, stories and responses the demo made.
    providers: list[Organisation]


def seed_feedback_demo(organisations: list[Organisation], *, stories: int = 5000) -> FeedbackDemo:
    for organisation in organisations:
        if organisation.slug in SITES:
            _seed_services(organisation)
    with schema_context("public"):
        moderator = User.objects.filter(email="moderator@carevoice.example").first()
        if moderator is not None:
            grant_moderation(moderator)
        providers = [o for o in organisations if o.slug in SITES]
        if not PublicStory.objects.filter(organisations__in=providers).exists():
            _seed_stories(providers, stories)
    for organisation in providers:
        _seed_responses(organisation)
    with schema_context("public"):
        if not Submission.objects.exists():
            _seed_pending(providers)
    privacy = seed_privacy_demo(providers, moderator)
    with schema_context("public"):
        lead = next(o for o in organisations if o.slug not in SITES)
        key = demo_api_key()
        ApiKey.objects.get_or_create(
            key_hash=hash_key(key),
            defaults={
                "organisation": lead,
                "name": "Demo key for analysts",
                "prefix": key[:10],
                "created_by": "seed_demo",
            },
        )
        return FeedbackDemo(
            api_key=key,
            stories=PublicStory.objects.count(),
            pending=Submission.objects.filter(state="pending").count(),
            responses=PublicResponse.objects.count(),
            privacy=privacy,
            providers=providers,
        )


def seed_feedback_step(context: DemoContext) -> FeedbackDemo:
    return seed_feedback_demo(context.organisations, stories=context.stories)


def describe_feedback_demo(context: DemoContext) -> list[str]:
    """What `seed_demo` prints for the stories, and for privacy and safeguarding."""
    demo: FeedbackDemo = context.results["feedback"]
    hub = public_url(settings.BASE_DOMAIN)
    trust = context.organisations[0]
    privacy = demo.privacy
    lines = [
        f"\n  Stories: {demo.stories} published, {demo.responses} responses, "
        f"{demo.pending} waiting for moderation "
        f"at {public_url(settings.BASE_DOMAIN, '/moderation/')}",
        "\n  Privacy and safeguarding:",
        f"    safeguarding concern waiting for acknowledgement at {hub}moderation/safeguarding/"
        f"\n      and in {trust.name}'s workspace at {trust.workspace_url('/safeguarding/')}"
        f"\n      (safeguarding contact: {privacy.contact_email}; it escalates to the "
        "administrators and platform staff if nobody acknowledges it)",
    ]
    if privacy.withdrawn_public_id:
        lines.append(
            f"    a story withdrawn at its author's request: "
            f"{hub}stories/{privacy.withdrawn_public_id}/"
        )
    lines.append(f"    authors' requests to verify: {hub}moderation/requests/")
    if privacy.your_story_url:
        lines.append(f'    one author\'s "Your story" page: {privacy.your_story_url}')
    lines.append(f"    privacy notice: {hub}privacy/")
    return lines


def describe_read_api(context: DemoContext) -> list[str]:
    """The network lead's read API key, ready to try."""
    demo: FeedbackDemo = context.results["feedback"]
    return [
        "\n  Read API (network lead's key):\n"
        f"    curl -H 'Authorization: SUBSCRIPTION_KEY {demo.api_key}' "
        f"'{public_url(settings.BASE_DOMAIN, '/api/v2/opinions?take=5')}'\n"
    ]


def demo_api_key() -> str:
    """The same demo key on every run of this machine's demo, so it can be printed again."""
    digest = hmac.new(settings.SECRET_KEY.encode(), b"carevoice-demo-api-key", hashlib.sha256)
    return KEY_PREFIX + "demo_" + digest.hexdigest()[:32]


def _seed_services(organisation: Organisation) -> None:
    with tenant_context(organisation), transaction.atomic():
        if Service.objects.exists():
            return
        for site_name, site_code, services in SITES[organisation.slug]:
            site = create_site(name=site_name, code=site_code)
            made: dict[str, Service] = {}
            for name, code, kind, parent in services:
                service = Service(site=site, name=name, code=code, type=kind)
                service.parent = made.get(parent) if parent else None
                made[name] = save_service(service)


def _seed_stories(providers: list[Organisation], count: int) -> None:
    rng = random.Random(20261122)
    listings = {
        o.pk: list(ServiceListing.objects.filter(organisation=o).order_by("pk")) for o in providers
    }
    now = timezone.now()
    batch = []
    for _ in range(count):
        organisation = rng.choices(providers, weights=[3, 2][: len(providers)])[0]
        chosen = [rng.choice(listings[organisation.pk])]
        if rng.random() < 0.08:
            other = rng.choice(providers)
            extra = rng.choice(listings[other.pk])
            if extra not in chosen:
                chosen.append(extra)
        # Newer stories are more frequent, as services join and word spreads.
        age_days = 730 * (1 - rng.random() ** 0.7)
        published_at = now - timedelta(days=age_days, minutes=rng.randint(0, 600))
        batch.append(demo_story(rng, chosen, published_at))
    for index, (title, improve) in enumerate(STILL_WAITING):
        story = demo_story(
            rng, [listings[providers[0].pk][index % len(listings[providers[0].pk])]], now
        )
        story.title = title
        story.body = compose_body({"what_could_be_improved": improve, "how_it_felt": "Scared."})
        story.criticality = Criticality.SEVERELY_CRITICAL
        story.published_at = now - timedelta(days=index + 1, hours=3)
        story.submitted_at = story.published_at - timedelta(hours=5)
        batch.append(story)
    import_published_stories(batch)


def demo_story(rng: random.Random, listings: list[ServiceListing], published_at) -> StoryToPublish:  # noqa: ANN001
    mood = rng.choices(["good", "mixed", "bad"], weights=[65, 20, 15])[0]
    service = listings[0].name
    if mood == "good":
        title = rng.choice(TITLES_GOOD)
        good = " ".join(rng.sample(GOOD, 3))
        improve, felt = "", rng.choice(FELT_GOOD)
        criticality = rng.choices(
            [Criticality.NOT_CRITICAL, Criticality.MINIMALLY_CRITICAL], weights=[80, 20]
        )[0]
        tags = rng.sample(TAGS[TagGroup.GOOD], 3) + rng.sample(FEELINGS[Polarity.POSITIVE], 1)
    elif mood == "mixed":
        title = rng.choice(TITLES_MIXED)
        good, improve = rng.choice(GOOD), " ".join(rng.sample(IMPROVE, 2))
        felt = rng.choice(FELT_GOOD + FELT_BAD)
        criticality = rng.choice([Criticality.MILDLY_CRITICAL, Criticality.MODERATELY_CRITICAL])
        tags = rng.sample(TAGS[TagGroup.GOOD], 1) + rng.sample(TAGS[TagGroup.IMPROVE], 2)
    else:
        title = rng.choice(TITLES_BAD)
        good, improve = "", " ".join(rng.sample(IMPROVE, 3))
        felt = rng.choice(FELT_BAD)
        criticality = rng.choices(
            [
                Criticality.MODERATELY_CRITICAL,
                Criticality.STRONGLY_CRITICAL,
                Criticality.SEVERELY_CRITICAL,
            ],
            weights=[40, 45, 15],
        )[0]
        tags = rng.sample(TAGS[TagGroup.IMPROVE], 3) + rng.sample(FEELINGS[Polarity.NEGATIVE], 2)
    body = compose_body(
        {
            "what_was_good": good.format(service=service),
            "what_could_be_improved": improve.format(service=service),
            "how_it_felt": felt,
        }
    )
    route = rng.choices(list(SubmissionRoute), weights=[70, 10, 8, 4, 4, 4, 0])[0]
    return StoryToPublish(
        title=title,
        body=body,
        criticality=criticality,
        author_role=rng.choices(list(AuthorRole), weights=[60, 12, 18, 5, 5])[0],
        author_age_group=rng.choice(list(AgeGroup)),
        submission_route=route,
        assisted_by="Volunteer, patient experience team"
        if route == SubmissionRoute.ASSISTED
        else "",
        submitted_at=published_at - timedelta(hours=rng.randint(2, 72)),
        published_at=published_at,
        listings=listings,
        tag_keys=tags,
    )


def _seed_pending(providers: list[Organisation]) -> None:
    listings = list(ServiceListing.objects.filter(organisation__in=providers).order_by("pk"))
    for index, (title, good, improve, felt) in enumerate(PENDING):
        submit_story(
            StoryFromAuthor(
                title=title,
                what_was_good=good,
                what_could_be_improved=improve,
                how_it_felt=felt,
                author_role=AuthorRole.RELATIVE if index == 0 else AuthorRole.PATIENT,
                author_age_group=AgeGroup.AGE_55_64,
                nickname="",
                email="author@example.com" if index % 2 == 0 else "",
                postcode="LS1 4AP" if index == 1 else "",
                route=SubmissionRoute.WEB,
                listings=[listings[(index * 5) % len(listings)]],
            )
        )


def _with_a_change_made(
    items: list[ResponseToImport], rng: random.Random
) -> list[ResponseToImport]:
    """Every provider of the demo has made at least one change ("You said, we did") in the
    last months: a small demo's dice may give none, so its latest answered critical story's
    reply says one was made."""
    if any(item.draft.change_status == ChangeStatus.MADE for item in items):
        return items
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.story.criticality in POSITIVE_CRITICALITIES:
            continue
        if item.draft.body == GENERIC:
            continue
        change = rng.choice(CHANGES)
        text, _, signed = item.draft.body.rpartition("\n\n")
        made = Draft(f"{text} {change}.\n\n{signed}", ChangeStatus.MADE, change)
        return [*items[:index], replace(item, draft=made), *items[index + 1 :]]
    return items


def _seed_responses(organisation: Organisation) -> None:
    """About two-thirds of the stories answered, by several named responders, after a
    realistic delay; a few generic replies the quality check flags; some changes."""
    rng = random.Random(organisation.pk * 7919)
    with tenant_context(organisation):
        if Response.objects.exists():
            return
        responders = list(User.objects.filter(role__in=[Role.RESPONDER, Role.ADMINISTRATOR]))
        for local, name, title, department, clinician in RESPONDERS:
            email = f"{local}@{email_domain_of(organisation)}"
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email, None, full_name=name, role=Role.RESPONDER
            )
            user.job_title, user.department, user.is_clinician = title, department, clinician
            user.save(update_fields=["job_title", "department", "is_clinician"])
            responders.append(user)
        items = []
        now = timezone.now()
        stories = Story.objects.prefetch_related("services").order_by("published_at", "pk")
        waiting = {title for title, _ in STILL_WAITING}
        for index, story in enumerate(stories):
            if index % 3 == 2 or story.title in waiting:  # two stories in three are answered
                continue
            critical = story.criticality not in (
                Criticality.NOT_CRITICAL,
                Criticality.MINIMALLY_CRITICAL,
            )
            delay = timedelta(hours=rng.uniform(1, 30) if critical else rng.uniform(2, 240))
            published_at = story.published_at + delay
            if published_at > now:
                continue
            responder = rng.choice(responders)
            service = story.services.all()[0].name
            if len(items) % 12 == 5:  # one reply in twelve is the generic kind
                body, status, change = GENERIC, ChangeStatus.NONE, ""
            else:
                opening = rng.choice(SORRY if critical else THANKS).format(service=service)
                body = f"{opening} {rng.choice(SPECIFIC)}"
                status, change = ChangeStatus.NONE, ""
                roll = rng.random()
                if critical and roll < 0.35:
                    status, change = ChangeStatus.PLANNED, rng.choice(CHANGES)
                elif critical and roll < 0.6:
                    status, change = ChangeStatus.MADE, rng.choice(CHANGES)
                if change:
                    body += f" {change}."
                body += f"\n\n{responder.full_name}, {responder.job_title or 'Patient Experience'}"
            items.append(
                ResponseToImport(
                    story=story,
                    responder=responder,
                    draft=Draft(body, status, change),
                    published_at=published_at,
                )
            )
        import_responses(_with_a_change_made(items, rng))
