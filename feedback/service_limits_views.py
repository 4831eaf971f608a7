"""Administrators limit staff to some services (feedback/service_limits.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from feedback.models import Service, ServiceLimit
from feedback.service_limits import (
    LimitError,
    managed_services,
    managed_staff,
    may_manage_limits,
    set_limit,
)
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.staff import StaffError, set_active


class LimitForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Services they may see (the services within each included)",
        help_text="None ticked: every service.",
    )
    manages = forms.BooleanField(
        required=False,
        label="Service administrator: manages the staff limited within these services, and "
        "the alert rules about them",
    )

    def __init__(self, *args: object, managed: frozenset[int] | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        services = Service.objects.filter(is_active=True)
        if managed is not None:  # a service administrator: among their own, no more
            services = services.filter(pk__in=managed)
            self.fields["services"].help_text = "Among your own services."
            del self.fields["manages"]
        self.fields["services"].queryset = services


def _may_manage(request: HttpRequest) -> None:
    if not may_manage_limits(request.user):
        raise PermissionDenied("Only administrators and service administrators set limits.")


@role_required(Role.MEMBER)
def limits_page(request: HttpRequest) -> HttpResponse:
    _may_manage(request)
    limits = {
        limit.user_id: [s.name for s in limit.services.all()]
        + (["(service administrator)"] if limit.manages else [])
        for limit in ServiceLimit.objects.prefetch_related("services")
    }
    staff = managed_staff(request.user).order_by("full_name", "email")
    return render(
        request,
        "feedback/service_limits/page.html",
        {"staff": [(person, limits.get(person.pk)) for person in staff]},
    )


@role_required(Role.MEMBER)
def limit_page(request: HttpRequest, pk: int) -> HttpResponse:
    _may_manage(request)
    person = get_object_or_404(managed_staff(request.user), pk=pk)
    current = ServiceLimit.objects.filter(user=person).first()
    initial = {
        "services": list(current.services.all()) if current else [],
        "manages": bool(current and current.manages),
    }
    # An empty post (no service ticked: every service) is still a post.
    form = LimitForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        managed=managed_services(request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            set_limit(
                person,
                list(form.cleaned_data["services"]),
                actor=request.user,
                manages=form.cleaned_data.get("manages", False),
                request=request,
            )
        except LimitError as refused:
            form.add_error("services", str(refused))
        else:
            messages.success(request, f"Saved {person.full_name}'s services.")
            return redirect("feedback:service_limits")
    return render(
        request,
        "feedback/service_limits/person.html",
        {"person": person, "form": form, "self": person.pk == request.user.pk},
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.MEMBER)
def switch_account(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch off (or back on) the account of someone whose services `request.user`
    manages: a service administrator's way to let a leaver go, as the Staff page is an
    administrator's. Never their own account."""
    _may_manage(request)
    person = get_object_or_404(managed_staff(request.user).exclude(pk=request.user.pk), pk=pk)
    turn_on = request.POST.get("active") == "yes"
    try:
        set_active(person, turn_on, actor=request.user, request=request)
    except StaffError as refused:
        messages.error(request, str(refused))
    else:
        state = "back on" if turn_on else "off"
        messages.success(request, f"{person.full_name}'s account is {state}.")
    return redirect("feedback:service_limit", pk=person.pk)
