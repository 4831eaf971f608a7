"""An organisation's sites and services, kept in step with the hub's public directory
(whose reading side, finding services, is feedback/directory.py).

Run inside the organisation's schema; each change writes the organisation's row and its
ServiceListing in the public schema in one transaction (both live in the same database).
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from feedback.hub.models import ServiceListing
from feedback.models import Service, Site
from feedback.public_cache import bump_public_version
from tenants.audit.recording import record_audit


def current_organisation():  # noqa: ANN201 - an Organisation
    tenant = connection.tenant
    if getattr(tenant, "pk", None) is None or tenant.schema_name == "public":
        raise RuntimeError("Services are changed inside an organisation's schema.")
    return tenant


@transaction.atomic
def create_site(*, name: str, code: str = "", actor=None) -> Site:
    site = Site(name=name.strip(), code=code.strip().upper())
    site.full_clean()
    site.save()
    record_audit("service.site_created", actor=actor, target=site, summary=f"Added site {site}")
    return site


@transaction.atomic
def save_service(service: Service, *, actor=None) -> Service:
    """Create or update `service` and its directory listing."""
    is_new = service.pk is None
    service.code = service.code.strip().upper()
    service.updated_at = timezone.now()
    service.full_clean()
    service.save()
    sync_listing(service)
    record_audit(
        "service.created" if is_new else "service.changed",
        actor=actor,
        target=service,
        summary=f"{'Added' if is_new else 'Changed'} service {service.name}",
    )
    return service


def sync_listing(service: Service) -> ServiceListing:
    organisation = current_organisation()
    bump_public_version()
    listing, _ = ServiceListing.objects.update_or_create(
        organisation_id=organisation.pk,
        service_id=service.pk,
        defaults={
            "parent_service_id": service.parent_id,
            "code": service.code,
            "name": service.name,
            "type": service.type,
            "site_name": service.site.name,
            "site_code": service.site.code,
            "is_active": service.is_active,
            "updated_at": timezone.now(),
        },
    )
    return listing


@transaction.atomic
def set_service_active(service: Service, active: bool, *, actor=None) -> Service:
    service.is_active = active
    return save_service(service, actor=actor)
