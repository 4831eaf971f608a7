"""The report's controls: a period and, optionally, one of the organisation's services."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms

from dashboards.filters import DEFAULT_DAYS, MAX_DAYS, service_options

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=DATE)
    end = forms.DateField(label="To", required=False, widget=DATE)
    service = forms.TypedChoiceField(label="Service", required=False, coerce=int, empty_value=None)

    def __init__(
        self, *args: object, today: date, within: frozenset[int] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["service"].choices = [("", "All services")] + [
            (option["value"], option["label"]) for option in service_options(within=within)
        ]

    def clean(self) -> dict[str, object]:
        data = super().clean()
        return data if self.errors else _period(data, self.today)


def _period(data: dict[str, object], today: date) -> dict[str, object]:
    end = data.get("end") or today
    start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
    if end > today:
        raise forms.ValidationError("The period cannot end after today.")
    if start > end:
        raise forms.ValidationError("The period must start on or before its end.")
    if (end - start).days > MAX_DAYS:
        raise forms.ValidationError("A report covers at most five years.")
    data["start"], data["end"] = start, end
    return data


class CommitteeForm(forms.Form):
    """A period for the quality committee pack (the network and provider are checked
    against what the viewer may see, in `committee.chosen`)."""

    start = forms.DateField(label="From", required=False, widget=DATE)
    end = forms.DateField(label="To", required=False, widget=DATE)

    def __init__(self, *args: object, today: date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, object]:
        data = super().clean()
        return data if self.errors else _period(data, self.today)
