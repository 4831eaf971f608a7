"""Workspace pages for onboarding: importing services, inviting staff (and accepting an
invitation), networks and training. Thin: parse, check access, call one operation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from onboarding import service_import
from onboarding.forms import (
    AcceptInvitationForm,
    AnswerInvitationForm,
    ConsentForm,
    InvitationForm,
    NetworkForm,
    NetworkInviteForm,
    ServiceImportForm,
)
from onboarding.invitations import (
    InvitationError,
    accept_invitation,
    check_new_password,
    follow_link,
    invite_staff,
    open_invitations,
    resend_invitation,
    revoke_invitation,
)
from onboarding.models import ImportState, Invitation, ServiceImport
from onboarding.network_invitations import (
    answer_email_invitation,
    answer_invitation,
    invite_to_network,
    waiting_email_invitations,
    waiting_memberships,
)
from onboarding.seats import SeatLimitReached, seat_limit
from onboarding.training.booking import BookingError, book_place, cancel_booking
from onboarding.training.booking import upcoming_sessions as sessions_to_come
from onboarding.training.models import Booking, BookingState
from tenants.accounts.access import role_required
from tenants.accounts.models import Role, User
from tenants.models import MembershipStatus, NetworkInvitation, NetworkMembership
from tenants.networks import (
    NetworkError,
    create_network,
    leave_network,
    revoke_email_invitation,
    set_benchmarking_consent,
    withdraw_invitation,
)

SAMPLE_CSV = "onboarding/services-sample.csv"

# --- service import -----------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def import_services(request: HttpRequest) -> HttpResponse:
    form = ServiceImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = service_import.import_services(
            data=upload.read(), filename=upload.name, actor=request.user, request=request
        )
        if result.pk is not None:
            if result.state == ImportState.DONE:
                messages.success(request, f"Imported {result.filename}.")
            return redirect("onboarding:service_import", pk=result.pk)
    return render(
        request,
        "onboarding/import_services.html",
        {
            "form": form,
            "result": result,
            "columns": service_import.COLUMNS,
            "required": service_import.REQUIRED_COLUMNS,
            "inline_max_rows": service_import.INLINE_MAX_ROWS,
            "max_rows": service_import.MAX_ROWS,
            "sample_url": static(SAMPLE_CSV),
            "service_types": _service_types(),
            "recent": ServiceImport.objects.select_related("created_by")[:10],
        },
        status=400 if form.errors or result is not None else 200,
    )


def _service_types() -> list[str]:
    from feedback.vocabulary import ServiceType

    return list(ServiceType.values)


@role_required(Role.ADMINISTRATOR)
def service_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ServiceImport.objects.select_related("created_by"), pk=pk)
    return render(
        request,
        "onboarding/service_import.html",
        {
            "record": record,
            "done": service_import.rows_done(record),
            "status_url": reverse("onboarding:service_import_status", kwargs={"pk": pk}),
        },
    )


@never_cache
@role_required(Role.ADMINISTRATOR)
def service_import_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the progress bar polls."""
    record = ServiceImport.objects.filter(pk=pk).first()
    if record is None:
        return JsonResponse({"error": "There is no such import."}, status=404)
    done = service_import.rows_done(record)
    return JsonResponse(
        {
            "state": record.state,
            "label": record.get_state_display(),
            "done": done,
            "total": record.total_rows,
            "percent": round(100 * done / record.total_rows) if record.total_rows else 0,
            "finished": record.is_finished,
        }
    )


# --- staff invitations ----------------------------------------------------------------------


@role_required(Role.ADMINISTRATOR)
def staff_invitations(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invite_staff(
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
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
            "invitations": Invitation.objects.select_related("invited_by")[:100],
            "active_staff": User.objects.filter(is_active=True).count(),
            "open_count": open_invitations().count(),
            "seat_limit": seat_limit(request.tenant),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def resend_staff_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    try:
        resend_invitation(invitation, actor=request.user, request=request)
    except (InvitationError, SeatLimitReached) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Sent a new link to {invitation.email}; the old one is void.")
    return redirect("onboarding:staff_invitations")


@require_POST
@role_required(Role.ADMINISTRATOR)
def revoke_staff_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
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


# --- networks -------------------------------------------------------------------------------


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
    from tenants.models import Network

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


# --- training -------------------------------------------------------------------------------


@role_required(Role.MEMBER)
def training(request: HttpRequest) -> HttpResponse:
    mine = {
        b.session_id: b
        for b in Booking.objects.filter(
            organisation=request.tenant, email=request.user.email.lower()
        ).exclude(state=BookingState.CANCELLED)
    }
    sessions = [
        (session, mine.get(session.pk), max(0, session.capacity - session.booked))
        for session in sessions_to_come()
    ]
    colleagues = (
        Booking.objects.filter(organisation=request.tenant)
        .exclude(state=BookingState.CANCELLED)
        .exclude(email=request.user.email.lower())
        .select_related("session")
        .order_by("-session__starts_at")[:50]
    )
    return render(
        request,
        "onboarding/training.html",
        {"sessions": sessions, "colleagues": colleagues},
    )


@require_POST
@role_required(Role.MEMBER)
def book_training(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        booking = book_place(
            pk,
            organisation=request.tenant,
            email=request.user.email,
            full_name=request.user.full_name,
            actor=request.user,
            request=request,
        )
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        if booking.state == BookingState.BOOKED:
            messages.success(request, "Your place is booked: the email has a calendar file.")
        else:
            messages.success(
                request,
                "The session is full: you are on the waiting list, and we will email you "
                "if a place comes up.",
            )
    return redirect("onboarding:training")


@require_POST
@role_required(Role.MEMBER)
def cancel_training(request: HttpRequest, pk: int) -> HttpResponse:
    booking = Booking.objects.filter(
        pk=pk, organisation=request.tenant, email=request.user.email.lower()
    ).first()
    if booking is None:
        raise Http404("There is no such booking of yours.")
    try:
        cancel_booking(booking, actor=request.user, request=request)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Cancelled.")
    return redirect("onboarding:training")
