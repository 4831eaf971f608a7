"""Workspace pages for stories and services: staff see criticality; admins manage services,
API keys and the widget."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from feedback.apikeys import create_api_key, revoke_api_key
from feedback.choices import ChangeStatus
from feedback.forms import (
    ApiKeyForm,
    DefaultLanguageForm,
    EmbedHostsForm,
    ExportFormatForm,
    InboxForm,
    PalsDetailsForm,
    PrivateTagForm,
    ResponseForm,
    ServiceForm,
    SiteForm,
    export_fields,
)
from feedback.hub.models import ApiKey, ServiceListing
from feedback.inbox import counted_page, counts, filtered_stories
from feedback.languages import set_default_language
from feedback.models import Response, Service, Site, Story, Tag
from feedback.rendering import render_markdown
from feedback.responding import (
    EDIT_WINDOW,
    Draft,
    NotYourResponse,
    RespondingError,
    assess,
    edit_response,
    publish_response,
    record_change,
)
from feedback.service_limits import allowed_for, limited_services, story_in_scope
from feedback.sites_and_services import create_site, save_service
from feedback.triage import (
    TriageError,
    add_note,
    add_private_tag,
    assign_story,
    mark_heard,
    open_story,
    set_private_tags,
)
from tenants.accounts.access import require_role, role_required
from tenants.accounts.models import Role, User
from tenants.embedding import set_embed_hosts
from tenants.gate import Capability, requires_capability
from tenants.models import Organisation, public_url
from tenants.pals import set_pals_details

# Stories on a page of the inbox.
PER_PAGE = 25


@role_required(Role.MEMBER)
def stories(request: HttpRequest) -> HttpResponse:
    """The inbox: newest first, filtered, searched, counted."""
    within = limited_services(request.user)
    form = InboxForm(request.GET or None, within=within)
    filters = replace(form.filters(), within=None if within is None else sorted(within))
    rows = filtered_stories(filters, user_id=request.user.pk)
    if filters.q:
        # A text search's matches are found once, for the numbers and the page together.
        numbers, page = counted_page(rows, number=request.GET.get("page"), per_page=PER_PAGE)
    else:
        numbers = counts(rows)
        paginator = Paginator(rows.prefetch_related("services"), PER_PAGE)
        # Already counted with the numbers beside the filters: not counted again.
        paginator.count = numbers["total"]
        page = paginator.get_page(request.GET.get("page"))
    mark_heard(list(page))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/workspace/stories.html",
        {
            "page": page,
            "form": form,
            "counts": numbers,
            "querystring": query.urlencode(),
            "now": timezone.now(),
            "export_fields": export_fields(form, query),
            "export_form": ExportFormatForm(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@role_required(Role.MEMBER)
def story(request: HttpRequest, pk: int) -> HttpResponse:
    row = Story.objects.prefetch_related("services", "tags").filter(pk=pk).first()
    if row is not None and not story_in_scope(request.user, row):
        raise Http404("No such story.")
    if row is None:
        # A story withdrawn at its author's request says so (410), as on the hub.
        from feedback.rights_views import withdrawn_story_page
        from feedback.withdrawal import withdrawn_note_for_tenant_story

        note = withdrawn_note_for_tenant_story(pk)
        if note is None:
            raise Http404("No such story.")
        return withdrawn_story_page(request, note, workspace=True)
    readings = open_story(row, reader=request.user)
    responders = list(
        User.objects.filter(is_active=True, role__in=[Role.RESPONDER, Role.ADMINISTRATOR])
    )
    # Only those who may see the story (staff limited to other services may not).
    seeing = allowed_for([u.pk for u in responders], [s.pk for s in row.services.all()])
    responders = [u for u in responders if u.pk in seeing]
    can_respond = request.user.has_role(Role.RESPONDER)
    response_form = None
    assessment = None
    if can_respond:
        on_behalf = responders if request.user.has_role(Role.ADMINISTRATOR) else None
        response_form = ResponseForm(
            request.POST if request.method == "POST" else None,
            responders=on_behalf,
            initial={"responder": request.user.pk},
        )
        if request.method == "POST" and response_form.is_valid():
            outcome, assessment = _respond(request, row, response_form)
            if outcome is not None:
                return outcome
    return render(
        request,
        "feedback/workspace/story.html",
        {
            "story": row,
            "body": render_markdown(row.body),
            "readings": readings,
            "responses": row.responses.select_related("responder", "written_by"),
            "notes": row.notes.select_related("author"),
            "responders": responders,
            "private_tags": Tag.objects.filter(is_private=True),
            "chosen_private": {t.pk for t in row.tags.all() if t.is_private},
            "response_form": response_form,
            "assessment": assessment,
            "can_respond": can_respond,
            "edit_window_minutes": int(EDIT_WINDOW.total_seconds() // 60),
            "change_statuses": ChangeStatus,
        },
        status=400 if response_form is not None and response_form.errors else 200,
    )


def _respond(request: HttpRequest, story: Story, form: ResponseForm):  # noqa: ANN202
    """Check the draft; publish it when asked and the advice allows. Returns (redirect or
    None, the quality assessment to show)."""
    data = form.cleaned_data
    responder = request.user
    if data.get("responder") and data["responder"] != request.user.pk:
        responder = get_object_or_404(User, pk=data["responder"], is_active=True)
    draft = Draft(data["body"], data["change_status"], data["change_description"])
    assessment = assess(story, draft, responder=responder)
    if request.POST.get("action") != "publish":
        return None, assessment
    if assessment.is_generic and not data["confirm_generic"]:
        messages.error(request, "Read the advice below: this response looks generic.")
        return None, assessment
    try:
        publish_response(
            story, draft, responder=responder, written_by=request.user, request=request
        )
    except RespondingError as exc:
        messages.error(request, str(exc))
        return None, assessment
    messages.success(
        request, "Your response is published. The author has been told, if they asked to be."
    )
    return redirect("feedback:story", pk=story.pk), assessment


@require_POST
@role_required(Role.MEMBER)
def triage(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(Story, pk=pk)
    if not story_in_scope(request.user, row):
        raise Http404("No such story.")
    action = request.POST.get("action")
    try:
        if action == "assign":
            assignee_id = request.POST.get("assignee", "")
            assignee = (
                get_object_or_404(User, pk=int(assignee_id)) if assignee_id.isdigit() else None
            )
            assign_story(row, assignee, actor=request.user, request=request)
        elif action == "note":
            add_note(row, request.POST.get("text", ""), author=request.user, request=request)
        elif action == "tags":
            ids = [int(v) for v in request.POST.getlist("tags") if v.isdigit()]
            set_private_tags(
                row, list(Tag.objects.filter(pk__in=ids)), actor=request.user, request=request
            )
        else:
            messages.error(request, "Choose what to do.")
    except TriageError as exc:
        messages.error(request, str(exc))
    return redirect("feedback:story", pk=row.pk)


@role_required(Role.RESPONDER)
def edit_response_view(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_object_or_404(Response.objects.select_related("story"), pk=pk)
    if not story_in_scope(request.user, response.story):
        raise Http404("No such response.")
    form = ResponseForm(
        request.POST or None,
        initial={
            "body": response.body,
            "change_status": response.change_status,
            "change_description": response.change_description,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        draft = Draft(data["body"], data["change_status"], data["change_description"])
        try:
            if request.POST.get("action") == "change":
                record_change(
                    response,
                    draft.change_status,
                    draft.change_description,
                    actor=request.user,
                    request=request,
                )
            else:
                edit_response(response, draft, editor=request.user, request=request)
        except NotYourResponse as exc:
            raise PermissionDenied(str(exc)) from exc
        except RespondingError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Saved.")
            return redirect("feedback:story", pk=response.story_id)
    return render(
        request,
        "feedback/workspace/edit_response.html",
        {
            "response": response,
            "form": form,
            "versions": response.versions.select_related("saved_by"),
        },
        status=400 if request.method == "POST" else 200,
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


@requires_capability(Capability.API_ACCESS)
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


@requires_capability(Capability.API_ACCESS)
@require_POST
@role_required(Role.ADMINISTRATOR)
def revoke_key(request: HttpRequest, pk: int) -> HttpResponse:
    organisation: Organisation = request.tenant
    get_object_or_404(ApiKey, pk=pk, organisation_id=organisation.pk)
    key = revoke_api_key(organisation, pk, actor=request.user)
    messages.success(request, f"Revoked “{key.name}”. Scripts using it now get 401.")
    return redirect("feedback:api_keys")


@requires_capability(Capability.WIDGET)
@role_required(Role.ADMINISTRATOR)
def widget_settings(request: HttpRequest) -> HttpResponse:
    organisation: Organisation = request.tenant
    # Two forms on one page: the PALS details form names itself; the hosts form does not.
    saving_pals = request.method == "POST" and request.POST.get("form") == "pals"
    pals_form = PalsDetailsForm(
        request.POST if saving_pals else None,
        initial={"pals_details": organisation.pals_details},
    )
    saving_language = request.method == "POST" and request.POST.get("form") == "language"
    language_form = DefaultLanguageForm(
        request.POST if saving_language else None,
        initial={"default_language": organisation.default_language},
    )
    if saving_language and language_form.is_valid():
        set_default_language(
            organisation,
            language_form.cleaned_data["default_language"],
            actor=request.user,
            request=request,
        )
        messages.success(request, "Saved. Visitors who have not chosen a language see this one.")
        return redirect("feedback:widget_settings")
    if saving_pals and pals_form.is_valid():
        details = pals_form.cleaned_data["pals_details"]
        set_pals_details(organisation, details, actor=request.user, request=request)
        messages.success(request, "Saved. Authors see these details before they write.")
        return redirect("feedback:widget_settings")
    form = EmbedHostsForm(
        None if saving_pals or saving_language else request.POST or None,
        initial={"hosts": "\n".join(organisation.embed_hosts)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            set_embed_hosts(
                organisation, form.cleaned_data["hosts"], actor=request.user, request=request
            )
        except ValidationError as exc:
            form.add_error("hosts", exc)
        else:
            messages.success(request, "Saved.")
            return redirect("feedback:widget_settings")
    listings = ServiceListing.objects.filter(organisation_id=organisation.pk, is_active=True)
    return render(
        request,
        "feedback/workspace/widget.html",
        {
            "form": form,
            "pals_form": pals_form,
            "language_form": language_form,
            "widget_url": hub_url("hub:widget", organisation.slug),
            "script_url": hub_url("hub:widget_script", organisation.slug),
            "kiosk_url": hub_url("hub:kiosk", organisation.slug),
            "service_kiosks": [
                (listing, hub_url("hub:kiosk_service", organisation.slug, listing.pk))
                for listing in listings
            ],
        },
        status=400 if form.errors or pals_form.errors or language_form.errors else 200,
    )


def hub_url(name: str, *args: object) -> str:
    """A URL on the hub, from a workspace page."""
    return public_url(
        settings.BASE_DOMAIN, reverse(name, args=args, urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    )
