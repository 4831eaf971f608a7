"""Workspace pages for stories and services: staff see criticality; admins manage services,
API keys and the widget."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from feedback.apikeys import create_api_key, revoke_api_key
from feedback.forms import ApiKeyForm, EmbedHostsForm, PrivateTagForm, ServiceForm, SiteForm
from feedback.hub.models import ApiKey, ServiceListing
from feedback.models import Service, Site, Story, Tag
from feedback.rendering import render_markdown
from feedback.services import add_private_tag, create_site, save_service
from tenants.accounts.access import require_role, role_required
from tenants.accounts.models import Role
from tenants.audit.recording import record_audit
from tenants.models import Organisation, public_url


@role_required(Role.MEMBER)
def stories(request: HttpRequest) -> HttpResponse:
    rows = Story.objects.prefetch_related("services").order_by("-published_at", "-id")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    return render(request, "feedback/workspace/stories.html", {"page": page})


@role_required(Role.MEMBER)
def story(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(Story.objects.prefetch_related("services", "tags"), pk=pk)
    return render(
        request,
        "feedback/workspace/story.html",
        {"story": row, "body": render_markdown(row.body)},
    )


@role_required(Role.MEMBER)
def services(request: HttpRequest) -> HttpResponse:
    sites = Site.objects.prefetch_related("services")
    return render(
        request,
        "feedback/workspace/services.html",
        {"sites": sites, "site_form": SiteForm(), "service_form": ServiceForm()},
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def add_site(request: HttpRequest) -> HttpResponse:
    form = SiteForm(request.POST)
    if form.is_valid():
        create_site(
            name=form.cleaned_data["name"], code=form.cleaned_data["code"], actor=request.user
        )
        messages.success(request, f"Added {form.cleaned_data['name']}.")
        return redirect("feedback:services")
    sites = Site.objects.prefetch_related("services")
    return render(
        request,
        "feedback/workspace/services.html",
        {"sites": sites, "site_form": form, "service_form": ServiceForm()},
        status=400,
    )


@role_required(Role.ADMINISTRATOR)
def edit_service(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk) if pk is not None else Service()
    form = ServiceForm(request.POST or None, instance=service)
    if request.method == "POST" and form.is_valid():
        save_service(form.save(commit=False), actor=request.user)
        messages.success(request, f"Saved {service.name}.")
        return redirect("feedback:services")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "feedback/workspace/service_form.html",
        {"form": form, "service": service},
        status=status,
    )


@role_required(Role.MEMBER)
def tags(request: HttpRequest) -> HttpResponse:
    form = PrivateTagForm(request.POST or None)
    if request.method == "POST":
        require_role(request, Role.ADMINISTRATOR)
        if form.is_valid():
            add_private_tag(form.save(commit=False), actor=request.user)
            messages.success(request, f"Added “{form.cleaned_data['name']}”.")
            return redirect("feedback:tags")
    return render(
        request,
        "feedback/workspace/tags.html",
        {"tags": Tag.objects.order_by("is_private", "group", "name"), "form": form},
        status=400 if form.errors else 200,
    )


@role_required(Role.ADMINISTRATOR)
def api_keys(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    form = ApiKeyForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        new_secret = create_api_key(
            organisation, name=form.cleaned_data["name"], actor=request.user
        ).secret
        form = ApiKeyForm()
    keys = ApiKey.objects.filter(organisation_id=organisation.pk)
    return render(
        request,
        "feedback/workspace/api_keys.html",
        {
            "form": form,
            "keys": keys,
            "new_secret": new_secret,
            "api_base": public_url(settings.BASE_DOMAIN, "/api/v2/"),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.ADMINISTRATOR)
def revoke_key(request: HttpRequest, pk: int) -> HttpResponse:
    organisation: Organisation = request.tenant
    get_object_or_404(ApiKey, pk=pk, organisation_id=organisation.pk)
    key = revoke_api_key(organisation, pk, actor=request.user)
    messages.success(request, f"Revoked “{key.name}”. Scripts using it now get 401.")
    return redirect("feedback:api_keys")


@role_required(Role.ADMINISTRATOR)
def widget_settings(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    form = EmbedHostsForm(
        request.POST or None, initial={"hosts": "\n".join(organisation.embed_hosts)}
    )
    if request.method == "POST" and form.is_valid():
        previous = list(organisation.embed_hosts)
        organisation.embed_hosts = form.cleaned_data["hosts"]
        organisation.save(update_fields=["embed_hosts"])
        record_audit(
            "widget.hosts_changed",
            actor=request.user,
            target=organisation,
            summary="Changed the sites allowed to show the widget",
            detail={"from": previous, "to": organisation.embed_hosts},
            request=request,
        )
        messages.success(request, "Saved.")
        return redirect("feedback:widget_settings")
    listings = ServiceListing.objects.filter(organisation_id=organisation.pk, is_active=True)
    return render(
        request,
        "feedback/workspace/widget.html",
        {
            "form": form,
            "widget_url": hub_url("hub:widget", organisation.slug),
            "script_url": hub_url("hub:widget_script", organisation.slug),
            "kiosk_url": hub_url("hub:kiosk", organisation.slug),
            "service_kiosks": [
                (listing, hub_url("hub:kiosk_service", organisation.slug, listing.pk))
                for listing in listings
            ],
        },
        status=400 if form.errors else 200,
    )


def hub_url(name: str, *args: object) -> str:
    """A URL on the hub, from a workspace page."""
    return public_url(
        settings.BASE_DOMAIN, reverse(name, args=args, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    )
