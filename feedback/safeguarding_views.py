"""Safeguarding pages. On the hub, for moderators: the open concerns, and raising a concern
about a submission or withholding it. In an organisation's workspace, for its safeguarding
contacts and administrators: its own concerns, each with the story and an Acknowledge form.
The operations are in feedback/safeguarding.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from feedback.hub.models import ConcernCategory, SafeguardingConcern, Submission, SubmissionState
from feedback.models import Story
from feedback.moderation_views import moderator_required
from feedback.safeguarding import (
    MAX_NOTE_CHARACTERS,
    ConcernNotFound,
    SafeguardingError,
    acknowledge_concern,
    raise_concern,
    story_text,
    time_left,
    withhold_submission,
)
from tenants.accounts.models import Role

# How long an acknowledged concern stays on the moderators' list of open concerns.
RECENTLY_ACKNOWLEDGED = timedelta(days=14)


class ConcernForm(forms.Form):
    category = forms.ChoiceField(
        label="What kind of concern",
        choices=[("", "Choose…"), *ConcernCategory.choices],
        error_messages={"required": "Choose the kind of concern."},
    )
    note = forms.CharField(
        label="Note for the organisation",
        help_text="What the concern is and why. The organisation's safeguarding contacts read "
        "it with the story. Never include the author's contact details.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=MAX_NOTE_CHARACTERS,
        error_messages={"required": "Write a note for the organisation: what the concern is."},
    )


class WithholdForm(forms.Form):
    note = forms.CharField(
        label="Why it is withheld",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_NOTE_CHARACTERS,
        error_messages={"required": "Say why the story is withheld (kept in the audit log)."},
    )


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        help_text="What you have done or will do, for the record.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=MAX_NOTE_CHARACTERS,
        required=False,
    )


# --- hub: moderators ---------------------------------------------------------------------


@moderator_required
def concerns(request: HttpRequest) -> HttpResponse:
    """Concerns waiting for acknowledgement (the soonest to escalate first), and those
    acknowledged lately."""
    now = timezone.now()
    base = SafeguardingConcern.objects.select_related("organisation", "raised_by", "submission")
    waiting = list(base.filter(acknowledged_at__isnull=True).order_by("escalate_at", "id")[:200])
    acknowledged = list(
        base.filter(acknowledged_at__gte=now - RECENTLY_ACKNOWLEDGED).order_by("-acknowledged_at")[
            :100
        ]
    )
    return render(
        request,
        "hub/moderation/safeguarding.html",
        {
            "waiting": [(c, time_left(c, now)) for c in waiting],
            "acknowledged": acknowledged,
            "recent_days": RECENTLY_ACKNOWLEDGED.days,
        },
    )


@moderator_required
def submission_concerns(request: HttpRequest, pk: int) -> HttpResponse:
    """Raise a concern about one submission, or withhold it. The forms are also on the
    moderation page (hub/moderation/_safeguarding_panel.html); this page shows them again
    with what needs fixing."""
    submission = get_object_or_404(Submission, pk=pk)
    concern_form = ConcernForm()
    withhold_form = WithholdForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "raise":
            concern_form = ConcernForm(request.POST)
            if concern_form.is_valid():
                try:
                    made = raise_concern(
                        submission.pk,
                        moderator=request.user,
                        category=concern_form.cleaned_data["category"],
                        note=concern_form.cleaned_data["note"],
                        request=request,
                    )
                except SafeguardingError as exc:
                    concern_form.add_error(None, str(exc))
                else:
                    names = ", ".join(concern.organisation.name for concern in made)
                    messages.success(
                        request,
                        f"Safeguarding concern raised with {names}: their safeguarding "
                        "contacts are being alerted now. Next, publish a redacted version "
                        "or withhold the story.",
                    )
                    return redirect("hub:moderate", pk=submission.pk)
        elif action == "withhold":
            withhold_form = WithholdForm(request.POST)
            if withhold_form.is_valid():
                try:
                    withhold_submission(
                        submission.pk,
                        moderator=request.user,
                        note=withhold_form.cleaned_data["note"],
                        request=request,
                    )
                except SafeguardingError as exc:
                    withhold_form.add_error(None, str(exc))
                else:
                    messages.success(request, f"“{submission.title}” is withheld.")
                    return redirect("hub:moderation_queue")
        else:
            messages.error(request, "Choose to raise a concern or to withhold the story.")
        status = 400
    return render(
        request,
        "hub/moderation/safeguarding_submission.html",
        {
            "submission": submission,
            "is_pending": submission.state == SubmissionState.PENDING,
            "concern_form": concern_form,
            "withhold_form": withhold_form,
            "categories": ConcernCategory.choices,
        },
        status=status,
    )


# --- workspace: the organisation's safeguarding contacts and administrators ----------------


def can_see_concerns(user: Any) -> bool:
    """Safeguarding contacts and administrators see their organisation's concerns."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_safeguarding_contact or user.has_role(Role.ADMINISTRATOR))
    )


def safeguarding_access_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_see_concerns(request.user):
            raise PermissionDenied(
                "Only the organisation's safeguarding contacts and administrators can see "
                "safeguarding concerns."
            )
        return view(request, *args, **kwargs)

    return wrapped


def _own_concerns(request: HttpRequest):  # noqa: ANN202 - a QuerySet of SafeguardingConcern
    # TRICKY: the hub's tables are on every organisation's search path, so this reads them
    # without switching schema; the filter on the current organisation is what keeps another
    # organisation's concerns out (tests/feedback/test_safeguarding.py).
    return SafeguardingConcern.objects.filter(organisation_id=request.tenant.pk).select_related(
        "submission"
    )


@safeguarding_access_required
def workspace_concerns(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = list(
        _own_concerns(request).order_by(F("acknowledged_at").asc(nulls_first=True), "-raised_at")[
            :200
        ]
    )
    return render(
        request,
        "feedback/workspace/safeguarding.html",
        {
            "rows": [(c, time_left(c, now)) for c in rows],
            "hours": request.tenant.safeguarding_escalate_hours,
        },
    )


@safeguarding_access_required
def workspace_concern(request: HttpRequest, pk: int) -> HttpResponse:
    concern = get_object_or_404(_own_concerns(request), pk=pk)
    form = AcknowledgeForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                acknowledge_concern(
                    concern.pk,
                    user=request.user,
                    note=form.cleaned_data["note"],
                    request=request,
                    organisation=request.tenant,
                )
            except ConcernNotFound:
                raise Http404("No such concern.") from None
            except SafeguardingError as exc:
                messages.error(request, str(exc))
                status = 409
                concern.refresh_from_db()
            else:
                messages.success(request, "Acknowledged. Thank you for acting on it.")
                return redirect("feedback:safeguarding_concern", pk=concern.pk)
    story = None
    if concern.submission.public_story_id:
        story = Story.objects.filter(public_id=concern.submission.public_story_id).first()
    return render(
        request,
        "feedback/workspace/safeguarding_concern.html",
        {
            "concern": concern,
            "time_left": time_left(concern),
            "sections": story_text(concern.submission),
            "story": story,
            "form": form,
        },
        status=status,
    )
