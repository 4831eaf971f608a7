"""A moderator's answer to a referred member's request to publish a story under its services
too (feedback/network_discussion.py ask_to_add_services): add them, which writes the
member's copy of the story like any publication, or decline with a note. Either way the
member's administrators and responders are told through the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.hub.models import PublicStory, ReferralDecision, StoryReferral
from feedback.network_discussion import staff_to_alert
from feedback.publishing import PublishingError, add_organisations
from feedback.signals import story_published
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.messages import enqueue_email
from tenants.models import public_url


class ReferralDecisionError(Exception):
    """The request cannot be answered as asked; the message says why."""


def waiting_requests() -> QuerySet[StoryReferral]:
    """Requests to add services that no moderator has answered, oldest first."""
    return (
        StoryReferral.objects.filter(service_request_at__isnull=False, service_decision="")
        .select_related("network__lead", "referred_to", "public_story")
        .prefetch_related("requested_services")
        .order_by("service_request_at", "pk")
    )


def recently_answered(limit: int = 20) -> QuerySet[StoryReferral]:
    return (
        StoryReferral.objects.exclude(service_decision="")
        .select_related("referred_to", "public_story")
        .order_by("-service_decided_at", "-pk")[:limit]
    )


def _waiting(referral_id: int) -> StoryReferral:
    referral = (
        StoryReferral.objects.select_for_update(of=("self",))
        .select_related("referred_to", "public_story", "network__lead")
        .filter(pk=referral_id)
        .first()
    )
    if referral is None or referral.service_request_at is None:
        raise ReferralDecisionError("There is no such request.")
    if referral.service_decision:
        raise ReferralDecisionError("A moderator has answered this request already.")
    return referral


def add_referred_services(
    referral_id: int,
    *,
    moderator: User,
    note: str = "",
    request=None,  # noqa: ANN001
) -> StoryReferral:
    """Publish the story under the services the referred member asked for (still active and
    still its own), in one transaction with the answer and its audit row."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        referral = _waiting(referral_id)
        listings = [
            listing
            for listing in referral.requested_services.select_related("organisation")
            if listing.organisation_id == referral.referred_to_id and listing.is_active
        ]
        if not listings:
            raise ReferralDecisionError(
                "None of the services asked for is still listed: decline it with a note."
            )
        public = PublicStory.objects.select_for_update().get(pk=referral.public_story_id)
        try:
            written = add_organisations(public, listings)
        except PublishingError as exc:
            raise ReferralDecisionError(str(exc)) from exc
        _answer(referral, ReferralDecision.ADDED, moderator, note)
        record_audit(
            "moderation.referral_services_added",
            actor=moderator,
            target=referral,
            summary=f"Published story {public.pk} under {len(listings)} service(s) of "
            f"{referral.referred_to.name}",
            detail={"services": [listing.pk for listing in listings]},
            request=request,
        )
        _tell_member(referral)
        transaction.on_commit(
            lambda: story_published.send(
                sender=PublicStory, public_story_id=public.pk, stories=written
            )
        )
    return referral


def decline_referred_services(
    referral_id: int,
    *,
    moderator: User,
    note: str,
    request=None,  # noqa: ANN001
) -> StoryReferral:
    note = note.strip()
    if not note:
        raise ReferralDecisionError("Say why, for the member: the note is required.")
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        referral = _waiting(referral_id)
        _answer(referral, ReferralDecision.DECLINED, moderator, note)
        record_audit(
            "moderation.referral_services_declined",
            actor=moderator,
            target=referral,
            summary=f"Declined to add {referral.referred_to.name}'s services to story "
            f"{referral.public_story_id}",
            request=request,
        )
        _tell_member(referral)
    return referral


def _answer(referral: StoryReferral, decision: str, moderator: User, note: str) -> None:
    referral.service_decision = decision
    referral.service_decided_at = timezone.now()
    referral.service_decided_by_name = moderator.full_name or "A Carevoice moderator"
    referral.service_decision_note = note.strip()[:2000]
    referral.save(
        update_fields=[
            "service_decision",
            "service_decided_at",
            "service_decided_by_name",
            "service_decision_note",
        ]
    )


def _tell_member(referral: StoryReferral) -> None:
    member = referral.referred_to
    context = {
        "referral": referral,
        "added": referral.service_decision == ReferralDecision.ADDED,
        "url": member.workspace_url(f"/network/referrals/{referral.pk}/"),
        "story_url": public_url(settings.BASE_DOMAIN, f"/stories/{referral.public_story_id}/"),
    }
    text_body = render_to_string("feedback/email/network_referral_decided.txt", context)
    subject = (
        f"Story {referral.public_story_id} is now published under your services"
        if context["added"]
        else f"The moderators declined to add your services to story {referral.public_story_id}"
    )
    for account_id, address in staff_to_alert(member):
        enqueue_email(
            kind="feedback.network_referral_decided",
            key=f"feedback.network_referral_decided:{referral.pk}:{account_id}",
            recipient=address,
            subject=subject,
            text_body=text_body,
            organisation=member,
        )
