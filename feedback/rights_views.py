"""Authors' rights on the hub: the "Your story" page behind the signed link, the form for
authors with no email, the moderators' page of requests, and the note a withdrawn story's
address shows. Thin: each view checks access, calls one operation and renders."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from feedback import author_requests
from feedback.author_requests import AuthorRequestError
from feedback.hub.models import AuthorRequest, AuthorRequestKind, Submission
from feedback.moderation_views import moderator_required
from feedback.rights_forms import AskForm, HandleRequestForm, WithdrawalForm
from feedback.withdrawal import WithdrawalError, WithdrawnNote, withdraw_story
from feedback.your_story import (
    author_data,
    check_story_token,
    mark_seen,
    record_author_download,
    story_for_author,
)
from tenants import ratelimit


def private_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages whose address carries the author's token, or which show their data: no
    cache keeps a copy, no link followed from them carries the address away, and no search
    engine lists them."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _too_many() -> HttpResponse:
    return HttpResponse(
        "Too many requests have been sent from your network in the last hour. "
        "Please try again later.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )


def _limited(request: HttpRequest, name: str) -> bool:
    limit = ratelimit.public_form_limit(name)
    return ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit


def _json_attachment(data: dict[str, Any], name: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@private_page
@require_http_methods(["GET", "POST"])
def your_story(request: HttpRequest, token: str) -> HttpResponse:
    checked = check_story_token(token)
    submission = checked.submission
    if submission is None:
        return render(
            request,
            "hub/your_story/link_refused.html",
            {"expired": checked.expired},
            status=410 if checked.expired else 404,
        )
    form = WithdrawalForm()
    status = 200
    if request.method == "POST":
        if _limited(request, "your-story"):
            return _too_many()
        action = request.POST.get("action")
        if action == "download":
            record_author_download(submission, request)
            return _json_attachment(
                author_data(submission),
                f"carevoice-your-story-{timezone.localdate().isoformat()}.json",
            )
        if action == "withdraw":
            form = WithdrawalForm(request.POST)
            if form.is_valid():
                try:
                    author_requests.ask_to_withdraw(
                        submission, form.cleaned_data["reason"], request=request
                    )
                except AuthorRequestError as exc:
                    messages.error(request, str(exc))
                    status = 409
                else:
                    messages.success(
                        request,
                        gettext(
                            "Thank you. A moderator will confirm your request and withdraw "
                            "your story; this page will say when it is done."
                        ),
                    )
                    return redirect(request.path)
            else:
                status = 400
        else:
            messages.error(request, gettext("Choose what you want to do."))
            status = 400
    else:
        mark_seen(submission)
    return render(
        request,
        "hub/your_story/page.html",
        {"story": story_for_author(submission), "form": form},
        status=status,
    )


@private_page
@require_http_methods(["GET", "POST"])
def your_story_ask(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = AskForm(request.POST)
        if form.is_bot or _limited(request, "author-request"):
            return _too_many()
        if form.is_valid():
            try:
                author_requests.ask_without_link(
                    form.cleaned_data["kind"],
                    details=form.details(),
                    contact=form.cleaned_data["contact"],
                    request=request,
                )
            except AuthorRequestError as exc:
                form.add_error(None, str(exc))
            else:
                return render(
                    request,
                    "hub/your_story/ask_sent.html",
                    {"kind": AuthorRequestKind(form.cleaned_data["kind"])},
                )
        return render(request, "hub/your_story/ask.html", {"form": form}, status=400)
    return render(request, "hub/your_story/ask.html", {"form": AskForm()})


def withdrawn_story_page(
    request: HttpRequest, note: WithdrawnNote, *, workspace: bool = False
) -> HttpResponse:
    """What a withdrawn story's address answers, on the hub and in a workspace: 410 Gone."""
    return render(
        request,
        "hub/your_story/withdrawn_story.html",
        {"note": note, "workspace": workspace},
        status=410,
    )


# --- moderators --------------------------------------------------------------------------


def _requests_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    return render(
        request,
        "hub/moderation/requests.html",
        {
            "open": list(author_requests.open_requests()),
            "handled": list(author_requests.recently_handled()),
            "query": query,
            "found": author_requests.find_submissions(query) if query else [],
        },
        status=status,
    )


@private_page
@require_GET
@moderator_required
def moderation_requests(request: HttpRequest) -> HttpResponse:
    return _requests_page(request)


@private_page
@require_POST
@moderator_required
def moderation_request(request: HttpRequest, pk: int) -> HttpResponse:
    made = get_object_or_404(AuthorRequest, pk=pk)
    form = HandleRequestForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _requests_page(request, status=400)
    data = form.cleaned_data
    action, note = data["action"], data["note"]
    try:
        if action == "link":
            author_requests.link_request(
                made.pk, data["submission"], note=note, moderator=request.user, request=request
            )
            messages.success(request, f"Linked to submission {data['submission']}.")
        elif action == "withdraw":
            if made.submission_id is None:
                raise AuthorRequestError("Link the request to the author's submission first.")
            withdrawal = withdraw_story(
                made.submission_id,
                moderator=request.user,
                author_request_id=made.pk,
                note=note,
                request=request,
            )
            copies = len(withdrawal.stories)
            messages.success(
                request,
                "Withdrawn"
                + (
                    f", with its copies at {copies} organisation{'s' * (copies != 1)}"
                    if copies
                    else ""
                )
                + ".",
            )
        elif action == "copy sent":
            author_requests.mark_copy_sent(
                made.pk, note=note, moderator=request.user, request=request
            )
            messages.success(request, "Recorded that the copy was sent.")
        else:
            author_requests.decline_request(
                made.pk, note=note, moderator=request.user, request=request
            )
            messages.success(request, "Declined.")
    except (AuthorRequestError, WithdrawalError) as exc:
        messages.error(request, str(exc))
        return _requests_page(request, status=400)
    return redirect("hub:moderation_requests")


@private_page
@require_GET
@moderator_required
def moderation_request_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """The author's data, for a moderator to send to an author who asked without a link."""
    made = get_object_or_404(AuthorRequest, pk=pk, kind=AuthorRequestKind.COPY)
    if made.submission_id is None:
        messages.error(request, "Link the request to the author's submission first.")
        return _requests_page(request, status=400)
    submission = get_object_or_404(Submission, pk=made.submission_id)
    author_requests.record_copy_prepared(made, moderator=request.user, request=request)
    return _json_attachment(
        author_data(submission), f"carevoice-author-data-submission-{submission.pk}.json"
    )
