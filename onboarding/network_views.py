"""Workspace pages for networks (tenants/networks.py, onboarding/network_invitations.py):
a lead starts a network and invites members; an invited organisation answers; a member
changes its consent to comparison or leaves."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from onboarding.forms import AnswerInvitationForm, ConsentForm, NetworkForm, NetworkInviteForm
from onboarding.network_invitations import (
    answer_email_invitation,
    answer_invitation,
    invite_to_network,
    waiting_email_invitations,
    waiting_memberships,
)
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.models import MembershipStatus, Network, NetworkInvitation, NetworkMembership
from tenants.networks import (
    NetworkError,
    create_network,
    leave_network,
    revoke_email_invitation,
    set_benchmarking_consent,
    withdraw_invitation,
)


@role_required(Role.MEMBER)
def networks(request: HttpRequest) -> HttpResponse:
    organisation = request.tenant
    is_admin = request.user.has_role(Role.ADMINISTRATOR)
    led = list(
        organisation.led_networks.prefetch_related("memberships__organisation", "email_invitations")
    )
    memberships = NetworkMembership.objects.filter(
        organisation=organisation, status=MembershipStatus.ACTIVE
    ).select_related("network", "network__lead")
    return render(
        request,
        "onboarding/networks.html",
        {
            "led_networks": [
                (network, NetworkInviteForm(lead=organisation, prefix=f"n{network.pk}"))
                for network in led
            ],
            "memberships": memberships,
            "waiting": waiting_memberships(organisation),
            "waiting_by_email": waiting_email_invitations(organisation) if is_admin else [],
            "network_form": NetworkForm(),
            "answer_form": AnswerInvitationForm(),
            "is_admin": is_admin,
        },
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def start_network(request: HttpRequest) -> HttpResponse:
    form = NetworkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the network a name (at most 200 characters).")
        return redirect("onboarding:networks")
    name = form.cleaned_data["name"].strip()
    if Network.objects.filter(name__iexact=name).exists():
        messages.error(request, f"There is a network called “{name}” already: choose another name.")
        return redirect("onboarding:networks")
    create_network(
        lead=request.tenant,
        name=name,
        description=form.cleaned_data["description"],
        actor=request.user,
    )
    messages.success(request, f"You lead {name}. Invite its members below.")
    return redirect("onboarding:networks")


@require_POST
@role_required(Role.ADMINISTRATOR)
def invite_network_member(request: HttpRequest, pk: int) -> HttpResponse:
    network = get_object_or_404(request.tenant.led_networks, pk=pk)
    form = NetworkInviteForm(request.POST, lead=request.tenant, prefix=f"n{network.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("onboarding:networks")
    try:
        invited = invite_to_network(
            network,
            email=form.cleaned_data["email"],
            organisation=form.cleaned_data["organisation"],
            actor=request.user,
        )
    except NetworkError as exc:
        messages.error(request, str(exc))
    else:
        if isinstance(invited, NetworkMembership):
            messages.success(
                request,
                f"Invited {invited.organisation.name}: its administrators will find the "
                "invitation in their workspace.",
            )
        else:
            messages.success(
                request,
                f"{invited.email} is not on Carevoice yet: we emailed an invitation to join.",
            )
    return redirect("onboarding:networks")


@require_POST
@role_required(Role.ADMINISTRATOR)
def withdraw_network_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead withdraws an unanswered invitation (to an organisation, `kind=m`, or to an
    address, `kind=e`)."""
    try:
        if request.POST.get("kind") == "e":
            invitation = get_object_or_404(NetworkInvitation, pk=pk, network__lead=request.tenant)
            revoke_email_invitation(invitation, actor=request.user)
        else:
            membership = get_object_or_404(NetworkMembership, pk=pk, network__lead=request.tenant)
            withdraw_invitation(membership, actor=request.user)
    except NetworkError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Invitation withdrawn.")
    return redirect("onboarding:networks")


@require_POST
@role_required(Role.ADMINISTRATOR)
def answer_network_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    """The invited organisation accepts (with or without consent to comparison) or declines.
    `kind=e` answers an invitation sent by email before the organisation was matched."""
    form = AnswerInvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose whether to accept or decline.")
        return redirect("onboarding:networks")
    accept = form.cleaned_data["answer"] == "accept"
    consent = form.cleaned_data["benchmarking_consent"]
    try:
        if request.POST.get("kind") == "e":
            invitation = get_object_or_404(waiting_email_invitations(request.tenant), pk=pk)
            membership = answer_email_invitation(
                invitation, accept=accept, benchmarking_consent=consent, actor=request.user
            )
        else:
            membership = get_object_or_404(NetworkMembership, pk=pk, organisation=request.tenant)
            membership = answer_invitation(
                membership, accept=accept, benchmarking_consent=consent, actor=request.user
            )
    except NetworkError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"You joined {membership.network.name}"
            + (" and agreed to be compared." if consent else ", without being compared.")
            if accept
            else f"You declined to join {membership.network.name}.",
        )
    return redirect("onboarding:networks")


@require_POST
@role_required(Role.ADMINISTRATOR)
def change_network_membership(request: HttpRequest, pk: int) -> HttpResponse:
    """A member changes its consent to comparison, or leaves (which withdraws it)."""
    membership = get_object_or_404(
        NetworkMembership, pk=pk, organisation=request.tenant, status=MembershipStatus.ACTIVE
    )
    try:
        if request.POST.get("action") == "leave":
            leave_network(membership, actor=request.user)
            messages.success(
                request,
                f"You left {membership.network.name}; you are no longer compared in it.",
            )
        else:
            form = ConsentForm(request.POST)
            form.is_valid()
            consent = form.cleaned_data.get("benchmarking_consent", False)
            set_benchmarking_consent(membership, consent, actor=request.user)
            messages.success(
                request,
                "You agreed to be compared." if consent else "You are no longer compared.",
            )
    except NetworkError as exc:
        messages.error(request, str(exc))
    return redirect("onboarding:networks")
