"""The second step of signing in, and setting up or changing one's second factor.

The same views serve the hub (platform staff, who sign in at /admin/login/) and every
workspace (staff, who sign in at /accounts/login/).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import django_otp
import segno
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tenants.accounts.forms import (
    RATE_LIMITED,
    CurrentPasswordForm,
    ReplaceSecondFactorForm,
    SecondFactorCodeForm,
)
from tenants.accounts.second_factor import (
    SecondFactorError,
    authenticator_for,
    base32_secret,
    check_removable,
    confirm_authenticator,
    has_second_factor,
    is_second_factor_required,
    recovery_codes_left,
    regenerate_recovery_codes,
    remove_second_factor,
    start_authenticator,
    verify_second_factor,
)


def _is_hub(request: HttpRequest) -> bool:
    tenant = getattr(request, "tenant", None)
    return tenant is None or tenant.is_hub


def _organisation(request: HttpRequest) -> Any:
    return getattr(request, "tenant", None)


def _signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in first, at the hub's or the workspace's own sign-in page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            login_url = reverse("admin:login") if _is_hub(request) else reverse("accounts:login")
            return redirect_to_login(request.get_full_path(), login_url)
        return view(request, *args, **kwargs)

    return wrapped


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/" if _is_hub(request) else reverse("workspace:home")


def _with_next(name: str, next_url: str) -> str:
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context = {**context, "is_hub": _is_hub(request)}
    return render(request, f"accounts/{template}", context, status=status)


@_signed_in
def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _next_url(request)
    if user.is_verified():
        return redirect(next_url)
    if not has_second_factor(user):
        return redirect(_with_next("second_factor:set_up", next_url))
    form = SecondFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result = verify_second_factor(user, form.cleaned_data["code"], request=request)
        if result.device is not None:
            # A session that gained rights gets a new key (as at the password step).
            request.session.cycle_key()
            django_otp.login(request, result.device)
            if result.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You used a recovery code; {result.recovery_codes_left} are left. "
                    "Make new ones from your second-factor page if you are running out.",
                )
            return redirect(next_url)
        if result.rate_limited:
            form.add_error(None, "Too many wrong codes. Wait 15 minutes, or sign out.")
            status = 429
        else:
            form.add_error(
                "code",
                "That code is not right, or came too soon after a wrong one. "
                "Wait for a new code and try again.",
            )
            status = 400
    elif request.method == "POST":
        status = 400
    return _page(request, "second_factor_verify.html", {"form": form, "next": next_url}, status)


@_signed_in
def set_up(request: HttpRequest) -> HttpResponse:
    """Show a new key as a QR code and its text; confirming it with a code from the app
    replaces any earlier one and shows the recovery codes, once."""
    user = request.user
    next_url = _next_url(request)
    if has_second_factor(user) and not user.is_verified():
        # Adding or replacing a device needs the one the account has now.
        return redirect(_with_next("second_factor:verify", request.get_full_path()))
    device = start_authenticator(user)
    # Replacing the app asks for the password as well (ASVS 7.5.1).
    form: SecondFactorCodeForm = (
        ReplaceSecondFactorForm(request.POST or None, user=user)
        if has_second_factor(user)
        else SecondFactorCodeForm(request.POST or None)
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = confirm_authenticator(user, form.cleaned_data["code"], request=request)
        except SecondFactorError as exc:
            form.add_error(None, str(exc))
            confirmed = None
        if confirmed is not None:
            device, codes = confirmed
            request.session.cycle_key()
            django_otp.login(request, device)
            return _page(request, "second_factor_codes.html", {"codes": codes, "next": next_url})
        if not form.errors:
            form.add_error("code", "That code is not right. Check the app and try again.")
        status = 400
    elif request.method == "POST":
        status = 400
    secret = base32_secret(device)
    qr = segno.make(device.config_url, error="m")
    return _page(
        request,
        "second_factor_set_up.html",
        {
            "form": form,
            "next": next_url,
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            # Inline SVG markup (the Content-Security-Policy allows no data: images here).
            "qr_svg": qr.svg_inline(scale=4, light="#fff", title="QR code of your new key"),
            "required": is_second_factor_required(user, _organisation(request)),
        },
        status,
    )


def _manage_page(
    request: HttpRequest,
    *,
    codes_form: CurrentPasswordForm | None = None,
    remove_form: CurrentPasswordForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    return _page(
        request,
        "second_factor_manage.html",
        {
            "device": authenticator_for(user),
            "codes_left": recovery_codes_left(user),
            "required": is_second_factor_required(user, _organisation(request)),
            "codes_form": codes_form or CurrentPasswordForm(user=user, auto_id="codes_%s"),
            "remove_form": remove_form or CurrentPasswordForm(user=user, auto_id="remove_%s"),
        },
        status,
    )


@_signed_in
def manage(request: HttpRequest) -> HttpResponse:
    return _manage_page(request)


@require_POST
@_signed_in
def new_recovery_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        return redirect(_with_next("second_factor:verify", reverse("second_factor:manage")))
    form = CurrentPasswordForm(request.POST, user=request.user, auto_id="codes_%s")
    if not form.is_valid():
        return _manage_page(request, codes_form=form, status=_refusal_status(form))
    try:
        codes = regenerate_recovery_codes(request.user, request=request)
    except SecondFactorError as exc:
        messages.error(request, str(exc))
        return redirect("second_factor:manage")
    next_url = reverse("second_factor:manage")
    return _page(request, "second_factor_codes.html", {"codes": codes, "next": next_url})


@require_POST
@_signed_in
def remove(request: HttpRequest) -> HttpResponse:
    if has_second_factor(request.user) and not request.user.is_verified():
        return redirect(_with_next("second_factor:verify", reverse("second_factor:manage")))
    try:
        check_removable(request.user, _organisation(request))
    except SecondFactorError as exc:
        messages.error(request, str(exc))
        return _manage_page(request, status=403)
    form = CurrentPasswordForm(request.POST, user=request.user, auto_id="remove_%s")
    if not form.is_valid():
        return _manage_page(request, remove_form=form, status=_refusal_status(form))
    try:
        remove_second_factor(request.user, organisation=_organisation(request), request=request)
    except SecondFactorError as exc:
        messages.error(request, str(exc))
        return _manage_page(request, status=403)
    messages.success(request, "Your second factor is removed.")
    return redirect("second_factor:manage")


def _refusal_status(form: CurrentPasswordForm) -> int:
    limited = any(e.code == RATE_LIMITED for e in form.errors.as_data().get("password", []))
    return 429 if limited else 400
