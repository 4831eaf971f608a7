"""The moderation queue and the moderation page, on the hub, for platform moderators."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from feedback import directory, pii
from feedback.choices import ChangeStatus
from feedback.followup import FollowupError, edit_author_reply, moderate_reply, query_change
from feedback.forms import ModerationForm, ReplyModerationForm
from feedback.hub.models import (
    AuthorReply,
    PublicResponse,
    ReplyState,
    SafeguardingConcern,
    ServiceListing,
    Submission,
    SubmissionState,
)
from feedback.moderation import (
    AUTHOR_FIELDS,
    CHECKED_FIELDS,
    FIELD_LABELS,
    TEXT_FIELDS,
    Decision,
    Edits,
    ModerationError,
    Ticked,
    accept_redactions,
    details_left,
    findings_for,
    has_details_left,
    publish_submission,
    reject_submission,
    reply_findings,
    save_edits,
)
from feedback.moderation_watch import measure_backlog
from feedback.thanks import Confirmed, Suggestion, ThanksError, suggest_staff

ADMIN_LOGIN = "/admin/login/"
# The author's lines, named briefly for the queue.
QUEUE_LABELS = {"nickname": "Nickname", "assisted_by": "Posted on their behalf by"}


def moderator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), ADMIN_LOGIN)
        if not (request.user.is_staff and request.user.has_perm("hub.moderate_submission")):
            raise PermissionDenied("Only Carevoice moderators can see this page.")
        return view(request, *args, **kwargs)

    return wrapped


@moderator_required
def queue(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=1)
    counts = Submission.objects.aggregate(
        pending=Count("id", filter=Q(state=SubmissionState.PENDING)),
        published_today=Count(
            "id", filter=Q(state=SubmissionState.PUBLISHED, moderated_at__gte=since)
        ),
        rejected_today=Count(
            "id", filter=Q(state=SubmissionState.REJECTED, moderated_at__gte=since)
        ),
    )
    # Stories with a safeguarding concern, then those with a possible-risk phrase, come
    # first however far back they are; then the oldest (hazard H1 in the hazard log).
    pending = (
        Submission.objects.filter(state=SubmissionState.PENDING)
        .annotate(
            has_concern=Exists(SafeguardingConcern.objects.filter(submission=OuterRef("pk"))),
            has_risk=RawSQL(
                "jsonb_path_exists(COALESCE(findings, '{}'), '$.risk.*[*]')",
                (),
                output_field=BooleanField(),
            ),
        )
        .prefetch_related("services__organisation")
        .order_by("-has_concern", "-has_risk", "created_at", "id")[:100]
    )
    wait = measure_backlog().oldest_wait
    counts["oldest_sent_at"] = timezone.now() - wait if wait is not None else None
    # Stored findings only: the queue never scans text (feedback.moderation.scan_submission).
    rows = [_queue_row(s) for s in pending]
    replies = []
    for reply in (
        AuthorReply.objects.filter(state=ReplyState.PENDING)
        .select_related("response")
        .order_by("created_at")[:50]
    ):
        found = reply_findings(reply)
        replies.append((reply, pii.highlight(reply.body, found), len(found)))
    changes = (
        PublicResponse.objects.exclude(change_status=ChangeStatus.NONE)
        .select_related("organisation")
        .order_by("-published_at")[:20]
    )
    return render(
        request,
        "hub/moderation/queue.html",
        {"rows": rows, "counts": counts, "replies": replies, "changes": changes},
    )


def _queue_row(submission: Submission) -> tuple[Submission, int, list[tuple[str, list]]]:
    """A pending story, how many personal details it holds, and what its author says of
    themselves (nickname, who posted it), highlighted."""
    findings = findings_for(submission)
    about = [
        (QUEUE_LABELS[name], pii.highlight(getattr(submission, name), findings[name]))
        for name in AUTHOR_FIELDS
        if getattr(submission, name)
    ]
    return submission, sum(len(found) for found in findings.values()), about


@require_http_methods(["GET", "POST"])
@moderator_required
def moderate_reply_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An author's reply: its personal details highlighted, the moderator's wording, and
    save, publish or reject. The queue's buttons post here too."""
    reply = get_object_or_404(AuthorReply.objects.select_related("response", "moderated_by"), pk=pk)
    form = ReplyModerationForm(initial={"body": reply.body})
    status = 200
    if request.method == "POST":
        form = ReplyModerationForm(request.POST)
        outcome = _act_on_reply(request, reply, form) if form.is_valid() else None
        if outcome is not None:
            return outcome
        reply.refresh_from_db()
        status = 400
    found = reply_findings(reply)
    return render(
        request,
        "hub/moderation/reply.html",
        {
            "reply": reply,
            "form": form,
            "findings": found,
            "segments": pii.highlight(reply.body, found),
        },
        status=status,
    )


def _act_on_reply(
    request: HttpRequest, reply: AuthorReply, form: ReplyModerationForm
) -> HttpResponse | None:
    """Carry out the moderator's action on a reply; None means show the page again."""
    action = request.POST.get("action")
    # Without a body (the queue's quick buttons), the reply is published as it stands.
    body = form.cleaned_data["body"] if "body" in request.POST else None
    text = reply.body if body is None else body
    try:
        redactions = accept_redactions({"body": text}, _ticked(request)).get("body", [])
        if action == "save":
            edit_author_reply(
                reply.pk,
                moderator=request.user,
                body=body,
                redactions=redactions,
                request=request,
            )
            messages.success(request, "Saved. Check the reply once more before publishing.")
            return redirect("hub:moderate_reply", pk=reply.pk)
        if action == "publish":
            if details_left(text, redactions) and not form.cleaned_data["details_checked"]:
                messages.error(
                    request,
                    "Personal details are still highlighted in the reply. Remove them, or "
                    "confirm that none of them identifies anyone.",
                )
                return None
            moderate_reply(
                reply.pk,
                moderator=request.user,
                publish=True,
                body=body,
                redactions=redactions,
                request=request,
            )
            messages.success(request, "Reply published.")
            return redirect("hub:moderation_queue")
        if action == "reject":
            moderate_reply(reply.pk, moderator=request.user, publish=False, request=request)
            messages.success(request, "Reply rejected.")
            return redirect("hub:moderation_queue")
    except (FollowupError, ValueError) as exc:
        messages.error(request, str(exc))
        return None
    messages.error(request, "Choose save, publish or reject.")
    return None


@require_POST
@moderator_required
def query_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        query_change(pk, request.POST.get("question", ""), moderator=request.user, request=request)
    except (FollowupError, PublicResponse.DoesNotExist) as exc:
        messages.error(request, str(exc) or "No such response.")
    else:
        messages.success(request, "Your question is shown with the change claim.")
    return redirect("hub:moderation_queue")


def _listings_for(submission: Submission) -> list[ServiceListing]:
    chosen = list(submission.services.select_related("organisation"))
    others = ServiceListing.objects.filter(
        organisation__in={listing.organisation_id for listing in chosen}, is_active=True
    ).select_related("organisation")
    return list({listing.pk: listing for listing in [*chosen, *others]}.values())


def _ticked(request: HttpRequest) -> list[Ticked]:
    """The suggested redactions ticked on the page: each `redact` value names
    "<field>:<index>", beside the words highlighted (`finding-<field>-<index>`) and the
    moderator's replacement (`replacement-<field>-<index>`)."""
    ticked = []
    for value in request.POST.getlist("redact"):
        field, _, index = value.partition(":")
        if index.isdigit():
            ticked.append(
                Ticked(
                    field,
                    request.POST.get(f"finding-{field}-{index}", ""),
                    request.POST.get(f"replacement-{field}-{index}", ""),
                )
            )
    return ticked


@moderator_required
def moderate(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(Submission.objects.prefetch_related("services"), pk=pk)
    listings = _listings_for(submission)
    if submission.state != SubmissionState.PENDING:
        return render(request, "hub/moderation/done.html", {"submission": submission})
    query = request.POST.get("q", "").strip()[:100]
    if query:
        # Correcting the services: any organisation's, found in the directory.
        found = directory.search_listings(query)
        listings = list({x.pk: x for x in [*listings, *found]}.values())
    if request.method == "POST" and request.POST.get("action") == "find":
        form = ModerationForm(request.POST, listings=listings)
        status = 200
    elif request.method == "POST":
        form = ModerationForm(request.POST, listings=listings)
        if form.is_valid():
            outcome = _act(request, submission, form)
            if outcome is not None:
                return outcome
            submission.refresh_from_db()
        status = 400
    else:
        form = ModerationForm(
            initial={
                **{name: getattr(submission, name) for name in CHECKED_FIELDS},
                "services": [listing.pk for listing in submission.services.all()],
            },
            listings=listings,
        )
        status = 200
    findings = findings_for(submission)
    suggestions = staff_suggestions(submission, form)
    highlighted = {
        name: pii.highlight(getattr(submission, name), findings[name]) for name in CHECKED_FIELDS
    }
    # (field, label, highlighted text, findings) for the text, then for the author's lines.
    sections = [
        (name, FIELD_LABELS[name], highlighted[name], findings[name]) for name in TEXT_FIELDS
    ]
    about_author = [
        (name, FIELD_LABELS[name], highlighted[name], findings[name]) for name in AUTHOR_FIELDS
    ]
    return render(
        request,
        "hub/moderation/moderate.html",
        {
            "submission": submission,
            "form": form,
            "findings": findings,
            "highlighted": highlighted,
            "sections": sections,
            "about_author": about_author,
            "checked": [*sections, *about_author],
            "any_findings": any(findings.values()),
            "listings": listings,
            "staff_suggestions": suggestions,
            "thanked": set(request.POST.getlist("thank")),
        },
        status=status,
    )


def staff_suggestions(submission: Submission, form: ModerationForm) -> list[Suggestion]:
    """Staff the story seems to name, in the directories of the organisations it may be
    about: from the names found in its text when it arrived or was last edited (stored:
    the page never scans text), as the page shows them."""
    findings = findings_for(submission)
    return suggest_staff(
        [f for name in TEXT_FIELDS for f in findings[name]],
        [getattr(submission, name) for name in TEXT_FIELDS],
        list(form.listings.values()),
    )


def _confirmed(request: HttpRequest, suggestions: list[Suggestion]) -> tuple[Confirmed, ...]:
    offered = {s.key: s for s in suggestions}
    confirmed = []
    for key in request.POST.getlist("thank"):
        if key not in offered:
            raise ThanksError(
                "A member of staff ticked for thanks is not among the suggestions for this "
                "text any more. Check the suggestions again."
            )
        confirmed.append(Confirmed.from_key(key, offered[key].named_as))
    return tuple(confirmed)


def _act(request: HttpRequest, submission: Submission, form: ModerationForm) -> HttpResponse | None:
    """Carry out the moderator's action; None means show the page again with a message."""
    data = form.cleaned_data
    texts = {name: data[name] for name in TEXT_FIELDS}
    # The author's lines are always on the page; a post without them leaves them as they are.
    texts.update({name: data[name] for name in AUTHOR_FIELDS if name in request.POST})
    action = request.POST.get("action")
    try:
        edits = Edits(texts=texts, redactions=accept_redactions(texts, _ticked(request)))
        if action == "save":
            save_edits(submission.pk, moderator=request.user, edits=edits, request=request)
            messages.success(request, "Saved. Check the text once more before publishing.")
            return redirect("hub:moderate", pk=submission.pk)
        if action == "publish":
            if has_details_left(submission, edits) and not data["details_checked"]:
                messages.error(
                    request,
                    "Personal details are still highlighted. Remove them, or confirm that "
                    "none of them identifies anyone.",
                )
                return None
            published = publish_submission(
                submission.pk,
                moderator=request.user,
                decision=Decision(
                    criticality=data["criticality"],
                    tag_keys=data["tags"],
                    listings=[form.listings[pk] for pk in data["services"]],
                    thanks=_confirmed(request, staff_suggestions(submission, form)),
                ),
                edits=edits,
                request=request,
            )
            messages.success(request, f"Published as story {published.public_story.pk}.")
            return redirect("hub:moderation_queue")
        if action == "reject":
            if not data["rejection_reason"]:
                messages.error(request, "Choose a reason for rejecting the story.")
                return None
            reject_submission(
                submission.pk,
                moderator=request.user,
                reason=data["rejection_reason"],
                note=data["rejection_note"],
                request=request,
            )
            messages.success(
                request,
                "Rejected." + (" The author will be emailed." if submission.has_email else ""),
            )
            return redirect("hub:moderation_queue")
    except (ModerationError, ThanksError, ValueError) as exc:
        messages.error(request, str(exc))
        return None
    messages.error(request, "Choose save, publish or reject.")
    return None
