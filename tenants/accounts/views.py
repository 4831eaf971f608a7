"""Sign-in, sign-out and passwords, on each organisation's own domain."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from tenants.accounts.forms import (
    RATE_LIMITED,
    ProfileForm,
    RateLimitedLoginForm,
    RateLimitedPasswordResetForm,
)
from tenants.audit.recording import record_audit


class LoginView(auth_views.LoginView):
    form_class = RateLimitedLoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: RateLimitedLoginForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.is_rate_limited:
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


class PasswordResetView(auth_views.PasswordResetView):
    form_class = RateLimitedPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    html_email_template_name = "accounts/email/password_reset.html"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_invalid(self, form: RateLimitedPasswordResetForm) -> HttpResponse:
        response = super().form_invalid(form)
        if any(e.code == RATE_LIMITED for e in form.errors.as_data().get("__all__", [])):
            response.status_code = 429
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_audit(
            "auth.password_reset",
            actor=form.user,
            summary="Set a new password by email link",
            request=self.request,
        )
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record_audit(
            "auth.password_changed",
            actor=self.request.user,
            summary="Changed their password",
            request=self.request,
        )
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            record_audit(
                "staff.profile_changed",
                actor=request.user,
                target=request.user,
                summary="Changed their public profile",
                request=request,
            )
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(
        request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200
    )
