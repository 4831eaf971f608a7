"""You said, we did on the hub: the changes an organisation's published responses say it
made, from public data only, and only once the organisation chooses to publish it."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from dashboards.models import PublicPageSetting
from dashboards.reports.excerpts import excerpt
from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse
from feedback.organisation_links import OrganisationLink
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
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


def record_publishing_choice(
    organisation: Organisation, *, publish: bool, actor: User, request: HttpRequest | None = None
) -> None:
    """An administrator puts the organisation's page on the hub, or takes it off: the
    setting and its audit row, in one transaction in the organisation's schema."""
    with schema_context(organisation.schema_name), transaction.atomic():
        setting = PublicPageSetting.objects.select_for_update().first() or PublicPageSetting()
        setting.publish_you_said_we_did = publish
        setting.changed_at = timezone.now()
        setting.save()
        record_audit(
            "reports.public_page",
            actor=actor,
            summary="Published You said, we did on the hub"
            if publish
            else "Took You said, we did off the hub",
            request=request,
        )


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


def you_said_we_did_link(organisation: Organisation) -> OrganisationLink | None:
    """The link on the organisation's hub page (feedback/organisation_links.py), once it
    publishes You said, we did."""
    if not is_published(organisation):
        return None
    path = reverse(
        "hub:you_said_we_did", args=[organisation.slug], urlconf=settings.PUBLIC_SCHEMA_URLCONF
    )
    return OrganisationLink(_("You said, we did"), path)
