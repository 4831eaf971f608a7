from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from alerts.models import AlertRule, BankHoliday, ResponseTarget, Scope
from alerts.rules import allowed_domains
from alerts.targets import validate_allowance
from feedback.choices import ServiceType
from feedback.models import Service, Tag
from tenants.accounts.models import User


class AlertRuleForm(forms.ModelForm):
    extra = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Other addresses, one per line",
        help_text="Only addresses in your organisation's email domains.",
    )
    # A network's lead only (alerts/network_alerts.py): which members' stories.
    network_members = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these members (none: every member that shares its stories)",
    )
    service_types = forms.MultipleChoiceField(
        choices=ServiceType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these types of service (members' stories)",
    )
    field_order = [
        "name",
        "recipients",
        "extra",
        "scope",
        "network_members",
        "service_types",
        "services",
    ]

    class Meta:
        model = AlertRule
        fields = [
            "name",
            "recipients",
            "scope",
            "services",
            "min_criticality",
            "tags",
            "words",
            "frequency",
            "emerging_themes",
        ]
        labels = {
            "emerging_themes": (
                "Also tell me about emerging themes at these services (a tag or phrase "
                "suddenly far more common than usual)"
            ),
            "scope": "Whose stories",
            "min_criticality": "At least this critical",
            "services": "Only these services (and the services within them)",
            "tags": "Only stories with any of these tags",
            "words": "Only stories mentioning any of these words (comma-separated)",
        }
        widgets = {
            "recipients": forms.CheckboxSelectMultiple,
            "scope": forms.RadioSelect,
            "services": forms.CheckboxSelectMultiple,
            "tags": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(
        self,
        *args: Any,
        can_choose_recipients: bool,
        network_members: list[tuple[int, str]] | None = None,
        within: frozenset[int] | None = None,
        **kwargs: Any,
    ) -> None:
        """`network_members`: the active, consenting members a network's lead may choose
        from; None for an organisation that may not have network rules (the choice of
        members' stories is not offered at all)."""
        super().__init__(*args, **kwargs)
        if network_members is None:
            for name in ("scope", "network_members", "service_types"):
                del self.fields[name]
        else:
            self.fields["network_members"].choices = network_members
            self.initial.setdefault("network_members", list(self.instance.network_members))
            self.initial.setdefault("service_types", list(self.instance.service_types))
        self.fields["recipients"].queryset = User.objects.filter(is_active=True)
        self.fields["services"].queryset = Service.objects.select_related("site")
        self.fields["tags"].queryset = Tag.objects.all()
        # A person limited to some services (feedback/service_limits.py) watches only theirs.
        self.within = within
        if within is not None:
            self.fields["services"].queryset = Service.objects.select_related("site").filter(
                pk__in=within
            )
            self.fields["services"].required = True
            self.fields["services"].error_messages["required"] = (
                "Choose the services to watch: you see only some of the organisation's."
            )
        self.fields["recipients"].required = False
        if not can_choose_recipients:
            del self.fields["recipients"]
            del self.fields["extra"]
        elif self.instance.pk:
            self.initial["extra"] = "\n".join(self.instance.extra_addresses)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "scope" not in self.fields:
            return data
        if data.get("scope") == Scope.NETWORK:
            if data.get("services"):
                self.add_error(
                    "services",
                    "Your own services do not apply to members' stories: choose members and "
                    "types of service instead.",
                )
            if data.get("emerging_themes"):
                self.add_error(
                    "emerging_themes",
                    "Emerging themes are found in your own stories: choose “Our own stories”, "
                    "or make a separate rule for them.",
                )
        else:
            # Our own stories: the member and service-type choices do not apply.
            data["network_members"] = []
            data["service_types"] = []
        return data

    def save(self, commit: bool = True) -> AlertRule:
        rule = super().save(commit=False)
        if "scope" in self.fields:
            rule.network_members = sorted(self.cleaned_data["network_members"])
            rule.service_types = list(self.cleaned_data["service_types"])
        if commit:
            rule.save()
            self.save_m2m()
        return rule

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
        widgets = {"date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
