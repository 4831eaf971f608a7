from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from feedback.models import Service
from onboarding.service_import import MAX_BYTES
from tenants.accounts.models import Role
from tenants.models import Organisation


class ServiceImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Comma-separated, UTF-8, with the column names on the first line.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise ValidationError(
                f"The file is over {MAX_BYTES // (1024 * 1024)} MB: split it in two."
            )
        return upload


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.MEMBER,
        help_text="Members read stories; responders also answer them; administrators also "
        "manage services, staff and settings.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these services (the services within each included)",
        help_text="None ticked: they see every service.",
    )

    def __init__(self, *args: Any, managed: frozenset[int] | None = None, **kwargs: Any) -> None:
        """`managed`: a service administrator's services, among which they invite members
        and responders only (feedback/service_limits.py checks it again)."""
        super().__init__(*args, **kwargs)
        services = Service.objects.filter(is_active=True).order_by("name")
        if managed is not None:
            services = services.filter(pk__in=managed)
            self.fields["services"].required = True
            self.fields["services"].label = "The services they will see, among yours"
            self.fields["services"].help_text = "Choose at least one."
            self.fields["role"].choices = [
                (value, label) for value, label in Role.choices if value != Role.ADMINISTRATOR
            ]
            self.fields["role"].help_text = "Members read stories; responders also answer them."
        self.fields["services"].queryset = services


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(
        label="Your full name",
        max_length=150,
        help_text="Shown with the responses you publish.",
    )
    password1 = forms.CharField(
        label="Choose a password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not a common password, nor like your name or email.",
    )
    password2 = forms.CharField(
        label="The same password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, check_password: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.check_password = check_password

    def clean_full_name(self) -> str:
        name = self.cleaned_data["full_name"].strip()
        if not name:
            raise ValidationError("Give your name.")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords are different.")
        elif first and cleaned.get("full_name"):
            try:
                self.check_password(cleaned["full_name"], first)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class NetworkForm(forms.Form):
    name = forms.CharField(label="Network name", max_length=200)
    description = forms.CharField(
        label="What it is for (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class NetworkInviteForm(forms.Form):
    email = forms.EmailField(
        label="Email address of someone at the organisation",
        max_length=254,
        help_text="If the organisation is on Carevoice, the invitation waits in its workspace; "
        "if not, this address is invited to join.",
    )
    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        label="Organisation, if it is on Carevoice (optional)",
        help_text="Leave empty to find it by the email address's domain.",
    )

    def __init__(self, *args: Any, lead: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.ready().exclude(pk=lead.pk)


class AnswerInvitationForm(forms.Form):
    answer = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    benchmarking_consent = forms.BooleanField(
        required=False,
        label="We agree to be compared, by name, with the network's other members",
    )


class ConsentForm(forms.Form):
    benchmarking_consent = forms.BooleanField(
        required=False,
        label="We agree to be compared, by name, with the network's other members",
    )
