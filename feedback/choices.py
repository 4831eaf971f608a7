"""The choices stories are described in (criticality, author role, progress, tag group and
the rest), shared by the tenant models (feedback/models.py) and the hub's (feedback/hub/)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Criticality(models.TextChoices):
    """Set by a moderator; shown to staff and API subscribers, never on public pages."""

    NOT_CRITICAL = "not critical", "Not critical"
    MINIMALLY_CRITICAL = "minimally critical", "Minimally critical"
    MILDLY_CRITICAL = "mildly critical", "Mildly critical"
    MODERATELY_CRITICAL = "moderately critical", "Moderately critical"
    STRONGLY_CRITICAL = "strongly critical", "Strongly critical"
    SEVERELY_CRITICAL = "severely critical", "Severely critical"

    @property
    def rank(self) -> int:
        return list(Criticality).index(self)


# Not critical, or minimally: the stories counted as positive everywhere (responses' quality
# check, reports, thanks, screens, learned themes).
POSITIVE_CRITICALITIES = (Criticality.NOT_CRITICAL, Criticality.MINIMALLY_CRITICAL)


class AuthorRole(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CARER = "carer", _("Carer")
    RELATIVE = "relative", _("Relative")
    STAFF = "staff", _("Staff member")
    OTHER = "other", _("Other")


class AgeGroup(models.TextChoices):
    UNDER_18 = "under 18", _("Under 18")
    AGE_18_24 = "18-24", _("18 to 24")
    AGE_25_34 = "25-34", _("25 to 34")
    AGE_35_44 = "35-44", _("35 to 44")
    AGE_45_54 = "45-54", _("45 to 54")
    AGE_55_64 = "55-64", _("55 to 64")
    AGE_65_74 = "65-74", _("65 to 74")
    AGE_75_84 = "75-84", _("75 to 84")
    AGE_85_PLUS = "85 or over", _("85 or over")
    NOT_SAID = "not said", _("I'd rather not say")


class SubmissionRoute(models.TextChoices):
    WEB = "web", "Website"
    WIDGET = "widget", "Widget on an organisation's website"
    KIOSK = "kiosk", "Kiosk"
    ASSISTED = "assisted", "Assisted by a volunteer or staff member"
    PHONE = "phone", "Phone"
    PAPER = "paper", "Paper"
    # Told to a moderator or a story taker face to face, who entered it (feedback/entering.py).
    IN_PERSON = "in person", "In person"


# The routes of a story someone else entered for its author (feedback/entering.py).
ENTERED_ROUTES = (SubmissionRoute.PAPER, SubmissionRoute.PHONE, SubmissionRoute.IN_PERSON)


class ConsentGiven(models.TextChoices):
    """How the author of a story entered for them agreed to its publication."""

    SIGNED_PAPER_FORM = "signed the paper form", "They signed the paper form"
    SAID_YES_ON_PHONE = "said yes on the phone", "They said yes on the phone"
    SAID_YES_IN_PERSON = "said yes in person", "They said yes in person"


class Progress(models.TextChoices):
    """How far the organisation has got with a story; only ever moves forward."""

    UNHEARD = "unheard", "Unheard"
    HEARD = "heard", "Heard"
    READ = "read", "Read"
    RESPONDED = "responded", "Responded"
    CHANGED = "changed", "Change planned or made"


class TagGroup(models.TextChoices):
    GOOD = "what was good", "What was good"
    IMPROVE = "what could be improved", "What could be improved"
    FEELINGS = "feelings", "How the author felt"


class Polarity(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NEUTRAL = "neutral", "Neutral"


class ServiceType(models.TextChoices):
    HOSPITAL = "hospital", "Hospital"
    WARD = "ward", "Ward"
    CLINIC = "clinic", "Clinic"
    EMERGENCY_DEPARTMENT = "emergency department", "Emergency department"
    MATERNITY = "maternity", "Maternity service"
    COMMUNITY_TEAM = "community team", "Community team"
    GENERAL_PRACTICE = "general practice", "General practice"
    MENTAL_HEALTH_SERVICE = "mental health service", "Mental health service"
    AMBULANCE = "ambulance service", "Ambulance service"
    HOSPICE = "hospice", "Hospice"
    CARE_HOME = "care home", "Care home"
    OTHER = "other", "Other"


class ChangeStatus(models.TextChoices):
    """What a response says was changed because of the story ("You said, we did")."""

    NONE = "none", _("No change recorded")
    PLANNED = "planned", _("Change planned")
    MADE = "made", _("Change made")
