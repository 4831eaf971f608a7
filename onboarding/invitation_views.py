"""Workspace pages for inviting staff (onboarding/invitations.py): administrators send,
resend and revoke invitations; the person invited follows the emailed link to make their
account."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from feedback.models import Service
from feedback.service_limits import managed_services, may_manage_limits
from onboarding.forms import AcceptInvitationForm, InvitationForm
from onboarding.invitations import (
    InvitationError,
    accept_invitation,
    check_new_password,
    follow_link,
    invitations_seen_by,
    invite_staff,
    open_invitations,
    resend_invitation,
    revoke_invitation,
)
from onboarding.models import Invitation
from tenants.accounts.access import role_required
from tenants.accounts.models import Role, User
from tenants.gate import SeatLimitReached, seat_limit


def _may_invite(request: HttpRequest) -> None:
    """Administrators who see every service, and service administrators (within theirs)."""
    if not may_manage_limits(request.user):
        raise PermissionDenied("Only administrators and service administrators invite staff.")


@role_required(Role.MEMBER)
def staff_invitations(request: HttpRequest) -> HttpResponse:
    _may_invite(request)
    managed = managed_services(request.user)
    form = InvitationForm(request.POST or None, managed=managed)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invite_staff(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                services=[s.pk for s in form.cleaned_data["services"]],
                request=request,
            )
        except (InvitationError, SeatLimitReached) as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("onboarding:staff_invitations")
    return render(
        request,
        "onboarding/staff_invitations.html",
        {
            "form": form,
            "invitations": _with_services(
                invitations_seen_by(request.user).select_related("invited_by")[:100]
            ),
            "service_administrator": managed is not None,
            "active_staff": User.objects.filter(is_active=True).count(),
            "open_count": open_invitations().count(),
            "seat_limit": seat_limit(request.tenant),
        },
        status=400 if form.errors else 200,
    )


def _with_services(invitations: Iterable[Invitation]) -> list[Invitation]:
    """Each with `service_list`: the names of the services it limits the account to."""
    names = dict(Service.objects.values_list("pk", "name"))
    found = list(invitations)
    for invitation in found:
        invitation.service_list = [names[pk] for pk in invitation.limited_to or [] if pk in names]
    return found


@require_POST
@role_required(Role.MEMBER)
def resend_staff_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    _may_invite(request)
    invitation = get_object_or_404(invitations_seen_by(request.user), pk=pk)
    try:
        resend_invitation(invitation, actor=request.user, request=request)
    except (InvitationError, SeatLimitReached) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Sent a new link to {invitation.email}; the old one is void.")
    return redirect("onboarding:staff_invitations")


@require_POST
@role_required(Role.MEMBER)
def revoke_staff_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    _may_invite(request)
    invitation = get_object_or_404(invitations_seen_by(request.user), pk=pk)
    try:
        revoke_invitation(invitation, actor=request.user, request=request)
    except InvitationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation for {invitation.email} no longer works.")
    return redirect("onboarding:staff_invitations")


PROBLEMS = {
    "invalid": (
        404,
        "This invitation link is not valid here",
        "Check that you used the whole link from the email, on the workspace it was sent for.",
    ),
    "replaced": (
        410,
        "This invitation link has been replaced",
        "A newer invitation was sent to you: use the link in the most recent email.",
    ),
    "expired": (
        410,
        "This invitation has expired",
        "Invitation links work for seven days. Ask "
        "an administrator of the workspace to send it again.",
    ),
    "revoked": (
        410,
        "This invitation was withdrawn",
        "An administrator withdrew it. Ask them if you still need an account.",
    ),
    "used": (
        410,
        "This invitation has been used already",
        "The account it made can sign in. If that was not you, tell the workspace's administrator.",
    ),
}


@never_cache
def accept_staff_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Public: anyone with the link may open it; it works only on its own workspace."""
    organisation = request.tenant
    followed = follow_link(token, organisation)
    if not followed.can_accept:
        status, title, advice = PROBLEMS[followed.problem]
        return render(
            request,
            "onboarding/invitation_problem.html",
            {"title": title, "advice": advice, "problem": followed.problem},
            status=status,
        )
    invitation = followed.invitation
    form = AcceptInvitationForm(
        request.POST or None,
        check_password=lambda name, password: check_new_password(invitation, name, password),
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = accept_invitation(
                invitation,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
                request=request,
            )
        except SeatLimitReached:
            form.add_error(
                None,
                "The workspace has no free staff account on its plan just now. Ask its "
                "administrator to make room, then follow this link again.",
            )
        except InvitationError as exc:
            form.add_error(None, str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {organisation.name}'s workspace.")
            return redirect("workspace:home")
    return render(
        request,
        "onboarding/accept_invitation.html",
        {"invitation": invitation, "form": form},
        status=400 if form.errors else 200,
    )
