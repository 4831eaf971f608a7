"""You said, we did on the hub: the changes an organisation's published responses say it
made, from public data only, and only once the organisation chooses to publish it."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django_tenants.utils import schema_context

from dashboards.models import PublicPageSetting
from dashboards.reports.excerpts import excerpt
from feedback.hub.models import PublicResponse
from feedback.vocabulary import ChangeStatus
from tenants.models import Organisation, OrganisationStatus


def is_published(organisation: Organisation) -> bool:
    with schema_context(organisation.schema_name):
        setting = PublicPageSetting.objects.first()
        return bool(setting and setting.publish_you_said_we_did)


def set_published(organisation: Organisation, *, publish: bool) -> None:
    with schema_context(organisation.schema_name):
        setting = PublicPageSetting.objects.first() or PublicPageSetting()
        setting.publish_you_said_we_did = publish
        setting.save()


def you_said_we_did_page(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(
        Organisation.objects.ready(), slug=slug, status=OrganisationStatus.ACTIVE
    )
    if not is_published(organisation):
        raise Http404
    responses = (
        PublicResponse.objects.filter(organisation=organisation, change_status=ChangeStatus.MADE)
        .select_related("public_story")
        .order_by("-published_at", "-pk")
    )
    page = Paginator(responses, 25).get_page(request.GET.get("page"))
    changes = [
        {
            "story": r.public_story,
            "said": excerpt(r.public_story.body),
            "change": r.change_description,
            "response": excerpt(r.body),
            "at": r.published_at,
        }
        for r in page
    ]
    return render(
        request,
        "hub/you_said_we_did.html",
        {"org": organisation, "changes": changes, "page": page},
    )
