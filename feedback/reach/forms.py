from __future__ import annotations

from typing import Any

from django import forms

from feedback.hub.models import ServiceListing


def _service_choices(organisation_id: int) -> list[tuple[str, str]]:
    listings = ServiceListing.objects.filter(organisation_id=organisation_id, is_active=True)
    return [("", "The whole organisation")] + [
        (str(x.pk), f"{x.name}, {x.site_name}") for x in listings.order_by("site_name", "name")
    ]


class PeriodForm(forms.Form):
    since = forms.DateField(
        required=False,
        label="Stories from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label="to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError("The end of the period is before its start.")
        return data


class ScreenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name the screen (where it stands)",
        error_messages={"required": "Name the screen, for example “Main entrance”."},
    )
    service = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Stories about"
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = _service_choices(organisation_id)
