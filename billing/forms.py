from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils import timezone

from billing.checkout import Card
from billing.plans import PLAN_CHOICES, Interval


class PlanForm(forms.Form):
    plan = forms.ChoiceField(choices=PLAN_CHOICES)
    interval = forms.ChoiceField(choices=Interval.choices, initial=Interval.MONTHLY)


class CancelForm(forms.Form):
    when = forms.ChoiceField(
        choices=[
            ("period_end", "At the end of the period already paid for"),
            ("now", "Now: the workspace becomes read-only at once"),
        ],
        initial="period_end",
        widget=forms.RadioSelect,
    )


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")


class LocalCardForm(forms.Form):
    """A test card for the local Stripe server: 4242 4242 4242 4242, any future date."""

    name = forms.CharField(label="Name on the card", max_length=100)
    number = forms.CharField(
        label="Card number",
        max_length=23,
        help_text="Use the test card 4242 4242 4242 4242.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    expiry = forms.CharField(
        label="Expiry (MM/YY)",
        max_length=7,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "12/30"}),
    )
    cvc = forms.CharField(
        label="Security code (CVC)",
        max_length=4,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_number(self) -> str:
        number = re.sub(r"[\s-]", "", self.cleaned_data["number"])
        if not re.fullmatch(r"\d{16}", number):
            raise forms.ValidationError("Enter the 16 digits of the card number.")
        if not luhn_ok(number):
            raise forms.ValidationError("That is not a valid card number; check the digits.")
        return number

    def clean_expiry(self) -> tuple[int, int]:
        match = EXPIRY.match(self.cleaned_data["expiry"])
        if not match:
            raise forms.ValidationError("Enter the expiry date as MM/YY, for example 12/30.")
        month, year = int(match.group(1)), int(match.group(2))
        year = year + 2000 if year < 100 else year
        if not 1 <= month <= 12:
            raise forms.ValidationError("The month must be between 01 and 12.")
        today = timezone.localdate()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError("This card has expired.")
        if year > today.year + 20:
            raise forms.ValidationError("Check the expiry year.")
        return month, year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not re.fullmatch(r"\d{3}", cvc):
            raise forms.ValidationError("Enter the 3 digits on the back of the card.")
        return cvc

    def card(self) -> Card:
        data: dict[str, Any] = self.cleaned_data
        month, year = data["expiry"]
        return Card(
            name=data["name"].strip(),
            number=data["number"],
            exp_month=month,
            exp_year=year,
            cvc=data["cvc"],
        )
