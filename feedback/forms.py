"""Forms for authors, moderators and staff. Every message names what to fix."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from feedback.choices import AgeGroup, AuthorRole, ChangeStatus, Criticality, Progress, TagGroup
from feedback.default_tags import DEFAULT_TAGS, tag_key
from feedback.followup import MAX_AUTHOR_REPLY_CHARACTERS
from feedback.hub.models import RejectionReason, ServiceListing
from feedback.inbox import InboxFilters
from feedback.languages import StoryLanguage
from feedback.models import ExportFormat, Service, Site, StaffMember, Tag
from feedback.network_inbox import NetworkInboxFilters
from feedback.quality import MAX_REPLY_CHARACTERS
from feedback.quick_widgets import QuickSelect
from feedback.submissions import MAX_WORDS
from tenants.accounts.models import User
from tenants.pals import MAX_PALS_CHARACTERS

POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?(\s*[0-9][A-Z]{2})?$", re.IGNORECASE)


def limit_words(value: str) -> None:
    words = len(value.split())
    if words > MAX_WORDS:
        raise ValidationError(
            _("Please shorten this to %(limit)s words or fewer (it has %(words)s).")
            % {"limit": f"{MAX_WORDS:,}", "words": f"{words:,}"},
            code="too_long",
        )


# Not NUL: Django's own validator refuses that with a message.
CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StoryTextField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 6})

    def to_python(self, value: object) -> str:
        # Control characters (not tabs or new lines) are noise from copy and paste.
        text = super().to_python(value)
        return CONTROL.sub("", text)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 12000)
        super().__init__(**kwargs)
        self.validators.append(limit_words)


class StoryForm(forms.Form):
    """The "Tell your story" form, used on the hub, in the widget and at kiosks."""

    services = forms.TypedMultipleChoiceField(
        coerce=int,
        label=_("Which services is your story about?"),
        error_messages={"required": _("Choose at least one service your story is about.")},
    )
    title = forms.CharField(
        max_length=200,
        label=_("Give your story a title"),
        error_messages={"required": _("Give your story a title.")},
    )
    what_was_good = StoryTextField(label=_("What was good?"))
    what_could_be_improved = StoryTextField(label=_("What could have been improved?"))
    how_it_felt = StoryTextField(label=_("How did it make you feel?"))
    author_role = forms.ChoiceField(
        choices=AuthorRole.choices,
        label=_("Who are you in this story?"),
        error_messages={"required": _("Tell us who you are in this story.")},
    )
    author_age_group = forms.ChoiceField(
        choices=AgeGroup.choices,
        label=_("Your age group"),
        initial=AgeGroup.NOT_SAID,
        error_messages={"required": _("Choose an age group, or “I'd rather not say”.")},
    )
    nickname = forms.CharField(
        max_length=60,
        required=False,
        label=_("A nickname to show with your story (optional)"),
        help_text=_("Not your real name: your story is published anonymously."),
    )
    email = forms.EmailField(
        required=False,
        label=_("Your email address (optional)"),
        help_text=_(
            "Only used to tell you when someone responds. It is never published or shown "
            "to the organisation. Without it you will not hear about responses."
        ),
    )
    postcode = forms.CharField(
        max_length=8,
        required=False,
        label=_("Your postcode (optional)"),
        help_text=_("Helps us understand where care is given. Never published."),
    )
    assisted = forms.BooleanField(
        required=False, label=_("I am posting this on someone else's behalf (volunteer or staff)")
    )
    assisted_by = forms.CharField(
        max_length=120,
        required=False,
        label=_("Your name and role, if you are posting for someone"),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree to the terms: my story may be published, after moderation, without "
            "my contact details"
        ),
        error_messages={"required": _("Agree to the terms so we can publish your story.")},
    )
    # Left empty by people; bots fill in every field.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(
        self,
        *args: Any,
        listings: list[ServiceListing],
        with_contact: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.listings = {listing.pk: listing for listing in listings}
        self.fields["services"].choices = [(pk, str(x)) for pk, x in self.listings.items()]
        if not with_contact:
            del self.fields["email"]
            del self.fields["postcode"]

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "").strip()
        if value and not POSTCODE.match(value):
            raise ValidationError(
                _("Enter a UK postcode like LS1 4AP, or just its first part, LS1.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("title", "nickname", "assisted_by"):
            if isinstance(cleaned.get(name), str):
                cleaned[name] = CONTROL.sub("", cleaned[name])
        answers = [
            cleaned.get(f, "") for f in ("what_was_good", "what_could_be_improved", "how_it_felt")
        ]
        if not any(a.strip() for a in answers if a) and not self.has_error("what_was_good"):
            self.add_error(
                "what_was_good", _("Tell us something about your experience in at least one box.")
            )
        if cleaned.get("assisted") and not cleaned.get("assisted_by", "").strip():
            self.add_error("assisted_by", _("Say who you are when posting for someone else."))
        return cleaned

    def chosen_listings(self) -> list[ServiceListing]:
        return [self.listings[pk] for pk in self.cleaned_data["services"]]


TAG_CHOICES = [
    (str(TagGroup(group).label), [(tag_key(n, g), n) for n, g, _ in DEFAULT_TAGS if g == group])
    for group in TagGroup.values
]


class OneLineField(forms.CharField):
    """A short line of text (a nickname, who posted a story): control characters and line
    breaks are noise from copy and paste."""

    def to_python(self, value: object) -> str:
        return " ".join(CONTROL.sub("", super().to_python(value)).splitlines())


class ModerationForm(forms.Form):
    title = forms.CharField(max_length=200)
    what_was_good = StoryTextField(label="What was good")
    what_could_be_improved = StoryTextField(label="What could be improved")
    how_it_felt = StoryTextField(label="How it made them feel")
    nickname = OneLineField(
        max_length=60,
        required=False,
        label="Nickname, published with the story",
        help_text="Leave it empty to publish the story as “Anonymous”.",
    )
    assisted_by = OneLineField(
        max_length=120,
        required=False,
        label="Posted on the author's behalf by, shown to the organisation's staff",
        help_text="A role is enough (“Volunteer, patient experience team”): remove a "
        "relative's or patient's name.",
    )
    criticality = forms.ChoiceField(choices=[("", "Choose…"), *Criticality.choices], required=False)
    tags = forms.MultipleChoiceField(
        choices=TAG_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    services = forms.TypedMultipleChoiceField(coerce=int, required=False)
    details_checked = forms.BooleanField(
        required=False,
        label="I have checked the highlighted details that remain: none identifies anyone",
    )
    rejection_reason = forms.ChoiceField(
        choices=[("", "Choose…"), *RejectionReason.choices], required=False
    )
    rejection_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, listings: list[ServiceListing], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listings = {listing.pk: listing for listing in listings}
        self.fields["services"].choices = [(pk, str(x)) for pk, x in self.listings.items()]


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["name", "code"]
        labels = {"code": "ODS site code (optional)"}


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["site", "parent", "name", "code", "type", "is_active", "manager"]
        labels = {
            "code": "ODS or NACS code (optional)",
            "parent": "Part of (optional)",
            "manager": "Manager (optional)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = User.objects.filter(is_active=True)


class StaffMemberForm(forms.ModelForm):
    """An entry of the staff directory the moderators' thanks suggestions read."""

    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where they work: a story about one of these that names them is a better match.",
    )

    class Meta:
        model = StaffMember
        fields = ["full_name", "job_title", "email", "thanks_emails"]
        labels = {
            "full_name": "Full name",
            "email": "Email address (optional)",
            "thanks_emails": "Email them the thanks stories pass on",
        }
        help_texts = {
            "email": "In your organisation's email domains. Without one, their thanks go to "
            "their service's manager."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = Service.objects.filter(is_active=True)
        if self.instance.pk:
            self.fields["services"].initial = list(
                self.instance.services.values_list("pk", flat=True)
            )


class ThanksPeriodForm(forms.Form):
    months = forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "Last month"), (3, "Last 3 months"), (6, "Last 6 months"), (12, "Last year")],
        initial=12,
        required=False,
        empty_value=12,
        label="Period",
    )


class PrivateTagForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "group", "polarity"]
        labels = {"name": "Tag", "group": "Group"}

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        name, group = cleaned.get("name"), cleaned.get("group")
        if name and group and Tag.objects.filter(name=name, group=group).exists():
            raise ValidationError({"name": "There is already a tag with this name in that group."})
        return cleaned


class InboxForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    service = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=QuickSelect
    )
    criticality = forms.ChoiceField(
        choices=[("", "Any"), *Criticality.choices], required=False, widget=QuickSelect
    )
    progress = forms.ChoiceField(
        choices=[("", "Any"), *Progress.choices], required=False, widget=QuickSelect
    )
    tag = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=QuickSelect)
    since = forms.DateField(
        required=False,
        label="Published from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label="to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    responded = forms.ChoiceField(
        choices=[("", "Either"), ("no", "Not yet responded"), ("yes", "Responded")],
        required=False,
        widget=QuickSelect,
    )
    # The language the story was told in (feedback/languages.py).
    language = forms.ChoiceField(
        choices=[("", "Any"), *StoryLanguage.choices],
        required=False,
        label="Language",
        widget=QuickSelect,
    )
    overdue = forms.BooleanField(required=False, label="Overdue only")
    mine = forms.BooleanField(required=False, label="Given to me")

    def filters(self) -> InboxFilters:
        """What a valid form asks for (no filter when it is unbound or not valid)."""
        if not (self.is_bound and self.is_valid()):
            return InboxFilters()
        data = self.cleaned_data
        return InboxFilters(
            service=data["service"],
            criticality=data["criticality"],
            progress=data["progress"],
            tag=data["tag"],
            since=data["since"],
            until=data["until"],
            responded=data["responded"],
            overdue=data["overdue"],
            q=data["q"].strip(),
            assigned_to_me=data["mine"],
            language=data["language"],
        )

    def __init__(self, *args: Any, within: frozenset[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the columns the choices show: no model instance is built for each.
        services = Service.objects.all()
        if within is not None:  # a person limited to some services chooses among them
            services = services.filter(pk__in=within)
        self.fields["service"].choices = [("", "Any")] + [
            (pk, f"{name} ({site})")
            for pk, name, site in services.values_list("pk", "name", "site__name")
        ]
        self.fields["tag"].choices = [("", "Any")] + [
            (pk, f"{name}{' (private)' if private else ''}")
            for pk, name, private in Tag.objects.values_list("pk", "name", "is_private")
        ]


class ResponseForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        label="Your response",
        help_text="Published under your name and job title. Markdown is allowed; HTML is shown "
        "as text.",
        max_length=MAX_REPLY_CHARACTERS,
        error_messages={"required": "Write your response before publishing it."},
    )
    change_status = forms.ChoiceField(choices=ChangeStatus.choices, label="Has anything changed?")
    change_description = forms.CharField(
        max_length=300, required=False, label="What was changed, or is planned (one sentence)"
    )
    responder = forms.TypedChoiceField(coerce=int, required=False, label="Respond as")
    confirm_generic = forms.BooleanField(
        required=False, label="I have read the advice and still want to publish this response"
    )

    def __init__(self, *args: Any, responders: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if responders:
            self.fields["responder"].choices = [
                (u.pk, f"{u.full_name}, {u.job_title}") for u in responders
            ]
        else:
            del self.fields["responder"]


class ReplyModerationForm(forms.Form):
    """A moderator's wording of an author's reply, before it is published."""

    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=MAX_AUTHOR_REPLY_CHARACTERS,
        label="Reply to publish",
    )
    details_checked = forms.BooleanField(
        required=False,
        label="I have checked the highlighted details that remain: none identifies anyone",
    )

    def clean_body(self) -> str:
        return CONTROL.sub("", self.cleaned_data["body"])


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, label="What is this key for?")


class EmbedHostsForm(forms.Form):
    hosts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Websites allowed to show your widget, one per line",
        help_text="For example www.example.nhs.uk or *.example.nhs.uk",
    )

    def clean_hosts(self) -> list[str]:
        """One host a line; tenants.embedding.set_embed_hosts checks each."""
        return self.cleaned_data["hosts"].splitlines()


class DefaultLanguageForm(forms.Form):
    """The language of the organisation's widget, kiosk, display screens and organisation
    page for visitors who have not chosen one (feedback/languages.py)."""

    default_language = forms.ChoiceField(
        choices=[
            ("", "The visitor's own language (from their browser)"),
            ("en-gb", "English"),
            ("cy", "Cymraeg (Welsh)"),
        ],
        required=False,
        label="Language of your widget, kiosks, screens and organisation page",
        help_text="Visitors can always switch; this is what they see first.",
    )


class PalsDetailsForm(forms.Form):
    pals_details = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": MAX_PALS_CHARACTERS}),
        label="How to complain or contact your PALS",
        help_text=(
            "Shown on your widget and kiosk, and on the Carevoice form when a story is about "
            "one of your services, before the story is written. For example your PALS phone "
            f"number, email address and opening hours. Up to {MAX_PALS_CHARACTERS:,} characters."
        ),
    )

    def clean_pals_details(self) -> str:
        # Browsers count a line break as one character and send two.
        details = self.cleaned_data["pals_details"].replace("\r\n", "\n").strip()
        if len(details) > MAX_PALS_CHARACTERS:
            raise ValidationError(
                f"Please shorten this to {MAX_PALS_CHARACTERS:,} characters or fewer "
                f"(it has {len(details):,})."
            )
        return details


class NetworkInboxForm(InboxForm):
    """The staff inbox's filters, for a network lead reading its members' stories: plus
    "member"; the services are the members' and the tags the public ones. "Overdue" and
    "given to me" are left out: due times and assignments are each member's own."""

    member = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    tag = forms.ChoiceField(choices=[("", "Any"), *TAG_CHOICES], required=False)
    field_order = ["member", "q", "service"]

    def __init__(self, *args: Any, members: list[Any], services: list[Any], **kwargs: Any) -> None:
        # Not InboxForm's own __init__: its choices are the lead's own services and tags.
        forms.Form.__init__(self, *args, **kwargs)
        del self.fields["overdue"], self.fields["mine"]
        self.fields["progress"].label = "Progress at the member"
        self.fields["responded"].choices = [
            ("", "Either"),
            ("no", "Not yet responded by the member"),
            ("yes", "Responded by the member"),
        ]
        self.fields["member"].choices = [("", "Any")] + [(m.pk, m.name) for m in members]
        self.fields["service"].choices = [("", "Any")] + [
            (s.pk, f"{s.name} ({s.organisation.name})") for s in services
        ]

    def filters(self) -> NetworkInboxFilters:  # type: ignore[override]
        if not (self.is_bound and self.is_valid()):
            return NetworkInboxFilters()
        data = self.cleaned_data
        return NetworkInboxFilters(
            member=data["member"],
            service=data["service"],
            criticality=data["criticality"],
            progress=data["progress"],
            tag=data["tag"],
            since=data["since"],
            until=data["until"],
            responded=data["responded"],
            q=data["q"].strip(),
        )


def export_fields(form: InboxForm, query: QueryDict) -> list[tuple[str, str]] | None:
    """The inbox's filters, as the hidden fields of its export form; None when they are not
    valid (there is nothing to export until they are)."""
    if form.is_bound and not form.is_valid():
        return None
    return [(name, value) for name, value in query.items() if name in form.fields]


class ExportFormatForm(forms.Form):
    """The file an export of the inbox's stories is written as."""

    format = forms.ChoiceField(
        choices=ExportFormat.choices, initial=ExportFormat.XLSX, label="Export as"
    )


class FollowUpForm(forms.Form):
    """A network lead's note that a member's story was followed up offline."""

    member = forms.TypedChoiceField(coerce=int, label="Member")
    spoke_with = OneLineField(
        max_length=200,
        label="Who you spoke to",
        help_text="For example: Priya Shah, Ward Manager, by phone.",
        error_messages={"required": "Say who you spoke to."},
    )
    outcome = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        label="What came of it",
        error_messages={"required": "Say what came of it."},
    )

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [(m.pk, m.name) for m in members]


class FollowUpLogForm(forms.Form):
    """The story log's filters."""

    member = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    since = forms.DateField(
        required=False,
        label="Logged from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label="to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    who = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Logged by")

    def __init__(
        self,
        *args: Any,
        members: list[tuple[int, str]],
        authors: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [("", "Any"), *members]
        self.fields["who"].choices = [("", "Anyone"), *authors]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise ValidationError("The first date must not be after the second.")
        return cleaned
