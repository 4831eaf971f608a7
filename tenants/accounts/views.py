"""Sign-in, sign-out and passwords, on each organisation's own domain."""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from tenants.accounts import sso
from tenants.accounts.forms import (
    RATE_LIMITED,
    CurrentPasswordForm,
    ProfileForm,
    RateLimitedLoginForm,
    RateLimitedPasswordResetForm,
)
from tenants.accounts.models import SignedInSession
from tenants.accounts.photos import PhotoNotStored, photo_stored_or_nothing
from tenants.accounts.signed_in_sessions import (
    SessionError,
    current_keys,
    describe_browser,
    end_sessions,
    live_sessions,
    sign_out_other_sessions,
    sign_out_session,
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

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The organisation's provider, when it signs staff in (tenants/accounts/sso.py).
        return {**super().get_context_data(**kwargs), "sso": sso.active_configuration()}


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
        # Every session of theirs ends (Django's session hash would refuse them anyway).
        ended = end_sessions(form.user)
        record_audit(
            "auth.password_reset",
            actor=form.user,
            summary="Set a new password by email link",
            detail={"sessions_ended": ended},
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
        # This session goes on (with a new key); every other one ends.
        ended = end_sessions(self.request.user, keep=self.request)
        record_audit(
            "auth.password_changed",
            actor=self.request.user,
            summary="Changed their password",
            detail={"sessions_ended": ended},
            request=self.request,
        )
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    stored_photo = request.user.photo.name
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with photo_stored_or_nothing(request.user, stored_photo), transaction.atomic():
                form.save()
                record_audit(
                    "staff.profile_changed",
                    actor=request.user,
                    target=request.user,
                    summary="Changed their public profile",
                    request=request,
                )
        except PhotoNotStored as exc:
            # Shown again with what they typed; 503: the fault is ours, and passes.
            form.add_error("photo", str(exc))
            return render(request, "accounts/profile.html", {"form": form}, status=503)
        messages.success(request, "Your profile is saved.")
        return redirect("accounts:profile")
    return render(
        request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200
    )


def _signed_in_here(view: Any) -> Any:
    """Sign-in first: the workspace's own form, or on the hub the platform's (the admin's)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            on_hub = getattr(getattr(request, "tenant", None), "is_hub", False)
            return redirect_to_login(
                request.get_full_path(), "admin:login" if on_hub else settings.LOGIN_URL
            )
        return view(request, *args, **kwargs)

    return wrapped


@_signed_in_here
def sessions(request: HttpRequest) -> HttpResponse:
    """Where one is signed in; end any other session, or all of them, with one's password."""
    user = request.user
    form = CurrentPasswordForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        chosen = request.POST.get("session", "")
        if chosen and not chosen.isdigit():
            raise Http404("No such session.")
        if form.is_valid():
            try:
                if chosen:
                    sign_out_session(user, int(chosen), request=request)
                    messages.success(request, "That session is signed out.")
                else:
                    ended = sign_out_other_sessions(user, request=request)
                    messages.success(
                        request,
                        f"Signed out of {ended} other session{'s' if ended != 1 else ''}.",
                    )
            except SignedInSession.DoesNotExist as exc:
                raise Http404("No such session.") from exc
            except SessionError as exc:
                form.add_error(None, str(exc))
            else:
                # The same page on a workspace and on the hub (platform staff).
                return redirect(request.path)
        status = 429 if form.has_error("password", RATE_LIMITED) else 400
    this_session = current_keys(request)
    rows = [
        {
            "id": record.pk,
            "is_this_one": record.session_key in this_session,
            "browser": describe_browser(record.user_agent),
            "ip_address": record.ip_address or "Unknown",
            "signed_in_at": record.signed_in_at,
            "last_seen_at": record.last_seen_at,
        }
        for record in live_sessions(user)
    ]
    rows.sort(key=lambda row: not row["is_this_one"])
    return render(request, "accounts/sessions.html", {"form": form, "rows": rows}, status=status)
