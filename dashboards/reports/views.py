"""Thin views: the report's controls, the summary page, You said we did, and the CSV."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dashboards.filters import tenant_scope
from dashboards.queries import Scope
from dashboards.reports import committee, long_reports
from dashboards.reports.forms import CommitteeForm, ReportForm
from dashboards.reports.rendering import render_report
from dashboards.reports.summary import stories_summary
from dashboards.reports.you_said_we_did import changes_made
from feedback.csv_export import csv_response
from feedback.service_limits import limited_services
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.gate import Capability, requires_capability


def _read(request: HttpRequest, params: object = None) -> tuple[ReportForm, Scope | None]:
    """The form, and the scope it asks for (None when the form is invalid)."""
    today = timezone.localdate()
    within = limited_services(request.user)
    form = ReportForm(
        (request.GET if params is None else params) or None, today=today, within=within
    )
    if form.is_bound and not form.is_valid():
        return form, None
    data = form.cleaned_data if form.is_bound else {}
    scope = tenant_scope(
        request.tenant.pk,
        start=data["start"].isoformat() if data.get("start") else None,
        end=data["end"].isoformat() if data.get("end") else None,
        service=data.get("service"),
        criticality=None,
        today=today,
        within=within,
    )
    if not form.is_bound:
        form = ReportForm(
            initial={"start": scope.start, "end": scope.end}, today=today, within=within
        )
    return form, scope


def _context(request: HttpRequest, form: ReportForm, scope: Scope | None) -> dict:
    long = scope is not None and long_reports.is_long(scope.start, scope.end)
    return {
        "form": form,
        "query": request.GET.urlencode(),
        "long_report": long,
        "report_scope": scope,
    }


@role_required(Role.MEMBER)
def summary(request: HttpRequest) -> HttpResponse:
    form, scope = _read(request)
    context = _context(request, form, scope)
    if scope is None:
        return render(request, "reports/summary.html", context, status=400)
    context["summary"] = stories_summary(scope)
    return render(request, "reports/summary.html", context)


@role_required(Role.MEMBER)
def you_said_we_did(request: HttpRequest) -> HttpResponse:
    form, scope = _read(request)
    context = _context(request, form, scope)
    if scope is None:
        return render(request, "reports/you_said_we_did.html", context, status=400)
    context.update(scope=scope, changes=changes_made(scope))
    return render(request, "reports/you_said_we_did.html", context)


def _refused(form: ReportForm) -> HttpResponse:
    problems = [str(error) for errors in form.errors.values() for error in errors]
    return HttpResponse(
        "This report cannot be made: " + " ".join(problems) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def pdf_response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(Role.MEMBER)
def summary_pdf(request: HttpRequest) -> HttpResponse:
    form, scope = _read(request)
    if scope is None:
        return _refused(form)
    report = render_report("summary", scope)
    return pdf_response(report.content, report.filename)


@role_required(Role.MEMBER)
def you_said_we_did_pdf(request: HttpRequest) -> HttpResponse:
    form, scope = _read(request)
    if scope is None:
        return _refused(form)
    report = render_report("you-said-we-did", scope)
    return pdf_response(report.content, report.filename)


@role_required(Role.MEMBER)
def you_said_we_did_csv(request: HttpRequest) -> HttpResponse:
    """One row per change made in the period: the story, the change, the response."""
    form, scope = _read(request)
    if scope is None:
        return _refused(form)
    rows = (
        (
            change.story_pk,
            change.story_title,
            change.story_excerpt,
            change.change,
            change.response_excerpt,
            timezone.localtime(change.responded_at).date().isoformat(),
        )
        for change in changes_made(scope)
    )
    return csv_response(
        f"you-said-we-did-{scope.start.isoformat()}-{scope.end.isoformat()}.csv",
        ["story id", "story title", "story excerpt", "change", "response excerpt", "responded on"],
        rows,
    )


@role_required(Role.MEMBER)
def summary_csv(request: HttpRequest) -> HttpResponse:
    form, scope = _read(request)
    if scope is None:
        return _refused(form)
    return csv_response(
        f"stories-summary-{scope.start.isoformat()}-{scope.end.isoformat()}.csv",
        ["section", "measure", "value"],
        stories_summary(scope).figures(),
    )


def _committee(request: HttpRequest) -> tuple[CommitteeForm, committee.CommitteePack | None]:
    """The pack asked for; Http404 for a network or provider the viewer may not see, and
    None (with the form's errors) for a bad period."""
    network, provider = committee.chosen(
        request.tenant, request.GET.get("network"), request.GET.get("provider")
    )
    today = timezone.localdate()
    dates = {key: request.GET[key] for key in ("start", "end") if request.GET.get(key)}
    form = CommitteeForm(dates, today=today)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, committee.committee_pack(
        network, provider, data["start"], data["end"], viewer=request.tenant
    )


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def committee_page(request: HttpRequest) -> HttpResponse:
    form, pack = _committee(request)
    context = {"form": form, "pack": pack, "query": request.GET.urlencode()}
    return render(request, "reports/committee.html", context, status=200 if pack else 400)


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def committee_csv(request: HttpRequest) -> HttpResponse:
    form, pack = _committee(request)
    if pack is None:
        return _refused(form)
    return csv_response(
        f"committee-pack-{pack.provider.slug}-{pack.start}-{pack.end}.csv",
        ["section", "measure", "value"],
        pack.rows(),
    )


@requires_capability(Capability.NETWORK_COMPARISON)
@role_required(Role.MEMBER)
def committee_pdf(request: HttpRequest) -> HttpResponse:
    form, pack = _committee(request)
    if pack is None:
        return _refused(form)
    name = f"committee-pack-{pack.provider.slug}-{pack.start}-{pack.end}.pdf"
    return pdf_response(committee.committee_pdf(pack), name)


# --- long reports, made by a worker ----------------------------------------------------------


@require_POST
@role_required(Role.MEMBER)
def long_pdf_start(request: HttpRequest) -> HttpResponse:
    """Queue a PDF (any period, though the pages offer this for long ones) and show its
    progress page, or a 429 page when the organisation's or the person's limit is reached."""
    kind = request.POST.get("kind")
    if kind not in long_reports.KINDS:
        return HttpResponse("No such report.\n", status=400, content_type="text/plain")
    form, scope = _read(request, request.POST)
    if scope is None:
        return _refused(form)
    try:
        token = long_reports.queue_long_report(
            kind=kind,
            start=scope.start,
            end=scope.end,
            service=form.cleaned_data["service"],
            user=request.user,
            within=limited_services(request.user),
            request=request,
        )
    except long_reports.TooManyLongReports as refused:
        response = render(
            request, "reports/long_pdf_refused.html", {"message": refused.message}, status=429
        )
        response["Retry-After"] = str(refused.retry_after)
        return response
    return redirect("reports:long_pdf", token=token)


def _token(request: HttpRequest, token: str) -> str:
    if not long_reports.TOKEN.match(token) or not long_reports.may_open(token, request.user):
        raise Http404("No such report.")
    return token


@role_required(Role.MEMBER)
def long_pdf_page(request: HttpRequest, token: str) -> HttpResponse:
    status = long_reports.progress(_token(request, token))
    ready = long_reports.file_path(token).is_file()
    if status is None and not ready:
        raise Http404("No such report.")
    return render(
        request,
        "reports/long_pdf.html",
        {
            "token": token,
            "ready": ready,
            "percent": 100 if ready else status["percent"],
            "status_url": reverse("reports:long_pdf_status", kwargs={"token": token}),
            "download_url": reverse("reports:long_pdf_download", kwargs={"token": token}),
        },
    )


@never_cache
@role_required(Role.MEMBER)
def long_pdf_status(request: HttpRequest, token: str) -> JsonResponse:
    """What the progress page polls."""
    status = long_reports.progress(_token(request, token))
    ready = long_reports.file_path(token).is_file()
    if status is None and not ready:
        return JsonResponse({"error": "There is no such report."}, status=404)
    state = "done" if ready else status["state"]
    return JsonResponse(
        {
            "state": state,
            "percent": 100 if ready else status["percent"],
            "finished": ready or state == "failed",
            "download": reverse("reports:long_pdf_download", kwargs={"token": token})
            if ready
            else None,
        }
    )


@role_required(Role.MEMBER)
def long_pdf_download(request: HttpRequest, token: str) -> FileResponse:
    # The path is built from this workspace's schema: another's file is never found here.
    path = long_reports.file_path(_token(request, token))
    if not path.is_file():
        raise Http404("No such report.")
    status = long_reports.progress(token) or {}
    name = f"{status.get('kind', 'report')}-{token[:8]}.pdf"
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return response
