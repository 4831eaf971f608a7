from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from alerts.models import AlertRule, BankHoliday, ResponseTarget
from alerts.rules import allowed_domains
from alerts.targets import validate_allowance
from feedback.models import Service, Tag
from tenants.accounts.models import User


class AlertRuleForm(forms.ModelForm):
    extra = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Other addresses, one per line",
        help_text="Only addresses in your organisation's email domains.",
    )

    class Meta:
        model = AlertRule
        fields = ["name", "recipients", "services", "min_criticality", "tags", "words", "frequency"]
        labels = {
            "min_criticality": "At least this critical",
            "services": "Only these services (and the services within them)",
            "tags": "Only stories with any of these tags",
            "words": "Only stories mentioning any of these words (comma-separated)",
        }
        widgets = {
            "recipients": forms.CheckboxSelectMultiple,
            "services": forms.CheckboxSelectMultiple,
            "tags": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(self, *args: Any, can_choose_recipients: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = User.objects.filter(is_active=True)
        self.fields["services"].queryset = Service.objects.select_related("site")
        self.fields["tags"].queryset = Tag.objects.all()
        self.fields["recipients"].required = False
        if not can_choose_recipients:
            del self.fields["recipients"]
            del self.fields["extra"]
        elif self.instance.pk:
            self.initial["extra"] = "\n".join(self.instance.extra_addresses)

    def clean_extra(self) -> list[str]:
        lines = [x.strip().lower() for x in self.cleaned_data["extra"].splitlines() if x.strip()]
        domains = allowed_domains()
        for address in lines:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"“{address}” is not an email address.") from None
            if address.rsplit("@", 1)[-1] not in domains:
                raise ValidationError(
                    f"“{address}” is not in your organisation's email domains "
                    f"({', '.join(domains) or 'none set'})."
                )
        return lines


class ResponseTargetForm(forms.Form):
    def __init__(self, *args: Any, targets: list[ResponseTarget], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.targets = targets
        for target in targets:
            self.fields[target.criticality] = forms.CharField(
                label=target.get_criticality_display(),
                initial=target.allowance,
                max_length=20,
                validators=[validate_allowance],
            )


class BankHolidayForm(forms.ModelForm):
    class Meta:
        model = BankHoliday
        fields = ["date", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}
