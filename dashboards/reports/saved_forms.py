"""Forms for saved report settings and their schedules."""

from __future__ import annotations

import re

from django import forms
from django.db import connection
from django.db.models import QuerySet

from dashboards.filters import service_options
from dashboards.models import Frequency, ReportSchedule, SavedReport
from dashboards.reports.forms import DATE
from dashboards.reports.scheduling import allowed_recipient
from feedback.models import Service
from tenants.models import Network


class SavedReportForm(forms.ModelForm):
    service = forms.TypedChoiceField(label="Service", required=False, coerce=int, empty_value=None)

    class Meta:
        model = SavedReport
        fields = ["name", "kind", "months", "start", "end"]
        labels = {"months": "Period in months (or a fixed range below)"}
        widgets = {"start": DATE, "end": DATE}

    def __init__(
        self, *args: object, within: frozenset[int] | None = None, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)
        # A person limited to some services saves reports about theirs ("all" is all theirs).
        everything = "All services" if within is None else "All your services"
        self.fields["service"].choices = [("", everything)] + [
            (option["value"], option["label"]) for option in service_options(within=within)
        ]

    def clean_months(self) -> int | None:
        months = self.cleaned_data.get("months")
        if months is not None and not 1 <= months <= 60:
            raise forms.ValidationError("Choose between 1 and 60 months.")
        return months

    def clean(self) -> dict[str, object]:
        data = super().clean()
        months, start, end = data.get("months"), data.get("start"), data.get("end")
        if months is None and not (start and end):
            raise forms.ValidationError("Give a number of months, or both dates.")
        if months is not None and (start or end):
            raise forms.ValidationError("Give a number of months or dates, not both.")
        if start and end and start > end:
            raise forms.ValidationError("The period must start on or before its end.")
        return data

    def save(self, commit: bool = True) -> SavedReport:  # noqa: FBT001, FBT002
        report = super().save(commit=False)
        pk = self.cleaned_data.get("service")
        report.service = Service.objects.filter(pk=pk).first() if pk else None
        if commit:
            report.save()
        return report


class ScheduleForm(forms.Form):
    report = forms.ModelChoiceField(queryset=SavedReport.objects.all(), label="Saved report")
    frequency = forms.TypedChoiceField(choices=Frequency.choices, coerce=int)
    method = forms.ChoiceField(choices=ReportSchedule._meta.get_field("method").choices)
    recipients = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Staff of the organisation, or addresses in its email domains; one a line.",
    )

    network_members = forms.BooleanField(
        required=False,
        label="Also attach each consenting member's committee pack (networks you lead)",
    )

    member_recipients = forms.BooleanField(
        required=False,
        label="Send each consenting member its own committee pack, to the staff its "
        "administrators chose (networks you lead)",
    )

    def __init__(
        self,
        *args: object,
        reports: QuerySet[SavedReport] | None = None,
        limited: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        if reports is not None:
            self.fields["report"].queryset = reports
        if limited:
            # Committee packs cover whole organisations: not for a person limited to some
            # of their own organisation's services.
            del self.fields["network_members"]
            del self.fields["member_recipients"]

    def clean_network_members(self) -> bool:
        wanted = self.cleaned_data.get("network_members", False)
        if wanted and not Network.objects.filter(lead=connection.tenant).exists():
            raise forms.ValidationError("Your organisation does not lead a network.")
        return wanted

    def clean_member_recipients(self) -> bool:
        wanted = self.cleaned_data.get("member_recipients", False)
        if wanted and not Network.objects.filter(lead=connection.tenant).exists():
            raise forms.ValidationError("Your organisation does not lead a network.")
        return wanted

    def clean_recipients(self) -> list[str]:
        emails = [e.lower() for e in re.split(r"[\s,;]+", self.cleaned_data["recipients"]) if e]
        refused = [e for e in emails if not allowed_recipient(e)]
        if refused:
            raise forms.ValidationError(
                "Not staff of the organisation nor in its email domains: " + ", ".join(refused)
            )
        if not emails or len(emails) > 50:
            raise forms.ValidationError("Give between 1 and 50 addresses.")
        return list(dict.fromkeys(emails))
