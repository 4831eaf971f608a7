"""The moderators' page for network referrals (feedback/referral_moderation.py), on the hub."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from feedback import referral_moderation
from feedback.moderation_views import moderator_required
from feedback.referral_moderation import ReferralDecisionError

ACTIONS = {"add", "decline"}


def _page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "hub/moderation/referrals.html",
        {
            "waiting": list(referral_moderation.waiting_requests()),
            "answered": list(referral_moderation.recently_answered()),
        },
        status=status,
    )


@require_GET
@moderator_required
def referrals(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@moderator_required
def referral(request: HttpRequest, pk: int) -> HttpResponse:
    action, note = request.POST.get("action", ""), request.POST.get("note", "")[:2000]
    if action not in ACTIONS:
        messages.error(request, "Choose to publish under the services, or to decline.")
        return _page(request, status=400)
    try:
        if action == "add":
            done = referral_moderation.add_referred_services(
                pk, moderator=request.user, note=note, request=request
            )
            messages.success(
                request,
                f"Story {done.public_story_id} is published under "
                f"{done.referred_to.name}'s services; they are told.",
            )
        else:
            done = referral_moderation.decline_referred_services(
                pk, moderator=request.user, note=note, request=request
            )
            messages.success(request, f"Declined; {done.referred_to.name} is told.")
    except ReferralDecisionError as exc:
        messages.error(request, str(exc))
        return _page(request, status=400)
    return redirect("hub:moderation_referrals")
