"""Saved report settings, schedules, the outbox, signed downloads and the public page setting.

Thin views: every write is an operation of saved_reports.py, scheduling.py or public.py (one
transaction with its audit row); sending is delivering.py's. A page load writes nothing."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboards.models import (
    PublicPageSetting,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports.delivering import (
    delivery_for_token,
    outbox_key,
    pack_for_token,
    report_file,
)
from dashboards.reports.member_packs import (
    PackChoiceError,
    choice_for,
    choose_pack_recipients,
    masked,
    member_networks,
    received_packs,
    staff_choices,
)
from dashboards.reports.public import record_publishing_choice
from dashboards.reports.saved_forms import SavedReportForm, ScheduleForm
from dashboards.reports.saved_reports import (
    SchedulesWouldStop,
    delete_saved_report,
    deletion_refusal,
    period_of,
    record_report_opened,
    save_report,
    visible_reports,
    visible_schedules,
)
from dashboards.reports.scheduling import schedule_report, stop_schedule
from feedback.service_limits import limited_services
from tenants.accounts.access import role_required
from tenants.accounts.models import Role
from tenants.mail_status import mail_statuses
from tenants.models import public_url


@role_required(Role.MEMBER)
def saved_list(request: HttpRequest) -> HttpResponse:
    within = limited_services(request.user)
    form = SavedReportForm(within=within)
    if request.method == "POST":
        form = SavedReportForm(request.POST, within=within)
        if form.is_valid():
            data = form.cleaned_data
            save_report(
                name=data["name"],
                kind=data["kind"],
                months=data["months"],
                start=data["start"],
                end=data["end"],
                service_id=data["service"],
                actor=request.user,
                request=request,
            )
            messages.success(request, "Saved.")
            return redirect("report_schedules:saved")
    reports = list(
        visible_reports(request.user)
        .select_related("service")
        .annotate(scheduled=Count("schedules"))
    )
    for report in reports:
        report.may_delete = not deletion_refusal(
            report, request.user, has_schedules=bool(report.scheduled)
        )
    return render(
        request,
        "reports/saved.html",
        {"form": form, "reports": reports},
        status=400 if form.errors else 200,
    )


@role_required(Role.MEMBER)
@require_GET
def saved_open(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(visible_reports(request.user), pk=pk)
    start, end = period_of(report, timezone.localdate())
    query = {"start": start.isoformat(), "end": end.isoformat()}
    if report.service_id:
        query["service"] = str(report.service_id)
    name = (
        "reports:you_said_we_did"
        if report.kind == ReportKind.YOU_SAID_WE_DID
        else "reports:summary"
    )
    record_report_opened(report, actor=request.user, request=request)
    return redirect(reverse(name) + "?" + urlencode(query))


@role_required(Role.MEMBER)
@require_http_methods(["GET", "POST"])
def saved_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """GET, or a POST for a report with schedules not yet agreed to stop: the confirmation
    page. Refused with 403 (and nothing written) for anyone who may not delete it."""
    report = get_object_or_404(visible_reports(request.user), pk=pk)
    schedules = list(report.schedules.order_by("pk"))
    refusal = deletion_refusal(report, request.user, has_schedules=bool(schedules))
    if refusal:
        raise PermissionDenied(refusal)
    if request.method == "POST":
        try:
            delete_saved_report(
                report.pk,
                actor=request.user,
                request=request,
                stop_schedules=request.POST.get("stop_schedules") == "yes",
            )
        except SchedulesWouldStop as stopping:
            schedules = stopping.schedules
        else:
            messages.success(request, "Deleted.")
            return redirect("report_schedules:saved")
    context = {"report": report, "schedules": schedules}
    return render(request, "reports/saved_delete.html", context)


@role_required(Role.ADMINISTRATOR)
def schedules(request: HttpRequest) -> HttpResponse:
    """An administrator limited to some services (feedback/service_limits.py) sees and
    stops their own schedules only, of the saved reports they see, with no committee packs;
    what each sends counts only their services."""
    within = limited_services(request.user)
    options = {"reports": visible_reports(request.user), "limited": within is not None}
    form = ScheduleForm(**options)
    if request.method == "POST":
        form = ScheduleForm(request.POST, **options)
        if form.is_valid():
            data = form.cleaned_data
            try:
                schedule = schedule_report(
                    data["report"].pk,
                    frequency=data["frequency"],
                    method=data["method"],
                    recipients=data["recipients"],
                    network_members=data.get("network_members", False),
                    member_recipients=data.get("member_recipients", False),
                    within=within,
                    actor=request.user,
                    request=request,
                )
            except SavedReport.DoesNotExist:
                raise Http404("That saved report has been deleted.") from None
            messages.success(request, f"Scheduled; the first goes out on {schedule.next_run_on}.")
            return redirect("report_schedules:schedules")
    setting = PublicPageSetting.objects.first()
    return render(
        request,
        "reports/schedules.html",
        {
            "form": form,
            "schedules": visible_schedules(request.user),
            "published": bool(setting and setting.publish_you_said_we_did),
            "public_url": _public_url(request),
        },
        status=400 if form.errors else 200,
    )


def _public_url(request: HttpRequest) -> str:
    return public_url(
        settings.BASE_DOMAIN, f"/organisations/{request.tenant.slug}/you-said-we-did/"
    )


@role_required(Role.ADMINISTRATOR)
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not visible_schedules(request.user).filter(pk=pk).exists():
        raise Http404("No such schedule.")
    try:
        stop_schedule(pk, actor=request.user, request=request)
    except ReportSchedule.DoesNotExist:
        raise Http404("No such schedule.") from None
    messages.success(request, "The schedule is stopped.")
    return redirect("report_schedules:schedules")


@role_required(Role.ADMINISTRATOR)
@require_POST
def public_page(request: HttpRequest) -> HttpResponse:
    record_publishing_choice(
        request.tenant,
        publish=request.POST.get("publish") == "yes",
        actor=request.user,
        request=request,
    )
    return redirect("report_schedules:schedules")


@role_required(Role.ADMINISTRATOR)
@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    deliveries = list(ReportDelivery.objects.all()[:200])
    # What the outbox has since done with each email handed to it.
    statuses = mail_statuses(request.tenant, [outbox_key(d) for d in deliveries])
    for delivery in deliveries:
        delivery.mail = statuses.get(outbox_key(delivery))
        # A member's recipient is the member's: named as the member, the address masked.
        delivery.to_label = (
            f"to {delivery.member_name}: {masked(delivery.recipient)}"
            if delivery.member_id is not None
            else delivery.recipient
        )
    return render(request, "reports/outbox.html", {"deliveries": deliveries})


@role_required(Role.ADMINISTRATOR)
def network_packs(request: HttpRequest) -> HttpResponse:
    """A member's side: for each network it is in, which of its own staff receive the lead's
    packs (or none), and what they were sent."""
    if request.method == "POST":
        try:
            network_id = int(request.POST.get("network", ""))
            user_ids = [int(pk) for pk in request.POST.getlist("recipients")]
        except ValueError:
            return _pack_page(request, "Choose a network and staff from the list.", status=400)
        try:
            choose_pack_recipients(
                network_id,
                user_ids=user_ids,
                opted_out=request.POST.get("opt_out") == "yes",
                actor=request.user,
                request=request,
            )
        except PackChoiceError as refused:
            return _pack_page(request, str(refused), status=400)
        messages.success(request, "Saved.")
        return redirect("report_schedules:network_packs")
    return _pack_page(request)


def _pack_page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    networks = []
    for network in member_networks(request.tenant):
        choice = choice_for(network.pk)
        networks.append(
            {
                "network": network,
                "opted_out": bool(choice and choice.opted_out),
                "chosen": set(choice.user_ids) if choice else set(),
            }
        )
    context = {
        "networks": networks,
        "staff": staff_choices(),
        "received": received_packs(request.tenant),
        "error": error,
    }
    return render(request, "reports/network_packs.html", context, status=status)


@require_GET
def download(request: HttpRequest, token: str) -> HttpResponse:
    """The report behind a signed link; no sign-in, the signature is the permission."""
    status, delivery = delivery_for_token(token)
    return _linked_file(request, status, report_file(delivery) if delivery else None, pack=False)


@require_GET
def download_pack(request: HttpRequest, token: str) -> HttpResponse:
    """A network member's committee pack behind a signed link, as `download`."""
    return _linked_file(request, *pack_for_token(token), pack=True)


def _linked_file(
    request: HttpRequest, status: int, file: tuple[str, bytes, str] | None, *, pack: bool
) -> HttpResponse:
    if file is None:
        context = {"status": status, "pack": pack}
        return render(request, "reports/link_refused.html", context, status=status)
    name, content, content_type = file
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
