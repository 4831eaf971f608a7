"""Bulk exports' pages (feedback/exporting.py): asked for from the inbox and the network inbox,
watched on their own page, listed, and downloaded through a signed link."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from feedback import exporting
from feedback.forms import ExportFormatForm, InboxForm, NetworkInboxForm
from feedback.inbox import InboxFilters
from feedback.models import ExportScope, ExportState, StoryExport
from feedback.network_inbox import leads_a_network, member_services, network_members
from feedback.network_views import network_lead_page
from feedback.service_limits import administers_everything, covers, limited_services
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.audit.recording import record_audit
from tenants.gate import Capability, has_capability


def _refused(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "feedback/exports/refused.html", {"message": message}, status=status)


def _queue(request: HttpRequest, scope: str, form: InboxForm) -> HttpResponse:
    chosen = ExportFormatForm(request.POST)
    if not form.is_valid() or not chosen.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors]
        problems += [str(e) for errors in chosen.errors.values() for e in errors]
        return _refused(request, "The export was not started: " + " ".join(problems), 400)
    try:
        filters = form.filters()
        within = limited_services(request.user)
        if within is not None and isinstance(filters, InboxFilters):
            filters = replace(filters, within=sorted(within))
        export = exporting.queue_export(
            scope=scope,
            format=chosen.cleaned_data["format"],
            filters=filters,
            user=request.user,
            request=request,
        )
    except exporting.TooManyExports as refused:
        response = _refused(request, refused.message, 429)
        response["Retry-After"] = str(refused.retry_after)
        return response
    return redirect("feedback:export", token=export.token)


@require_POST
@role_required(Role.MEMBER)
def export_inbox(request: HttpRequest) -> HttpResponse:
    """Export the stories the inbox's filters (posted with the form) find: only their
    services' for a person limited to some (kept on the export for the worker)."""
    within = limited_services(request.user)
    return _queue(request, ExportScope.ORGANISATION, InboxForm(request.POST, within=within))


@require_POST
@network_lead_page
def export_network(request: HttpRequest) -> HttpResponse:
    """Export the members' published stories the network inbox's filters find."""
    members = network_members(request.tenant)
    form = NetworkInboxForm(request.POST, members=members, services=list(member_services(members)))
    return _queue(request, ExportScope.NETWORK, form)


def _own_export(request: HttpRequest, token: str) -> StoryExport:
    """One of the person's own exports in this schema (any, for an administrator)."""
    if not exporting.TOKEN.match(token):
        raise Http404("No such export.")
    exports = StoryExport.objects.filter(token=token)
    if not _sees_everyones(request):
        exports = exports.filter(requested_by=request.user)
    export = exports.first()
    if export is None or not covers(request.user, export.filters.get("within")):
        raise Http404("No such export.")
    return export


def _sees_everyones(request: HttpRequest) -> bool:
    """Administrators see everyone's exports, unless limited to some services."""
    return administers_everything(request.user)


def _download_url(export: StoryExport) -> str | None:
    if not exporting.is_ready(export):
        return None
    return reverse("feedback:export_download", kwargs={"token": exporting.signed_link(export)})


@role_required(Role.MEMBER)
def exports_page(request: HttpRequest) -> HttpResponse:
    """The person's exports of the last week (everyone's, for an administrator)."""
    since = timezone.now() - timedelta(days=exporting.KEEP_DAYS)
    exports = StoryExport.objects.filter(created_at__gte=since).select_related("requested_by")
    everyone = _sees_everyones(request)
    if not everyone:
        exports = exports.filter(requested_by=request.user)
    shown = [e for e in exports[:100] if covers(request.user, e.filters.get("within"))]
    return render(
        request,
        "feedback/exports/list.html",
        {
            "exports": [(e, _download_url(e)) for e in shown],
            "everyone": everyone,
            "keep_days": exporting.KEEP_DAYS,
        },
    )


@role_required(Role.MEMBER)
def export_page(request: HttpRequest, token: str) -> HttpResponse:
    export = _own_export(request, token)
    return render(
        request,
        "feedback/exports/progress.html",
        {
            "export": export,
            "download_url": _download_url(export),
            "status_url": reverse("feedback:export_status", kwargs={"token": export.token}),
            "keep_days": exporting.KEEP_DAYS,
        },
    )


@never_cache
@role_required(Role.MEMBER)
def export_status(request: HttpRequest, token: str) -> JsonResponse:
    """What the progress page polls."""
    export = _own_export(request, token)
    download = _download_url(export)
    return JsonResponse(
        {
            "state": export.state,
            "percent": 100 if download else export.percent,
            "rows": export.rows,
            "finished": export.state in (ExportState.DONE, ExportState.FAILED),
            "note": export.note,
            "download": download,
        }
    )


@role_required(Role.MEMBER)
def download(request: HttpRequest, token: str) -> FileResponse:
    """The file, for the organisation's staff holding a genuine, unlapsed link made in this
    workspace (the path is built from this workspace's schema: another's is never found)."""
    export = exporting.export_for_link(token)
    if (
        export is None
        or not exporting.is_ready(export)
        or not covers(request.user, export.filters.get("within"))
    ):
        raise Http404("This export has expired or does not exist. Please export again.")
    if export.scope == ExportScope.NETWORK and not (
        has_capability(request.tenant, Capability.NETWORK_COMPARISON)
        and leads_a_network(request.tenant)
    ):
        raise Http404("This export has expired or does not exist. Please export again.")
    record_audit(
        "stories.export_downloaded",
        actor=request.user,
        target=export,
        summary=f"Downloaded an export ({export.rows} stories): {export.description}",
        request=request,
    )
    response = FileResponse(
        exporting.file_path(export).open("rb"),
        as_attachment=True,
        filename=exporting.file_name(export),
        content_type=exporting.CONTENT_TYPES[export.format],
    )
    response["Cache-Control"] = "private, no-store"
    return response
