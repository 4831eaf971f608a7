"""Campaign codes: each leaflet, poster, paper form and waiting-room screen carries one in
its QR link (`/tell/?service=<listing>&campaign=<code>`), so an organisation can count the
stories each one brought in.

A code is 8 characters of base32 (40 random bits): not a secret, since it is printed on
paper, but not guessable in bulk either. Unknown or malformed codes are ignored.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from feedback.hub.models import ServiceListing, Submission, SubmissionState
from feedback.reach.models import Campaign, CampaignKind, SubmissionCampaign
from tenants.models import Organisation, public_url
from tenants.schemas import public_schema

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_LENGTH = 8
CODE_PATTERN = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def campaign_for(
    organisation: Organisation,
    service: ServiceListing | None,
    kind: str,
    *,
    created_by: str,
) -> Campaign:
    """The campaign for this organisation, service (None: the whole organisation) and kind:
    made the first time, the same one every time after."""
    if service is not None and service.organisation_id != organisation.pk:
        raise ValueError("That service is not one of the organisation's.")
    CampaignKind(kind)  # an unknown kind is a programming error
    with public_schema():
        lookup = {"organisation": organisation, "service": service, "kind": kind}
        existing = Campaign.objects.filter(**lookup).first()
        if existing is not None:
            return existing
        for _ in range(5):
            try:
                with transaction.atomic():
                    return Campaign.objects.create(
                        **lookup, code=new_code(), created_by=created_by[:254] or "system"
                    )
            except IntegrityError:
                # Someone made it at the same moment (or, vanishingly rarely, the code was
                # taken): take theirs, or try another code.
                existing = Campaign.objects.filter(**lookup).first()
                if existing is not None:
                    return existing
        raise RuntimeError("Could not make a campaign code")


def campaign_by_code(code: object) -> Campaign | None:
    """The campaign with this code, if it is well formed, known and its organisation is
    active; otherwise None (never an error: a mistyped code is just not counted)."""
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    if not CODE_PATTERN.fullmatch(code):
        return None
    with public_schema():
        return (
            Campaign.objects.select_related("organisation", "service")
            .filter(code=code, organisation__in=Organisation.objects.ready())
            .first()
        )


def record_submission_campaign(submission: Submission, campaign: Campaign) -> bool:
    """Note that `submission` came from `campaign`, if the story is about one of the
    campaign organisation's services (a code carried over to another organisation's story
    counts for nobody). Call it in the transaction that made the submission."""
    with public_schema():
        about_it = submission.services.filter(organisation_id=campaign.organisation_id).exists()
        if not about_it:
            return False
        SubmissionCampaign.objects.get_or_create(
            submission=submission, defaults={"campaign": campaign}
        )
    return True


def tell_url(campaign: Campaign) -> str:
    """The hub story form, with the campaign's service chosen and its code carried."""
    query = {}
    if campaign.service_id is not None:
        query["service"] = campaign.service_id
    query["campaign"] = campaign.code
    return public_url(settings.BASE_DOMAIN, "/tell/?" + urlencode(query))


@dataclass(frozen=True)
class CampaignCount:
    campaign: Campaign
    received: int
    published: int


def campaign_counts(
    organisation_id: int, *, since: datetime | None = None, until: datetime | None = None
) -> list[CampaignCount]:
    """Stories received (and of those, published) in the period, per campaign of the
    organisation's; counted from hub tables by organisation id."""
    period = Q()
    if since is not None:
        period &= Q(submissions__submission__created_at__gte=since)
    if until is not None:
        period &= Q(submissions__submission__created_at__lt=until)
    with public_schema():
        rows = (
            Campaign.objects.filter(organisation_id=organisation_id)
            .select_related("service")
            .annotate(
                received=Count("submissions", filter=period),
                published=Count(
                    "submissions",
                    filter=period & Q(submissions__submission__state=SubmissionState.PUBLISHED),
                ),
            )
            .order_by("kind", "service__name", "pk")
        )
        return [CampaignCount(row, row.received, row.published) for row in rows]
