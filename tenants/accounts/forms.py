from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.template import loader

from tenants import ratelimit
from tenants.accounts import sso
from tenants.accounts.models import Role, User
from tenants.accounts.photos import check_photo, new_photo_name
from tenants.messages import enqueue_email

RATE_LIMITED = "rate_limited"


def refuse_passwords_if_off() -> None:
    """An organisation that signs in only through its provider takes no password."""
    config = sso.active_configuration()
    if config is not None and not config.password_sign_in:
        raise ValidationError(
            f"Staff here sign in with {config.provider_name}: use the button below.",
            code="sso_only",
        )


class RateLimitedLoginForm(AuthenticationForm):
    """Sign-in that stops an account or an address after too many failures in a window."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match an account here.",
        RATE_LIMITED: (
            "Too many failed sign-in attempts. Wait %(minutes)s minutes, or reset your password."
        ),
    }

    def clean(self) -> dict[str, Any]:
        refuse_passwords_if_off()
        email = (self.cleaned_data.get("username") or "").strip().lower()
        per_account, per_address = ratelimit.login_limits()
        address = ratelimit.client_address(self.request) if self.request else "unknown"
        if ratelimit.is_limited(per_account, email) or ratelimit.is_limited(per_address, address):
            raise ValidationError(
                self.error_messages[RATE_LIMITED],
                code=RATE_LIMITED,
                params={"minutes": per_account.window_seconds // 60},
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            ratelimit.hit(per_account, email)
            ratelimit.hit(per_address, address)
            raise
        ratelimit.reset(per_account, email)
        return cleaned

    @property
    def is_rate_limited(self) -> bool:
        return any(e.code == RATE_LIMITED for e in self.errors.as_data().get("__all__", []))


class RateLimitedPasswordResetForm(PasswordResetForm):
    def __init__(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Write the reset email to the outbox (tenants/messages.py) rather than send it here,
        keyed by the account and its link's token: the same link twice is one email."""
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        token = hashlib.sha256(context["token"].encode()).hexdigest()[:32]
        enqueue_email(
            kind="accounts.password_reset",
            key=f"accounts.password_reset:{connection.schema_name}:{context['uid']}:{token}",
            recipient=to_email,
            subject=subject,
            text_body=loader.render_to_string(email_template_name, context),
            html_body=(
                loader.render_to_string(html_email_template_name, context)
                if html_email_template_name
                else ""
            ),
        )

    def clean(self) -> dict[str, Any]:
        refuse_passwords_if_off()
        cleaned = super().clean()
        limit = ratelimit.public_form_limit("password-reset")
        address = ratelimit.client_address(self.request) if self.request else "unknown"
        if ratelimit.hit(limit, address) > limit.limit:
            raise ValidationError(
                "Too many requests from your network. Please try again later.", code=RATE_LIMITED
            )
        return cleaned


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, initial={"role": user.role}, **kwargs)


class ProfileForm(forms.ModelForm):
    """What the public sees beside your responses."""

    class Meta:
        model = User
        fields = ["full_name", "job_title", "department", "is_clinician", "photo"]
        labels = {"full_name": "Your name as shown on responses", "photo": "Photo (optional)"}
        help_texts = {"photo": "A PNG or JPEG under 2 MB, shown beside your responses."}
        widgets = {"photo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"})}

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and hasattr(photo, "content_type"):  # a new upload, not the stored file
            self.instance._photo_extension = check_photo(photo)
            self.instance._photo_name = new_photo_name(self.instance._photo_extension)
        return photo


class SecondFactorCodeForm(forms.Form):
    """The code from an authenticator app, or (when signing in) a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class CurrentPasswordForm(forms.Form):
    """Re-entering one's password before a change that affects signing in (ASVS 7.5.1).
    Wrong passwords count towards the same limit as signing in."""

    password = forms.CharField(
        label="Your current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        per_account, _ = ratelimit.login_limits()
        if ratelimit.is_limited(per_account, self.user.email):
            raise ValidationError(
                "Too many wrong passwords. Wait %(minutes)s minutes and try again.",
                code=RATE_LIMITED,
                params={"minutes": per_account.window_seconds // 60},
            )
        if not self.user.check_password(password):
            ratelimit.hit(per_account, self.user.email)
            raise ValidationError("That is not your current password.", code="wrong_password")
        return password


class ReplaceSecondFactorForm(CurrentPasswordForm, SecondFactorCodeForm):
    """Replacing an authenticator app: the password, and a code from the new app."""

    field_order = ["password", "code"]


class SecondFactorRequirementForm(forms.Form):
    required = forms.BooleanField(
        label="Require a second factor for all staff, not only administrators", required=False
    )


class SafeguardingContactForm(forms.Form):
    is_safeguarding_contact = forms.BooleanField(
        label="Safeguarding contact: alerted at once to every safeguarding concern, whatever "
        "their alert rules say",
        required=False,
    )


class StoryTakerForm(forms.Form):
    is_story_taker = forms.BooleanField(
        label="Story taker: may enter stories received on paper, by phone or in person, "
        "for moderation like any other",
        required=False,
    )


class SafeguardingHoursForm(forms.Form):
    hours = forms.IntegerField(
        label="Hours before an unacknowledged safeguarding concern goes to the administrators "
        "and to Carevoice staff",
        min_value=1,
        max_value=72,
        error_messages={
            "required": "Give a number of hours from 1 to 72.",
            "invalid": "Give a whole number of hours from 1 to 72.",
            "min_value": "Give a number of hours from 1 to 72.",
            "max_value": "Give a number of hours from 1 to 72.",
        },
    )
