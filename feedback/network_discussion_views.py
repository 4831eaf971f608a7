"""Workspace pages of the network's shared discussion (feedback/network_discussion.py): the
lead's page per member story, the member's replies from its own story page, and the
stories a lead referred to a member."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from feedback.hub.models import ServiceListing
from feedback.models import Story
from feedback.network_discussion import (
    DiscussionError,
    ask_to_add_services,
    lead_threads,
    member_threads,
    refer_story,
    referral_for,
    referral_targets,
    write_note,
)
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability


def _pick(threads: list, request: HttpRequest):  # noqa: ANN202
    """The thread a form names by its network and member, among those the side may see."""
    network_id, member_id = request.POST.get("network", ""), request.POST.get("member", "")
    return next(
        (t for t in threads if str(t.network.pk) == network_id and str(t.member.pk) == member_id),
        None,
    )


@requires_capability(Capability.NETWORK_COMPARISON)
@require_http_methods(["GET", "POST"])
@role_required(Role.MEMBER)
def lead_discussion(request: HttpRequest, public_id: int) -> HttpResponse:
    """The lead's page for one member story: a thread per network and member, and referral."""
    lead = request.tenant
    threads = lead_threads(lead, public_id)
    if not threads:
        raise Http404("No discussion here: the story is not one of your network's.")
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "refer":
                if not request.user.has_role(Role.RESPONDER):
                    raise DiscussionError("Referring a story needs the responder role.")
                targets = {str(m.pk): m for m in referral_targets(lead, public_id)}
                membership = targets.get(request.POST.get("membership", ""))
                if membership is None:
                    raise DiscussionError("Choose a member to refer it to.")
                refer_story(
                    lead=lead,
                    public_story_id=public_id,
                    membership=membership,
                    referrer=request.user,
                    note=request.POST.get("text", ""),
                    request=request,
                )
                messages.success(request, f"Referred to {membership.organisation.name}.")
            else:
                thread = _pick(threads, request)
                if thread is None:
                    raise DiscussionError("Choose the discussion to write in.")
                write_note(
                    network=thread.network,
                    public_story_id=public_id,
                    member=thread.member,
                    writer_organisation=lead,
                    writer=request.user,
                    text=request.POST.get("text", ""),
                    request=request,
                )
                messages.success(request, f"Your note is in. {thread.member.name} is told.")
            return redirect("feedback:network_discussion", public_id=public_id)
        except DiscussionError as exc:
            messages.error(request, str(exc))
            status = 400
    return render(
        request,
        "feedback/network/discussion.html",
        {
            "story": threads[0].public_story,
            "threads": threads,
            "targets": referral_targets(lead, public_id),
            "can_refer": request.user.has_role(Role.RESPONDER),
        },
        status=status,
    )


@require_POST
@role_required(Role.MEMBER)
def member_note(request: HttpRequest, pk: int) -> HttpResponse:
    """A member's staff write in a discussion of their own story (its story page's panel)."""
    story = get_object_or_404(Story, pk=pk)
    threads = [t for t in member_threads(request.tenant, story.public_id) if t.is_open]
    thread = _pick(threads, request)
    back = reverse("feedback:story", kwargs={"pk": story.pk}) + "#network-discussion"
    if thread is None:
        messages.error(request, "That discussion is closed or is not yours.")
        return redirect(back)
    try:
        write_note(
            network=thread.network,
            public_story_id=story.public_id,
            member=request.tenant,
            writer_organisation=request.tenant,
            writer=request.user,
            text=request.POST.get("text", ""),
            request=request,
        )
        messages.success(request, f"Your note is in. {thread.network.lead.name} is told.")
    except DiscussionError as exc:
        messages.error(request, str(exc))
    return redirect(back)


@require_http_methods(["GET", "POST"])
@role_required(Role.MEMBER)
def referral(request: HttpRequest, pk: int) -> HttpResponse:
    """A story a lead referred to this organisation, its note, and the ask to moderators."""
    found = referral_for(request.tenant, pk)
    if found is None:
        raise Http404("No such referral.")
    services = ServiceListing.objects.filter(organisation=request.tenant, is_active=True)
    status = 200
    if request.method == "POST":
        try:
            if not request.user.has_role(Role.RESPONDER):
                raise DiscussionError("Asking the moderators needs the responder role.")
            ids = [int(v) for v in request.POST.getlist("services") if v.isdigit()]
            ask_to_add_services(
                found,
                organisation=request.tenant,
                services=list(services.filter(pk__in=ids)),
                asker=request.user,
                request=request,
            )
            messages.success(
                request, "Asked. A moderator decides, and the story says so when done."
            )
            return redirect("feedback:network_referral", pk=pk)
        except DiscussionError as exc:
            messages.error(request, str(exc))
            status = 400
    return render(
        request,
        "feedback/network/referral.html",
        {
            "referral": found,
            "story": found.public_story,
            "services": services,
            "can_ask": request.user.has_role(Role.RESPONDER),
        },
        status=status,
    )
