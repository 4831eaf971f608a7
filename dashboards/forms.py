"""Forms of the dashboards' own pages (the reports' are in reports/forms.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.targets import validate_allowance
from alerts.working_time import DEFAULT_ALLOWANCES
from feedback.choices import Criticality
from tenants.models import NetworkStandards


class NetworkStandardsForm(forms.Form):
    """One allowance per criticality, in members' own words; blank for no standard."""

    met_percent = forms.IntegerField(
        label="A provider meets the standards when at least this share of its stories (%) "
        "is answered in time",
        min_value=1,
        max_value=100,
        initial=90,
    )

    def __init__(self, *args: Any, standards: NetworkStandards | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = standards.allowances if standards else DEFAULT_ALLOWANCES
        for criticality in Criticality:
            self.fields[criticality.value] = forms.CharField(
                label=criticality.label,
                required=False,
                max_length=20,
                initial=current.get(criticality.value, ""),
                validators=[validate_allowance],
            )
        if standards:
            self.fields["met_percent"].initial = standards.met_percent
        # The criticalities first, as on the member's own targets page.
        self.order_fields([*Criticality.values, "met_percent"])

    def allowances(self) -> dict[str, str]:
        return {c: self.cleaned_data.get(c) or "" for c in Criticality.values}
