from __future__ import annotations

from django import forms

from billing.plans import PLANS, Interval
from tenants.models import OrganisationKind, Region


class DetailsForm(forms.Form):
    organisation_name = forms.CharField(label="Organisation name", max_length=200)
    kind = forms.ChoiceField(label="What kind of organisation", choices=OrganisationKind.choices)
    ods_code = forms.CharField(
        label="ODS code",
        max_length=8,
        required=False,
        help_text="The NHS Organisation Data Service code, if you have one (for example RTH).",
    )
    region = forms.ChoiceField(label="Region", choices=[("", "—"), *Region.choices], required=False)
    website = forms.URLField(label="Website", required=False, assume_scheme="https")
    slug = forms.CharField(
        label="Workspace address",
        max_length=40,
        required=False,
        help_text="Your staff will sign in at <address>.carevoice. Leave blank to use one made "
        "from your name.",
    )


class AccountForm(forms.Form):
    admin_name = forms.CharField(label="Your name", max_length=150)
    admin_email = forms.EmailField(label="Your work email address")
    password = forms.CharField(
        label="Choose a password", widget=forms.PasswordInput, strip=False, min_length=1
    )
    password_again = forms.CharField(
        label="The password again", widget=forms.PasswordInput, strip=False
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class PlanForm(forms.Form):
    plan = forms.ChoiceField(
        choices=[(p.key, p.name) for p in PLANS.values()], widget=forms.RadioSelect
    )
    interval = forms.ChoiceField(
        choices=Interval.choices, widget=forms.RadioSelect, initial=Interval.MONTHLY
    )


class AddressForm(forms.Form):
    slug = forms.CharField(label="Another workspace address", max_length=40)
