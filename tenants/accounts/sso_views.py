"""Single sign-on's pages (tenants/accounts/sso.py): the start and the provider's return, on
each organisation's own domain, and the administrators' settings."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants import ratelimit
from tenants.accounts import sso
from tenants.accounts.access import role_required
from tenants.accounts.models import Role


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "accounts/sso_refused.html", {"message": message}, status=status)


def start(request: HttpRequest) -> HttpResponse:
    if sso.active_configuration() is None:
        return _refused(request, "Single sign-on is not set up here.", 404)
    limit = ratelimit.public_form_limit("sso")
    if ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit:
        return _refused(
            request, "Too many sign-in attempts from your network. Try again later.", 429
        )
    try:
        return sso.start_sign_in(request, request.GET.get("next", ""))
    except sso.SsoError as refused:
        return _refused(request, str(refused), 502)


def callback(request: HttpRequest) -> HttpResponse:
    if sso.active_configuration() is None:
        return _refused(request, "Single sign-on is not set up here.", 404)
    try:
        _, next_url = sso.finish_sign_in(request)
    except sso.SsoError as refused:
        return _refused(request, str(refused), 400)
    return redirect(next_url)


class SingleSignOnForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Let staff sign in through the provider")
    provider_name = forms.CharField(
        max_length=60, initial="NHSmail", label="Provider's name, for the sign-in button"
    )
    issuer = forms.URLField(
        max_length=300,
        assume_scheme="https",
        label="Issuer",
        help_text="For Microsoft Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0",
    )
    client_id = forms.CharField(max_length=200, label="Client (application) id")
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Client secret",
        help_text="Kept encrypted and never shown again. Leave empty to keep the one saved.",
    )
    allowed_domains = forms.CharField(
        label="Email domains allowed to sign in",
        help_text="One or more, separated by commas or spaces: nhs.net, example-trust.nhs.uk",
    )
    default_role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in sso.ROLES_MADE],
        label="Role of an account made at someone's first sign-in",
    )
    password_sign_in = forms.BooleanField(
        required=False, initial=True, label="Staff may still sign in with a password"
    )


@role_required(Role.ADMINISTRATOR)
def settings_page(request: HttpRequest) -> HttpResponse:
    config = sso.configuration()
    initial = {}
    if config is not None:
        initial = {
            "enabled": config.enabled,
            "provider_name": config.provider_name,
            "issuer": config.issuer,
            "client_id": config.client_id,
            "allowed_domains": ", ".join(config.allowed_domains),
            "default_role": config.default_role,
            "password_sign_in": config.password_sign_in,
        }
    form = SingleSignOnForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sso.save_configuration(
                sso.Settings(
                    enabled=data["enabled"],
                    provider_name=data["provider_name"],
                    issuer=data["issuer"],
                    client_id=data["client_id"],
                    client_secret=data["client_secret"],
                    allowed_domains=data["allowed_domains"].replace(",", " ").split(),
                    password_sign_in=data["password_sign_in"],
                    default_role=data["default_role"],
                ),
                actor=request.user,
                request=request,
            )
        except sso.SsoError as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, "Saved.")
            return redirect("accounts:sso_settings")
    return render(
        request,
        "accounts/sso_settings.html",
        {
            "form": form,
            "config": config,
            "callback_url": request.build_absolute_uri("/accounts/sso/callback/"),
        },
        status=400 if form.errors else 200,
    )
