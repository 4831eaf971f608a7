"""Forms for authors' rights: a request through the "Your story" link, the form for authors
with no email, and a moderator's handling of a request. Every message names what to fix."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from feedback.author_requests import MAX_CONTACT, MAX_DETAILS
from feedback.forms import CONTROL
from feedback.hub.models import AuthorRequestKind


class PlainTextField(forms.CharField):
    def to_python(self, value: object) -> str:
        # Control characters (not tabs or new lines) are noise from copy and paste.
        return CONTROL.sub("", super().to_python(value))


class WithdrawalForm(forms.Form):
    reason = PlainTextField(
        required=False,
        max_length=MAX_DETAILS,
        label=_("Why do you want it withdrawn? (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": _("Please keep your reason under %(limit_value)s characters.")
        },
    )


class AskForm(forms.Form):
    """For an author with no "Your story" link: what they want, how to find their story,
    what only they would know, and how to reach them."""

    kind = forms.ChoiceField(
        choices=AuthorRequestKind.choices,
        widget=forms.RadioSelect,
        label=_("What do you want us to do?"),
        error_messages={"required": _("Choose whether you want your story withdrawn or a copy.")},
    )
    story = PlainTextField(
        required=False,
        max_length=300,
        label=_("Your story's address or title, if you know it"),
        help_text=_("For example https://carevoice.example/stories/1234/, or its title."),
    )
    organisation = PlainTextField(
        required=False,
        max_length=200,
        label=_("The organisation or service it was about"),
    )
    when = PlainTextField(
        required=False,
        max_length=100,
        label=_("Roughly when you sent it"),
        help_text=_("For example: March 2025, or last spring."),
    )
    only_you = PlainTextField(
        max_length=2000,
        label=_("Something only the author would know"),
        help_text=_(
            "What you wrote in it that was not published, a sentence as you wrote it, or the "
            "nickname you used. Do not send passwords or bank details."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _(
                "Tell us something only the author would know, so a moderator can "
                "check that the story is yours."
            )
        },
    )
    contact = PlainTextField(
        max_length=MAX_CONTACT,
        label=_("How can we reach you with the answer?"),
        help_text=_("A phone number, a postal address or an email address."),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Tell us how to reach you with the answer.")},
    )
    # Left empty by people; bots fill in every field.
    website = forms.CharField(required=False, label=_("Leave this empty"))

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("story", "organisation", "when")):
            raise ValidationError(
                _(
                    "Tell us how to find your story: its address or title, the organisation "
                    "it was about, or roughly when you sent it."
                )
            )
        return cleaned

    def details(self) -> str:
        data = self.cleaned_data
        parts = [
            ("Story", data.get("story")),
            ("Organisation or service", data.get("organisation")),
            ("Sent", data.get("when")),
            ("What only the author would know", data.get("only_you")),
        ]
        return "\n".join(f"{label}: {value}" for label, value in parts if value)


class HandleRequestForm(forms.Form):
    """A moderator's action on one request."""

    ACTIONS = ("link", "withdraw", "copy sent", "decline")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    submission = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "Give the submission's number, as the search shows it."},
    )
    note = PlainTextField(required=False, max_length=MAX_DETAILS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("action") == "link" and not cleaned.get("submission"):
            raise ValidationError("Give the number of the submission this request is about.")
        return cleaned
