"""Administrators limit staff to some services (feedback/service_limits.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from feedback.models import Service, ServiceLimit
from feedback.service_limits import LimitError, set_limit
from tenants.accounts.access import role_required
from tenants.accounts.models import Role, User


class LimitForm(forms.Form):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Services they may see (the services within each included)",
        help_text="None ticked: every service.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.filter(is_active=True)


@role_required(Role.ADMINISTRATOR)
def limits_page(request: HttpRequest) -> HttpResponse:
    limits = {
        limit.user_id: [s.name for s in limit.services.all()]
        for limit in ServiceLimit.objects.prefetch_related("services")
    }
    staff = User.objects.filter(is_active=True).order_by("full_name", "email")
    return render(
        request,
        "feedback/service_limits/page.html",
        {"staff": [(person, limits.get(person.pk)) for person in staff]},
    )


@role_required(Role.ADMINISTRATOR)
def limit_page(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk, is_active=True)
    current = ServiceLimit.objects.filter(user=person).first()
    initial = {"services": list(current.services.all()) if current else []}
    # An empty post (no service ticked: every service) is still a post.
    form = LimitForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            set_limit(
                person, list(form.cleaned_data["services"]), actor=request.user, request=request
            )
        except LimitError as refused:
            form.add_error("services", str(refused))
        else:
            messages.success(request, f"Saved {person.full_name}'s services.")
            return redirect("feedback:service_limits")
    return render(
        request,
        "feedback/service_limits/person.html",
        {"person": person, "form": form},
        status=400 if form.errors else 200,
    )
