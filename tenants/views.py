"""The workspace pages every organisation has: home, staff, audit log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.accounts.access import role_required
from tenants.accounts.forms import (
    RoleForm,
    SafeguardingContactForm,
    SafeguardingHoursForm,
    SecondFactorRequirementForm,
    StoryTakerForm,
)
from tenants.accounts.models import Role, User
from tenants.accounts.second_factor import (
    SecondFactorError,
    has_second_factor,
    reset_second_factor,
    set_second_factor_requirement,
)
from tenants.audit.models import AuditEvent
from tenants.models import MembershipStatus, NetworkMembership
from tenants.staff import (
    StaffError,
    change_role,
    set_active,
    set_safeguarding_contact,
    set_safeguarding_escalate_hours,
    set_story_taker,
)


@role_required(Role.MEMBER)
def home(request: HttpRequest) -> HttpResponse:
    organisation = request.tenant
    memberships = (
        NetworkMembership.objects.filter(organisation=organisation)
        .exclude(status=MembershipStatus.LEFT)
        .select_related("network", "network__lead")
    )
    led = organisation.led_networks.prefetch_related("memberships__organisation")
    return render(
        request,
        "tenants/home.html",
        {"memberships": memberships, "led_networks": led},
    )


@role_required(Role.ADMINISTRATOR)
def staff_list(
    request: HttpRequest, hours_form: SafeguardingHoursForm | None = None, status: int = 200
) -> HttpResponse:
    staff = User.objects.annotate(
        has_second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    ).order_by("-is_active", "full_name")
    requirement = SecondFactorRequirementForm(
        initial={"required": request.tenant.require_second_factor}
    )
    return render(
        request,
        "tenants/staff_list.html",
        {
            "staff": staff,
            "roles": Role,
            "requirement": requirement,
            "hours_form": hours_form
            or SafeguardingHoursForm(initial={"hours": request.tenant.safeguarding_escalate_hours}),
        },
        status=status,
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_safeguarding_hours(request: HttpRequest) -> HttpResponse:
    form = SafeguardingHoursForm(request.POST)
    if form.is_valid():
        try:
            set_safeguarding_escalate_hours(
                request.tenant, form.cleaned_data["hours"], actor=request.user, request=request
            )
        except StaffError as exc:
            form.add_error("hours", str(exc))
    if form.errors:
        return staff_list(request, hours_form=form, status=400)
    hours = form.cleaned_data["hours"]
    messages.success(
        request,
        f"Safeguarding concerns raised from now on escalate after {hours} "
        f"hour{'s' if hours != 1 else ''} without acknowledgement.",
    )
    return redirect("workspace:staff_list")


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_second_factor_requirement(request: HttpRequest) -> HttpResponse:
    form = SecondFactorRequirementForm(request.POST)
    form.is_valid()  # a checkbox: absent or anything means a plain yes or no
    required = bool(form.cleaned_data.get("required"))
    set_second_factor_requirement(request.tenant, required, actor=request.user, request=request)
    messages.success(
        request,
        "All staff now need a second factor: each sets one up at their next sign-in."
        if required
        else "Only administrators need a second factor now; others may still set one up.",
    )
    return redirect("workspace:staff_list")


@role_required(Role.ADMINISTRATOR)
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    history = AuditEvent.objects.filter(target_type="accounts.user", target_id=str(member.pk))[:20]
    return render(
        request,
        "tenants/staff_detail.html",
        {
            "member": member,
            "form": RoleForm(user=member),
            "safeguarding_form": SafeguardingContactForm(
                initial={"is_safeguarding_contact": member.is_safeguarding_contact}
            ),
            "story_taker_form": StoryTakerForm(initial={"is_story_taker": member.is_story_taker}),
            "history": history,
            "has_second_factor": has_second_factor(member),
        },
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_reset_second_factor(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    try:
        reset_second_factor(member, actor=request.user, request=request)
    except SecondFactorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{member}'s second factor is reset: they set up a new one at next sign-in."
        )
    return redirect("workspace:staff_detail", pk=member.pk)


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_change_role(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    form = RoleForm(request.POST, user=member)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles listed.")
        return redirect("workspace:staff_detail", pk=member.pk)
    try:
        change_role(member, form.cleaned_data["role"], actor=request.user, request=request)
    except StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{member} is now {Role(form.cleaned_data['role']).label.lower()}."
        )
    return redirect("workspace:staff_detail", pk=member.pk)


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_safeguarding_contact(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    form = SafeguardingContactForm(request.POST)
    form.is_valid()  # a checkbox: absent or anything means a plain yes or no
    is_contact = bool(form.cleaned_data.get("is_safeguarding_contact"))
    try:
        set_safeguarding_contact(member, is_contact, actor=request.user, request=request)
    except StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{member} is a safeguarding contact."
            if is_contact
            else f"{member} is no longer a safeguarding contact.",
        )
    return redirect("workspace:staff_detail", pk=member.pk)


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_story_taker(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    form = StoryTakerForm(request.POST)
    form.is_valid()  # a checkbox: absent or anything means a plain yes or no
    is_taker = bool(form.cleaned_data.get("is_story_taker"))
    try:
        set_story_taker(member, is_taker, actor=request.user, request=request)
    except StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{member} may enter stories for their authors."
            if is_taker
            else f"{member} may no longer enter stories for their authors.",
        )
    return redirect("workspace:staff_detail", pk=member.pk)


@require_POST
@role_required(Role.ADMINISTRATOR)
def staff_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk)
    activate = request.POST.get("active") == "1"
    try:
        set_active(member, activate, actor=request.user, request=request)
    except StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member} is {'active again' if activate else 'deactivated'}.")
    return redirect("workspace:staff_detail", pk=member.pk)


@role_required(Role.ADMINISTRATOR)
def audit_log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.select_related("actor")
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "tenants/audit_log.html", {"page": page, "action": action})
