"""Workspace pages for alerts: rules, their preview, the delivery log, open breaches and
response targets; and the unsubscribe link from alert emails."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from alerts.emails import read_unsubscribe_link
from alerts.emerging import (
    BASELINE_DAYS,
    MIN_RATIO,
    MIN_STORIES,
    QUIET_DAYS,
    REVIEW_NOTE_LENGTH,
    WINDOW_DAYS,
    ReviewError,
    ask_for_emerging_themes,
    preview_emerging_themes,
    review_emerging_theme,
)
from alerts.escalation import open_breaches
from alerts.forms import AlertRuleForm, BankHolidayForm, ResponseTargetForm
from alerts.models import AlertDelivery, AlertRule, BankHoliday, EmergingTheme, ResponseTarget
from alerts.network_alerts import member_choices, member_names, network_rule_label
from alerts.rules import can_manage, preview, save_rule, set_rule_active, unsubscribe, visible_rules
from alerts.sending import outbox_key
from alerts.targets import add_bank_holiday, set_response_targets
from feedback.models import Story
from feedback.service_limits import administers_everything, limited_services
from tenants.accounts.access import require_role, role_required
from tenants.accounts.models import Role
from tenants.mail_status import mail_statuses
from tenants.networks import member_standards


@role_required(Role.MEMBER)
def rules(request: HttpRequest) -> HttpResponse:
    names = member_names(request.tenant)
    rows = [(rule, network_rule_label(rule, names)) for rule in visible_rules(request.user)]
    return render(request, "alerts/rules.html", {"rows": rows})


@role_required(Role.MEMBER)
def edit_rule(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk) if pk else AlertRule(owner=request.user)
    if pk and not can_manage(request.user, rule):
        raise PermissionDenied("This is a colleague's alert rule.")
    within = limited_services(request.user)
    # Limited to some services: their own rule, about their own services, to themselves.
    is_admin = administers_everything(request.user)
    form = AlertRuleForm(
        request.POST or None,
        instance=rule,
        can_choose_recipients=is_admin,
        network_members=member_choices(request.tenant) if within is None else None,
        within=within,
    )
    if request.method == "POST" and form.is_valid():
        rule = form.save(commit=False)
        m2m = {"services": form.cleaned_data["services"], "tags": form.cleaned_data["tags"]}
        if is_admin:
            rule.extra_addresses = form.cleaned_data["extra"]
            m2m["recipients"] = form.cleaned_data["recipients"]
        elif not pk:
            m2m["recipients"] = [request.user]
        save_rule(rule, actor=request.user, request=request, **m2m)
        messages.success(request, f"Saved “{rule.name}”.")
        return redirect("alerts:edit_rule", pk=rule.pk)
    return render(
        request,
        "alerts/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview(rule) if rule.pk else None,
            "emerging": (
                preview_emerging_themes(rule) if rule.pk and rule.emerging_themes else None
            ),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.MEMBER)
def toggle_rule(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    if not can_manage(request.user, rule):
        raise PermissionDenied("This is a colleague's alert rule.")
    set_rule_active(rule, not rule.is_active, actor=request.user, request=request)
    return redirect("alerts:rules")


def _sees_every_delivery(request: HttpRequest) -> bool:
    """Administrators see every alert email sent; anyone else, and an administrator limited
    to some services (feedback/service_limits.py), their own."""
    return administers_everything(request.user)


@role_required(Role.MEMBER)
def deliveries(request: HttpRequest) -> HttpResponse:
    rows = AlertDelivery.objects.select_related("rule", "story")
    if not _sees_every_delivery(request):
        rows = rows.filter(recipient__iexact=request.user.email)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    # What the outbox has since done with each email handed to it.
    statuses = mail_statuses(request.tenant, [outbox_key(d) for d in page])
    for row in page:
        row.mail = statuses.get(outbox_key(row))
    return render(request, "alerts/deliveries.html", {"page": page})


@role_required(Role.MEMBER)
def delivery(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(AlertDelivery, pk=pk)
    if not _sees_every_delivery(request) and row.recipient.lower() != request.user.email:
        raise PermissionDenied("This email went to a colleague.")
    return render(request, "alerts/delivery.html", {"delivery": row})


@role_required(Role.MEMBER)
def breaches(request: HttpRequest) -> HttpResponse:
    stories = open_breaches()
    within = limited_services(request.user)  # a limited person: their services' only
    if within is not None:
        stories = stories.filter(services__in=within).distinct()
    return render(
        request, "alerts/breaches.html", {"stories": stories[:200], "now": timezone.now()}
    )


def _emerging_seen_by(request: HttpRequest) -> QuerySet[EmergingTheme]:
    """Every emerging theme found, or, for a person limited to some services, those found
    at one of theirs (as their emails are)."""
    found = EmergingTheme.objects.select_related("service", "reviewed_by")
    within = limited_services(request.user)
    return found if within is None else found.filter(service_id__in=within)


@role_required(Role.MEMBER)
def emerging_themes(request: HttpRequest, status: int = 200) -> HttpResponse:
    """Every emerging theme found, newest first, with the stories behind each and who has
    looked into it."""
    page = Paginator(_emerging_seen_by(request), 25).get_page(request.GET.get("page"))
    ids = [pk for finding in page for pk in finding.story_ids[:5]]
    stories = {s.pk: s for s in Story.objects.filter(pk__in=ids)}
    rows = [
        (finding, [stories[pk] for pk in finding.story_ids[:5] if pk in stories])
        for finding in page
    ]
    return render(
        request,
        "alerts/emerging_themes.html",
        {
            "page": page,
            "rows": rows,
            "window_days": WINDOW_DAYS,
            "baseline_weeks": BASELINE_DAYS // 7,
            "min_stories": MIN_STORIES,
            "min_ratio": MIN_RATIO,
            "quiet_days": QUIET_DAYS,
            "note_length": REVIEW_NOTE_LENGTH,
        },
        status=status,
    )


@require_POST
@role_required(Role.RESPONDER)
def review_emerging_theme_view(request: HttpRequest, pk: int) -> HttpResponse:
    finding = get_object_or_404(_emerging_seen_by(request), pk=pk)
    try:
        review_emerging_theme(
            finding, actor=request.user, note=request.POST.get("note", ""), request=request
        )
    except ReviewError as refused:
        messages.error(request, str(refused))
        return emerging_themes(request, status=400)
    messages.success(request, f"Recorded that you looked into {finding.theme_label}.")
    return redirect("alerts:emerging_themes")


@require_POST
@role_required(Role.ADMINISTRATOR)
def look_for_emerging_themes(request: HttpRequest) -> HttpResponse:
    ask_for_emerging_themes(actor=request.user, request=request)
    messages.success(
        request, "Looking for emerging themes now: any found appear here within a minute or two."
    )
    return redirect("alerts:emerging_themes")


@role_required(Role.MEMBER)
def targets(request: HttpRequest) -> HttpResponse:
    rows = list(ResponseTarget.objects.all())
    form = ResponseTargetForm(request.POST or None, targets=rows)
    holiday_form = BankHolidayForm()
    if request.method == "POST":
        require_role(request, Role.ADMINISTRATOR)
        if request.POST.get("action") == "holiday":
            holiday_form = BankHolidayForm(request.POST)
            if holiday_form.is_valid():
                add_bank_holiday(
                    holiday_form.cleaned_data["date"],
                    holiday_form.cleaned_data["name"],
                    actor=request.user,
                    request=request,
                )
                return redirect("alerts:targets")
        elif form.is_valid():
            set_response_targets(
                {t.criticality: form.cleaned_data[t.criticality] for t in rows},
                actor=request.user,
                request=request,
            )
            messages.success(request, "Saved. New stories get these targets.")
            return redirect("alerts:targets")
    return render(
        request,
        "alerts/targets.html",
        {
            "form": form,
            "holiday_form": holiday_form,
            "holidays": BankHoliday.objects.all(),
            # Read only here: each network's lead sets them (dashboards/network_standards.py).
            "network_standards": member_standards(request.tenant),
        },
        status=400 if form.errors or holiday_form.errors else 200,
    )


def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """From an alert email: no sign-in, one rule, one address, confirmed with a button.
    The link works only on the organisation that sent it."""
    link = read_unsubscribe_link(token)
    if link.status == 410:
        return render(request, "alerts/unsubscribe.html", {"old": True}, status=410)
    if link.rule is None:
        return render(request, "alerts/unsubscribe.html", {"invalid": True}, status=404)
    context = {"rule": link.rule, "recipient": link.recipient}
    if request.method == "POST":
        unsubscribe(link.rule, link.recipient)
        return render(request, "alerts/unsubscribe.html", {"done": True, **context})
    return render(request, "alerts/unsubscribe.html", context)
