"""Making an organisation's workspace: its schema, domain and first administrator.

`provision_organisation` clones the migrated template schema instead of replaying every
migration, inside one transaction: PostgreSQL's DDL is transactional, so a failure at any
step leaves no organisation row, no domain, no schema and no account behind. It sends
`organisation_provisioned` (tenants/signals.py) inside that transaction, so what other apps
add to a new workspace commits or rolls back with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists, tenant_context

from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit
from tenants.cloning import clone_template
from tenants.models import Domain, Organisation, OrganisationStatus
from tenants.signals import organisation_provisioned
from tenants.slugs import schema_name_for, validate_slug


class ProvisioningError(Exception):
    """Provisioning cannot go ahead; the message says why, in words for the person asking."""


@dataclass(frozen=True)
class Provisioned:
    organisation: Organisation
    admin: User


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def ensure_template_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{template_schema()}"')


def ensure_hub() -> Organisation:
    """The public schema's own row and domain, which route the bare domain to the hub."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        hub, _ = Organisation.objects.get_or_create(
            schema_name=settings.PUBLIC_SCHEMA_NAME,
            defaults={
                "name": "Carevoice",
                "slug": "",
                "kind": "other",
                "status": OrganisationStatus.ACTIVE,
                "ready_at": timezone.now(),
            },
        )
        Domain.objects.filter(tenant=hub).exclude(domain=settings.BASE_DOMAIN).delete()
        Domain.objects.get_or_create(
            domain=settings.BASE_DOMAIN, defaults={"tenant": hub, "is_primary": True}
        )
    return hub


def tenant_domain(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


def provision_organisation(
    *,
    name: str,
    slug: str,
    kind: str,
    admin_email: str,
    admin_name: str,
    admin_password: str | None = None,
    ods_code: str = "",
    region: str = "",
    actor: User | None = None,
) -> Provisioned:
    """Create an organisation's workspace, ready to sign in to.

    With no `admin_password` the administrator's account has no usable password; they set
    one through the password-reset link (onboarding sends it).
    """
    validate_slug(slug)
    if not schema_exists(template_schema()):
        raise ProvisioningError(
            f"The template schema {template_schema()!r} is missing: run `manage.py migrate`."
        )
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        if Organisation.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"“{slug}” is already taken."})
        organisation = Organisation(
            name=name,
            slug=slug,
            schema_name=schema_name_for(slug),
            kind=kind,
            ods_code=ods_code,
            region=region,
            status=OrganisationStatus.PROVISIONING,
        )
        organisation.full_clean()
        organisation.save()
        clone_template(organisation.schema_name)
        Domain.objects.create(domain=tenant_domain(slug), tenant=organisation, is_primary=True)
        with tenant_context(organisation):
            admin = create_first_admin(admin_email, admin_name, admin_password)
            # Apps above tenants add what a new workspace starts with (alerts: the default
            # rule) in this transaction and schema; a receiver's failure undoes it all.
            organisation_provisioned.send(
                sender=Organisation, organisation=organisation, admin=admin
            )
            record_audit(
                "organisation.provisioned",
                actor=None,
                actor_label=f"platform: {actor.email}" if actor else None,
                summary=f"Workspace created with {admin.email} as its first administrator",
                target=organisation,
            )
        organisation.status = OrganisationStatus.ACTIVE
        organisation.ready_at = timezone.now()
        organisation.save(update_fields=["status", "ready_at"])
        record_audit(
            "organisation.provisioned",
            actor=actor,
            summary=f"Provisioned {organisation.name} ({organisation.schema_name})",
            target=organisation,
        )
        transaction.on_commit(end_connection_after_provisioning)
    return Provisioned(organisation=organisation, admin=admin)


def end_connection_after_provisioning() -> None:
    """Close the database connection that made a workspace, once its work is committed.

    A PostgreSQL backend keeps a cached plan for every foreign key it has checked (the
    new workspace's rows check the new schema's own constraints), and every table created
    afterwards makes it look through all of them. On one long-lived connection the cost of
    a new organisation grew with every one it had made before: 0.11 s for the first, 0.25 s
    by the 600th (benchmarks/tenant_scale.py). A new connection starts with none, and the
    next query opens one.
    """
    if not connection.in_atomic_block:
        connection.close()


def create_first_admin(email: str, full_name: str, password: str | None) -> User:
    admin = User(email=email.strip().lower(), full_name=full_name, role=Role.ADMINISTRATOR)
    admin.full_clean(exclude=["password"])
    if password:
        validate_password(password, user=admin)
        admin.set_password(password)
    else:
        admin.set_unusable_password()
    admin.save()
    return admin
