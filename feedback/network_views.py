"""The network lead's pages: its members' stories (the network inbox), one story with its
members' progress and responses and the lead's follow-ups, and the story log with its CSV.

Only an organisation that leads a network has them, and only when its plan includes
network comparison; any of its staff may read and write in the log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from feedback.csv_export import csv_response
from feedback.forms import (
    ExportFormatForm,
    FollowUpForm,
    FollowUpLogForm,
    NetworkInboxForm,
    export_fields,
)
from feedback.models import NetworkFollowUp
from feedback.network_follow_ups import (
    CSV_HEADER,
    FollowUpError,
    LogFilters,
    export_follow_ups,
    follow_up_log,
    log_follow_up,
    logged_authors,
    logged_members,
)
from feedback.network_inbox import (
    filtered_network_stories,
    leads_a_network,
    member_services,
    network_counts,
    network_members,
    network_stories,
    network_story,
    stories_by_id,
)
from feedback.rendering import render_markdown
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability

View = Callable[..., HttpResponse]


def network_lead_page(view: View) -> View:
    """The plan first (network comparison), then sign-in and a staff role, then: only an
    organisation that leads a network (403 for anyone else, members included)."""

    @requires_capability(Capability.NETWORK_COMPARISON)
    @role_required(Role.MEMBER)
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not leads_a_network(request.tenant):
            raise PermissionDenied("Only the lead organisation of a network has these pages.")
        return view(request, *args, **kwargs)

    return wrapped


@network_lead_page
def network_stories_page(request: HttpRequest) -> HttpResponse:
    """Members' published stories, newest first, filtered as the staff inbox is."""
    members = network_members(request.tenant)
    form = NetworkInboxForm(
        request.GET or None, members=members, services=list(member_services(members))
    )
    filters = form.filters()
    rows = filtered_network_stories(filters, members)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/network/stories.html",
        {
            "page": page,
            "stories": network_stories(list(page), members),
            "members": members,
            "form": form,
            "counts": network_counts(rows),
            "querystring": query.urlencode(),
            "export_fields": export_fields(form, query),
            "export_form": ExportFormatForm(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@network_lead_page
def network_story_page(request: HttpRequest, public_id: int) -> HttpResponse:
    """One member's story: its members' progress and responses, and the lead's log on it,
    with the form to add to it."""
    found = network_story(public_id, network_members(request.tenant))
    if found is None:
        raise Http404("No such story among your network members' published stories.")
    form = FollowUpForm(
        request.POST if request.method == "POST" else None,
        members=found.members,
        initial={"member": found.members[0].pk},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            log_follow_up(
                request.tenant,
                public_id,
                member_id=data["member"],
                spoke_with=data["spoke_with"],
                outcome=data["outcome"],
                author=request.user,
                request=request,
            )
        except FollowUpError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Logged. Only your organisation's staff can see it.")
            return redirect("feedback:network_story", public_id=public_id)
    return render(
        request,
        "feedback/network/story.html",
        {
            "found": found,
            "story": found.story,
            "body": render_markdown(found.story.body),
            "follow_ups": NetworkFollowUp.objects.filter(public_story_id=public_id),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


def _log_form(request: HttpRequest) -> tuple[FollowUpLogForm, LogFilters | None]:
    """The log's filter form, and its filters (None when the form is invalid)."""
    form = FollowUpLogForm(request.GET or None, members=logged_members(), authors=logged_authors())
    if not form.is_bound:
        return form, LogFilters()
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, LogFilters(
        member=data["member"], since=data["since"], until=data["until"], who=data["who"]
    )


@network_lead_page
def follow_up_log_page(request: HttpRequest) -> HttpResponse:
    form, filters = _log_form(request)
    entries = follow_up_log(filters) if filters is not None else NetworkFollowUp.objects.none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    titles = stories_by_id(
        [entry.public_story_id for entry in page], network_members(request.tenant)
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/network/log.html",
        {
            "form": form,
            "page": page,
            "rows": [(entry, titles.get(entry.public_story_id)) for entry in page],
            "querystring": query.urlencode(),
        },
        status=400 if filters is None else 200,
    )


@network_lead_page
def follow_up_log_csv(request: HttpRequest) -> HttpResponse:
    form, filters = _log_form(request)
    if filters is None:
        problems = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(
            f"This export cannot be made: {problems}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    rows = export_follow_ups(request.tenant, filters, actor=request.user, request=request)
    return csv_response("network-story-log.csv", CSV_HEADER, rows)
