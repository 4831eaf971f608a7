"""Entering a story for its author (feedback/entering.py): the moderators' page on the hub,
the story takers' page in an organisation's workspace, and the scans of paper forms, each
fetched only by those allowed to see it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from feedback import directory
from feedback.choices import ENTERED_ROUTES, AgeGroup, AuthorRole, ConsentGiven
from feedback.entering import (
    SCAN_NAME,
    SCAN_TYPES,
    EnteredStory,
    EnteringError,
    check_scan,
    enter_story,
    is_story_taker,
    scan_path,
)
from feedback.forms import CONTROL, POSTCODE, OneLineField, StoryTextField
from feedback.hub.models import ServiceListing, Submission
from feedback.languages import StoryLanguage
from feedback.moderation_views import moderator_required
from tenants.models import Organisation


class EnterStoryForm(forms.Form):
    """A story received on paper, by phone or in person, typed in for its author."""

    services = forms.TypedMultipleChoiceField(
        coerce=int,
        label="Which services is the story about?",
        error_messages={"required": "Choose at least one service the story is about."},
    )
    route = forms.ChoiceField(
        choices=[(route.value, route.label) for route in ENTERED_ROUTES],
        widget=forms.RadioSelect,
        label="How did the story reach you?",
        error_messages={"required": "Say how the story reached you: paper, phone or in person."},
    )
    language = forms.ChoiceField(
        choices=[
            (StoryLanguage.ENGLISH.value, "English"),
            (StoryLanguage.WELSH.value, "Cymraeg"),
        ],
        widget=forms.RadioSelect,
        initial=StoryLanguage.ENGLISH,
        label="Language the story was told in",
        help_text="It is published in it, and emails to the author are written in it.",
        error_messages={"required": "Say which language the story was told in."},
    )
    title = forms.CharField(
        max_length=200,
        label="Title",
        error_messages={"required": "Give the story a title (the author's, if they gave one)."},
    )
    what_was_good = StoryTextField(label="What was good?")
    what_could_be_improved = StoryTextField(label="What could have been improved?")
    how_it_felt = StoryTextField(label="How did it make them feel?")
    author_role = forms.ChoiceField(
        choices=AuthorRole.choices,
        label="Who is the author in this story?",
        error_messages={"required": "Say who the author is in this story."},
    )
    author_age_group = forms.ChoiceField(
        choices=AgeGroup.choices,
        label="The author's age group",
        initial=AgeGroup.NOT_SAID,
        error_messages={"required": "Choose an age group, or “I'd rather not say”."},
    )
    nickname = OneLineField(
        max_length=60,
        required=False,
        label="A nickname to show with the story (optional)",
        help_text="Not their real name: stories are published anonymously.",
    )
    email = forms.EmailField(
        required=False,
        label="The author's email address, if they want to hear of responses (optional)",
        help_text="Never published, never shown to the organisation.",
    )
    postcode = forms.CharField(max_length=8, required=False, label="Their postcode (optional)")
    consent_given = forms.ChoiceField(
        choices=ConsentGiven.choices,
        widget=forms.RadioSelect,
        label="How did the author agree to their story being published?",
        error_messages={"required": "Say how the author agreed to their story being published."},
    )
    consent_confirmed = forms.BooleanField(
        label="The author agreed that their story may be published, after moderation, without "
        "their name or contact details",
        error_messages={
            "required": "Confirm that the author agreed to publication: without it the story "
            "cannot be entered."
        },
    )
    scan = forms.FileField(
        required=False,
        label="A scan of the paper form (optional: PDF, PNG or JPEG, up to 10 MB)",
        help_text="Only Carevoice's moderators, and your organisation's story takers for its "
        "own entries, can open it.",
    )

    def __init__(
        self, *args: Any, listings: list[ServiceListing], not_offered: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.listings = {listing.pk: listing for listing in listings}
        field = self.fields["services"]
        field.choices = [(pk, str(listing)) for pk, listing in self.listings.items()]
        field.error_messages["invalid_choice"] = not_offered

    def clean_postcode(self) -> str:
        value = self.cleaned_data.get("postcode", "").strip()
        if value and not POSTCODE.match(value):
            raise ValidationError("Enter a UK postcode like LS1 4AP, or just its first part, LS1.")
        return value

    def clean_scan(self) -> Any:
        upload = self.cleaned_data.get("scan")
        if upload:
            try:
                check_scan(upload)
            except EnteringError as exc:
                raise ValidationError(str(exc)) from None
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if isinstance(cleaned.get("title"), str):
            cleaned["title"] = CONTROL.sub("", cleaned["title"])
        answers = [
            cleaned.get(f, "") for f in ("what_was_good", "what_could_be_improved", "how_it_felt")
        ]
        if not any(a.strip() for a in answers if a) and not self.has_error("what_was_good"):
            self.add_error("what_was_good", "Enter what the author said in at least one box.")
        return cleaned

    def entry(self) -> EnteredStory:
        data = self.cleaned_data
        return EnteredStory(
            title=data["title"],
            what_was_good=data["what_was_good"],
            what_could_be_improved=data["what_could_be_improved"],
            how_it_felt=data["how_it_felt"],
            author_role=data["author_role"],
            author_age_group=data["author_age_group"],
            nickname=data["nickname"],
            route=data["route"],
            consent_given=data["consent_given"],
            consent_confirmed=data["consent_confirmed"],
            listings=[self.listings[pk] for pk in data["services"]],
            email=data.get("email") or "",
            postcode=data.get("postcode") or "",
            language=data["language"],
        )


def _posted_ids(request: HttpRequest) -> list[int]:
    # isascii: "²" and other Unicode digits pass isdigit() but not int().
    values = request.POST.getlist("services")
    return [int(v) for v in values if v.isascii() and v.isdigit()][:20]


def _enter(
    request: HttpRequest,
    form: EnterStoryForm,
    *,
    organisation: Organisation | None,
) -> Submission | None:
    """Enter the story if the form is good; None (with the form's errors) otherwise."""
    if not form.is_valid():
        return None
    try:
        return enter_story(
            form.entry(),
            entered_by=request.user,
            organisation=organisation,
            scan=form.cleaned_data.get("scan") or None,
            request=request,
        )
    except EnteringError as exc:
        form.add_error(None, str(exc))
        return None


def _scan_response(submission: Submission) -> FileResponse:
    path = scan_path(submission.scan)
    match = SCAN_NAME.match(submission.scan or "")
    if path is None or match is None:
        raise Http404("No scan of a paper form was attached to this story.")
    response = FileResponse(
        path.open("rb"),
        content_type=SCAN_TYPES[match["ext"]],
        as_attachment=True,
        filename=f"story-{submission.pk}-scan.{match['ext']}",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- the hub: moderators -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@moderator_required
def moderation_enter(request: HttpRequest) -> HttpResponse:
    """A moderator enters a story for its author, about any organisation's services: found
    with a search, as on the story form."""
    query = request.POST.get("q", request.GET.get("q", "")).strip()[:100]
    chosen = directory.listings_by_id(_posted_ids(request)) if request.method == "POST" else []
    found = list(directory.search_listings(query)) if query else []
    offered = list({x.pk: x for x in [*chosen, *found]}.values())
    not_offered = "That service is not in the directory (it may have closed): search again."
    status = 200
    if request.method == "POST" and request.POST.get("action") == "send":
        form = EnterStoryForm(
            request.POST, request.FILES, listings=offered, not_offered=not_offered
        )
        submission = _enter(request, form, organisation=None)
        if submission is not None:
            messages.success(request, "The story is in the moderation queue.")
            return redirect("hub:moderate", pk=submission.pk)
        status = 400
    else:
        typed = request.POST.dict() if request.method == "POST" else {}
        typed.pop("csrfmiddlewaretoken", None)
        form = EnterStoryForm(
            initial={**typed, "services": [x.pk for x in chosen]},
            listings=offered,
            not_offered=not_offered,
        )
    chosen_ids = {listing.pk for listing in chosen}
    return render(
        request,
        "hub/moderation/enter.html",
        {
            "form": form,
            "query": query,
            "chosen": chosen,
            "found": [listing for listing in found if listing.pk not in chosen_ids],
        },
        status=status,
    )


@moderator_required
def moderation_scan(request: HttpRequest, pk: int) -> FileResponse:
    return _scan_response(get_object_or_404(Submission, pk=pk))


# --- an organisation's workspace: story takers ---------------------------------------------


def _require_story_taker(request: HttpRequest) -> None:
    if not is_story_taker(request.user):
        raise PermissionDenied(
            "Only story takers can enter stories for their authors: ask one of your "
            "organisation's administrators."
        )


@require_http_methods(["GET", "POST"])
def workspace_enter(request: HttpRequest) -> HttpResponse:
    """A story taker enters a story about their own organisation's services. It goes to the
    hub's moderators like any other, marked as entered by staff."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    _require_story_taker(request)
    organisation = request.tenant
    listings = list(directory.search_listings("", organisation=organisation, limit=500))
    not_offered = (
        f"Choose {organisation.name}'s own services: a story about another organisation is "
        "entered by Carevoice's moderators."
    )
    status = 200
    if request.method == "POST":
        form = EnterStoryForm(
            request.POST, request.FILES, listings=listings, not_offered=not_offered
        )
        submission = _enter(request, form, organisation=organisation)
        if submission is not None:
            messages.success(
                request,
                "Sent to Carevoice's moderators. It is published once they have checked it.",
            )
            return redirect("feedback:enter_story")
        status = 400
    else:
        form = EnterStoryForm(listings=listings, not_offered=not_offered)
    entries = (
        Submission.objects.filter(entered_by_organisation=organisation)
        .order_by("-created_at", "-id")
        .only("pk", "created_at", "route", "state", "scan", "entered_by")[:20]
    )
    return render(
        request,
        "feedback/workspace/enter_story.html",
        {"form": form, "entries": entries, "organisation": organisation},
        status=status,
    )


def workspace_scan(request: HttpRequest, pk: int) -> HttpResponse:
    """The scan of a paper form this organisation's story takers entered; no one else's."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    _require_story_taker(request)
    submission = get_object_or_404(Submission, pk=pk, entered_by_organisation=request.tenant)
    return _scan_response(submission)
