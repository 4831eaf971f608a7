"""Thanks passed on (feedback/thanks.py): the counts, the staff directory, and turning the
emails off (signed in, or through the link in an email, without signing in)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from feedback import thanks
from feedback.forms import StaffMemberForm, ThanksPeriodForm
from feedback.models import StaffMember
from feedback.service_limits import limited_services
from tenants import ratelimit
from tenants.accounts.access import role_required
from tenants.accounts.models import Role


@role_required(Role.MEMBER)
def thanks_page(request: HttpRequest) -> HttpResponse:
    """Thanks passed on to the organisation's staff, counted per service and per person."""
    form = ThanksPeriodForm(request.GET or None)
    months = form.cleaned_data["months"] if form.is_bound and form.is_valid() else 12
    since = timezone.now() - timedelta(days=round(months * 30.44))
    within = limited_services(request.user)  # a limited person: their services' thanks
    return render(
        request,
        "feedback/thanks/page.html",
        {
            "form": form,
            "months": months,
            "counts": thanks.counts(since, within),
            "recent": thanks.thanks_since(since, within).select_related("story", "service")[:50],
            "mine": thanks.entry_of(request.user),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@role_required(Role.MEMBER)
def my_thanks_emails(request: HttpRequest) -> HttpResponse:
    entry = thanks.entry_of(request.user)
    if entry is None:
        raise Http404("You are not in the staff directory.")
    wanted = request.POST.get("wanted") == "yes"
    thanks.set_thanks_emails(entry, wanted, actor=request.user, request=request)
    messages.success(request, "Saved." if wanted else "You will not be emailed thanks any more.")
    return redirect("feedback:thanks")


def _saved(request: HttpRequest, form: StaffMemberForm) -> StaffMember | None:
    """The entry saved from a valid form, or None (the form then says why)."""
    if not form.is_valid():
        return None
    try:
        return thanks.save_entry(
            form.save(commit=False),
            list(form.cleaned_data["services"]),
            actor=request.user,
            request=request,
        )
    except thanks.ThanksError as refused:
        form.add_error("email", str(refused))
        return None


@role_required(Role.ADMINISTRATOR)
def directory_page(request: HttpRequest) -> HttpResponse:
    form = StaffMemberForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("action") == "accounts":
            added = thanks.add_everyone_with_an_account(actor=request.user, request=request)
            messages.success(request, f"Added {added} staff with accounts.")
            return redirect("feedback:staff_directory")
        entry = _saved(request, form)
        if entry is not None:
            messages.success(request, f"Added {entry.full_name}.")
            return redirect("feedback:staff_directory")
    return render(
        request,
        "feedback/thanks/directory.html",
        {
            "form": form,
            "entries": StaffMember.objects.filter(is_active=True).prefetch_related("services"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def directory_import(request: HttpRequest) -> HttpResponse:
    """A CSV of the staff directory: all or nothing, with every problem listed."""
    upload = request.FILES.get("file")
    if upload is None:
        problems = ["Choose a CSV file to import."]
    else:
        try:
            done = thanks.import_directory(upload.read(), actor=request.user, request=request)
        except thanks.DirectoryImportError as refused:
            problems = refused.problems
        else:
            messages.success(request, f"Imported: {done.added} added, {done.updated} updated.")
            return redirect("feedback:staff_directory")
    return render(
        request,
        "feedback/thanks/import_refused.html",
        {"problems": problems[:50], "more": max(0, len(problems) - 50)},
        status=400,
    )


@role_required(Role.ADMINISTRATOR)
def directory_entry(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(StaffMember, pk=pk, is_active=True)
    form = StaffMemberForm(request.POST or None, instance=entry)
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            thanks.remove_entry(entry, actor=request.user, request=request)
            messages.success(request, f"Removed {entry.full_name}.")
            return redirect("feedback:staff_directory")
        if _saved(request, form) is not None:
            messages.success(request, f"Saved {entry.full_name}.")
            return redirect("feedback:staff_directory")
    return render(
        request,
        "feedback/thanks/entry.html",
        {"form": form, "entry": entry},
        status=400 if form.errors else 200,
    )


def stop_emails(request: HttpRequest, token: str) -> HttpResponse:
    """The link in each thanks email: no sign-in (not everyone has an account)."""
    entry = thanks.entry_for_stop_token(token)
    if entry is None:
        raise Http404("This link is not valid here.")
    if request.method == "POST":
        limit = ratelimit.public_form_limit("thanks-stop")
        if ratelimit.hit(limit, ratelimit.client_address(request)) > limit.limit:
            return render(
                request, "feedback/thanks/stop.html", {"entry": entry, "limited": True}, status=429
            )
        thanks.set_thanks_emails(entry, False, actor=None, request=request)
        entry.thanks_emails = False
    return render(request, "feedback/thanks/stop.html", {"entry": entry})
