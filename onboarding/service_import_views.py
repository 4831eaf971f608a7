"""Workspace pages for importing an organisation's services from a spreadsheet
(onboarding/service_import.py), with the progress of a large import. Administrators only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache

from feedback.choices import ServiceType
from onboarding import service_import
from onboarding.forms import ServiceImportForm
from onboarding.models import ImportState, ServiceImport
from tenants.accounts.access import role_required
from tenants.accounts.models import Role

SAMPLE_CSV = "onboarding/services-sample.csv"


@role_required(Role.ADMINISTRATOR)
def import_services(request: HttpRequest) -> HttpResponse:
    form = ServiceImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        result = service_import.import_services(
            data=upload.read(), filename=upload.name, actor=request.user, request=request
        )
        if result.pk is not None:
            if result.state == ImportState.DONE:
                messages.success(request, f"Imported {result.filename}.")
            return redirect("onboarding:service_import", pk=result.pk)
    return render(
        request,
        "onboarding/import_services.html",
        {
            "form": form,
            "result": result,
            "columns": service_import.COLUMNS,
            "required": service_import.REQUIRED_COLUMNS,
            "inline_max_rows": service_import.INLINE_MAX_ROWS,
            "max_rows": service_import.MAX_ROWS,
            "sample_url": static(SAMPLE_CSV),
            "service_types": list(ServiceType.values),
            "recent": ServiceImport.objects.select_related("created_by")[:10],
        },
        status=400 if form.errors or result is not None else 200,
    )


@role_required(Role.ADMINISTRATOR)
def service_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(ServiceImport.objects.select_related("created_by"), pk=pk)
    return render(
        request,
        "onboarding/service_import.html",
        {
            "record": record,
            "label": service_import.status_label(record),
            "done": service_import.rows_done(record),
            "status_url": reverse("onboarding:service_import_status", kwargs={"pk": pk}),
        },
    )


@never_cache
@role_required(Role.ADMINISTRATOR)
def service_import_status(request: HttpRequest, pk: int) -> JsonResponse:
    """What the progress bar polls."""
    record = ServiceImport.objects.filter(pk=pk).first()
    if record is None:
        return JsonResponse({"error": "There is no such import."}, status=404)
    done = service_import.rows_done(record)
    return JsonResponse(
        {
            "state": record.state,
            "label": service_import.status_label(record),
            "done": done,
            "total": record.total_rows,
            "percent": round(100 * done / record.total_rows) if record.total_rows else 0,
            "finished": record.is_finished,
        }
    )
